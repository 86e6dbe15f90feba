"""Helpers for kiosk window tests: a real enrolled kiosk app, clicks on real buttons, visible texts."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit, QListWidget, QWidget

from kiosk.app import KioskApp
from kiosk.services import credentials
from kiosk.services.credentials import KioskCredential
from kiosk.settings import KioskSettings
from server.auth import hash_secret
from signaling.qt.video import VideoView
from tests.support import WAIT_S, Env, eventually

ROOT = Path(__file__).resolve().parents[2]
# MADOGUCHI_SCREENSHOTS=docs/screenshots refreshes the committed pictures; by default a test run renders
# into a scratch folder so that `make test` leaves the work tree clean
SHOTS = Path(os.environ.get("MADOGUCHI_SCREENSHOTS") or Path(tempfile.gettempdir()) / "madoguchi-screenshots")
SHOTS.mkdir(parents=True, exist_ok=True)
# spoken guidance rendered once for the whole run (kiosk/speech/cache.py), not again in every test's kiosk
SPEECH_CACHE = Path(tempfile.gettempdir()) / f"madoguchi-speech-cache-{os.getuid()}"
# small video; requests wait as long as the tests do (an in-process server on a loaded machine can take
# longer than the production 10 s to answer, and a timed-out request is taken for "offline")
SMALL = dict(video_width=320, video_height=240, video_fps=15, request_timeout_s=WAIT_S)
SIZE = (1280, 800)
TEST_PIN = "482916"  # the self-check PIN of the test kiosks (set at enrollment in real life)
TEST_PIN_HASH = hash_secret(TEST_PIN)
CJK = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def click(widget: QWidget) -> None:
    """A real mouse click in the middle of a visible, enabled control (what a finger does)."""
    assert widget.isVisible(), f"{widget.objectName() or widget} is not visible ({_hidden_by(widget)})"
    assert widget.isEnabled(), f"{widget.objectName() or widget} is disabled"
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton)


def _hidden_by(widget: QWidget) -> str:
    """Which of the widget's ancestors is hidden (the first from the widget up), for a failed click's message."""
    w: QWidget | None = widget
    while w is not None:
        if w.isHidden():
            return f"hidden: {w.objectName() or type(w).__name__}" + ("" if w is widget else " (an ancestor)")
        w = w.parentWidget()
    return "no ancestor hidden: its window is not shown"


def choose_language(window: Any, code: str) -> None:
    """The resident's way to another language: 「言語 / Language」 in the top bar, then the language's button."""
    click(window.topbar.language_menu)
    click(window.topbar.languages[code])


async def kiosk_app(env: Env, tmp_path: Path, branch: str = "bihoro", *,
                    clock: Callable[[], float] = time.monotonic, card_camera: Any = None, **over: Any) -> KioskApp:
    kid, secret = await env.enroll_kiosk(branch)
    settings = KioskSettings(server_url=env.url, credential_file=tmp_path / f"kiosk-{kid}.json",  # type: ignore[arg-type]
                             fullscreen=False, **{**SMALL, "voice_cache_dir": SPEECH_CACHE, **over})
    cred = KioskCredential(kid, secret, branch, TEST_PIN_HASH)
    credentials.save(settings.credential_file, cred)
    app = KioskApp(settings, cred, clock=clock, card_camera=card_camera)
    app.window.resize(*SIZE)
    app.window.show()
    await app.start()
    await app.controller.client.wait_online(WAIT_S)
    await eventually(lambda: app.window.services_page.buttons, what="services shown")
    return app


def visible_texts(root: QWidget) -> list[tuple[str, str]]:
    """(widget, text) of every string a resident can see or a screen reader can say, exempt ones left out."""
    out: list[tuple[str, str]] = []
    for w in [root, *root.findChildren(QWidget)]:
        if not w.isVisible() or _exempt(w):
            continue
        name = w.objectName() or type(w).__name__
        texts: list[str] = [w.accessibleName(), w.accessibleDescription()]
        if isinstance(w, QLabel | QAbstractButton):
            texts.append(w.text())
        if isinstance(w, QLineEdit):
            texts.append(w.placeholderText())
        if isinstance(w, QListWidget):
            texts += [w.item(i).text() for i in range(w.count())]
        if isinstance(w, VideoView) and not w.has_picture:
            texts.append(w.placeholder)
        out += [(name, t) for t in texts if t and t.strip()]
    return out


def _exempt(w: QWidget | None) -> bool:
    while w is not None:
        if w.property("i18n_exempt"):
            return True
        w = w.parentWidget()
    return False


def wrong_language(texts: list[tuple[str, str]], language: str) -> list[tuple[str, str]]:
    """English screens: no Japanese characters. Japanese screens: no sentence without Japanese that has words
    in Latin letters (numbers, units like "ms" inside a Japanese sentence are fine)."""
    if language == "en":
        return [(n, t) for n, t in texts if CJK.search(t)]
    return [(n, t) for n, t in texts if LATIN_WORD.search(t) and not CJK.search(t)]


async def shot(widget: QWidget, name: str, language: str, app: str = "kiosk") -> Path:
    """Render to SHOTS as ``<app>_<name>_<language>.png`` (docs/screenshots when MADOGUCHI_SCREENSHOTS says so).
    Never QApplication.processEvents() inside a coroutine: under qasync that
    re-enters the loop ("Cannot enter into task ... while another task is being run"); let the loop paint."""
    await asyncio.sleep(0.15)
    path = SHOTS / f"{app}_{name}_{language}.png"
    assert widget.grab().save(str(path)), path
    return path


def a11y_problems(root: QWidget, min_px: int) -> list[str]:
    """Visible controls without an accessible name, or smaller than a 15 mm touch target."""
    out = []
    for w in root.findChildren(QWidget):
        if not w.isVisible() or not isinstance(w, QAbstractButton | QLineEdit):
            continue
        name = w.objectName() or w.accessibleName() or type(w).__name__
        if not w.accessibleName().strip():
            out.append(f"{name}: no accessible name")
        if w.height() < min_px or w.width() < min_px:
            out.append(f"{name}: {w.width()}x{w.height()} px < {min_px} px")
    return out
