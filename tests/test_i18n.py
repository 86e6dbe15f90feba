"""The translation catalogs: a language is a file; every language has every key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from signaling.i18n import Catalog

ROOT = Path(__file__).resolve().parent.parent
APPS = [p for p in (ROOT / "kiosk" / "i18n", ROOT / "staff_console" / "i18n", ROOT / "server" / "admin_page" / "i18n")
        if (p / "ja.json").exists()]


def test_third_language_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "ja.json").write_text(json.dumps({"_language": "日本語", "hello": "こんにちは {name}"}), "utf-8")
    (tmp_path / "en.json").write_text(json.dumps({"_language": "English", "hello": "Hello {name}"}), "utf-8")
    cat = Catalog(tmp_path, "en")
    assert cat.t("hello", name="A") == "Hello A"
    (tmp_path / "zh.json").write_text(json.dumps({"_language": "中文"}), "utf-8")
    cat = Catalog(tmp_path, "zh")
    assert cat.languages() == ["en", "ja", "zh"]
    assert cat.t("hello", name="A") == "こんにちは A"  # falls back to Japanese
    assert cat.t("missing.key") == "missing.key"


@pytest.mark.parametrize("folder", APPS, ids=[p.parent.name for p in APPS])
def test_catalogs_complete(folder: Path) -> None:
    cat = Catalog(folder)
    ja = cat.keys("ja")
    for lang in cat.languages():
        assert cat.keys(lang) == ja, f"{folder.parent.name}/{lang}.json differs: {cat.keys(lang) ^ ja}"
