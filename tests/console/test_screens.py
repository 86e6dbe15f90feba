"""Every console view renders in every language, with no untranslated key left on screen.

The same renderer writes docs/screenshots/console_*.png (``python -m tests.console.screens``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QWidget

from tests.console.screens import VIEWS, render_all

KEY = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")  # "call.end" on screen means a missing translation


def _texts(root: QWidget) -> list[str]:
    out = []
    for w in [root, *root.findChildren(QWidget)]:
        if w.isVisible() and isinstance(w, QLabel | QAbstractButton):
            out.append(w.text())
    return out


@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_view_renders(qapp: Any, tmp_path: Path, language: str) -> None:
    seen: dict[str, list[str]] = {}

    def check(view: str, lang: str, path: Path) -> None:
        img = QImage(str(path))
        assert img.width() >= 400 and img.height() >= 180, (view, img.size())
        windows = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
        seen[view] = [t for w in windows for t in _texts(w)]
        keys = [t for t in seen[view] if KEY.match(t.strip())]
        assert not keys, f"{view}/{lang}: untranslated {keys}"

    written = render_all(tmp_path, (language,), check)
    assert [p.name for p in written] == [f"console_{v}_{language}.png" for v in VIEWS]
    if language == "en":  # English really is English: no Japanese UI words on the buttons
        buttons = [t for v in seen.values() for t in v if t in ("受付を開始", "通話を終了", "応答する")]
        assert not buttons
