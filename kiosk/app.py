"""The kiosk program with a window: enrollment on first start, then the resident's screens.

Qt and asyncio share one qasync loop (:func:`signaling.qt.loop.run_app`); the
controller does every I/O, the window only renders and forwards touches, and
:class:`KioskApp` wires the two together with the speaker output (remote audio
in, echo-canceller reference out).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiortc.mediastreams import MediaStreamTrack
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

from kiosk import __version__
from kiosk.controller import KioskController
from kiosk.services import credentials
from kiosk.services.credentials import KioskCredential
from kiosk.services.pdf_pages import page_count
from kiosk.services.server_api import EnrollmentFailed, enroll
from kiosk.settings import KioskSettings
from kiosk.speech.cache import SpeechCache
from kiosk.speech.guide import SpeechGuide
from kiosk.ui.admin import EnrollPage
from kiosk.ui.port import UiContext
from kiosk.ui.theme import FONT_FAMILY, Metrics, base_text_px, stylesheet
from kiosk.ui.window import KioskWindow
from signaling.i18n import Catalog
from signaling.language_packs import LanguagePack, load_packs
from signaling.qt.audio import AudioOutput
from signaling.qt.loop import log_screen_shown, stop_on_signals
from signaling.tls import ServerCertificateError, client_context

log = logging.getLogger("madoguchi.kiosk.app")
I18N = Path(__file__).resolve().parent / "i18n"


def catalog(settings: KioskSettings, packs: dict[str, LanguagePack] | None = None) -> Catalog:
    """The kiosk's texts; ``packs``: language files already read (the controller's), else read now."""
    return Catalog(I18N, settings.language, app="kiosk",
                   packs=load_packs(settings.languages_dir) if packs is None else packs)


def window_size(settings: KioskSettings) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in settings.window_size.lower().split("x"))
        return w, h
    except ValueError:
        return 1280, 800


def present(widget: QApplication | object, settings: KioskSettings) -> None:
    """Full screen without decorations (a kiosk), or a normal window for development."""
    from PySide6.QtWidgets import QWidget

    assert isinstance(widget, QWidget)
    if settings.fullscreen:
        widget.setWindowFlag(Qt.WindowType.FramelessWindowHint, True)
        widget.showFullScreen()
    else:
        widget.resize(*window_size(settings))
        widget.show()


class KioskApp:
    """Controller + window + speaker, wired; ``start``/``stop`` around the controller's connection."""

    def __init__(self, settings: KioskSettings, credential: KioskCredential, *, audio: bool = True,
                 clock: Callable[[], float] = time.monotonic,
                 card_camera: Callable[[], MediaStreamTrack | None] | None = None) -> None:
        self.settings = settings
        self.controller = KioskController(settings, credential, clock=clock, card_camera=card_camera)
        self.controller.shared.loader = page_count  # PDFs the specialist shows are read with QtPdf
        self.catalog = catalog(settings, self.controller.packs)  # the files the controller read, not again
        self.audio = AudioOutput(settings.audio_output_device, on_rendered=self.controller.far_end) if audio else None
        if self.audio is not None:
            self.controller.on_remote_audio = self.audio.push
            self.controller.speaker_probe = self.audio.probe
            self.controller.on("call_ended", lambda _d: self.audio.clear() if self.audio else None)
        self.speech = self._speech_guide() if self.audio is not None else None
        if self.speech is not None:
            self.controller.voice_probe = self.speech.probe
        self.ctx = UiContext(self.controller, self.catalog, general_service=settings.general_service,
                             kiosk_label=str(credential.kiosk_id), version=__version__, voice=self.speech)
        chime = self.audio.chime if self.audio is not None and settings.chime else None
        self.window = KioskWindow(self.ctx, text_scale=settings.text_scale, screen_dpi=settings.screen_dpi, sound=chime)
        self.window.stack.currentChanged.connect(lambda _index: self.log_screen())

    def _speech_guide(self) -> SpeechGuide:
        s = self.settings
        guide = SpeechGuide(self.controller, self.catalog, self.audio, SpeechCache(s.voice_cache_path),
                            enabled=s.voice, volume=s.voice_volume, htsvoice=s.voice_htsvoice,
                            dictionary=s.voice_dictionary)
        spoken = guide.spoken_languages()
        silent = [lang for lang in self.catalog.languages() if lang not in spoken]
        log.info("voice guidance %s; speaks %s; silent: %s", "on" if s.voice else "off",
                 ", ".join(f"{k} ({v})" for k, v in spoken.items()) or "nothing", ", ".join(silent) or "none")
        return guide

    def log_screen(self) -> None:
        """Log the screen the window shows now (nothing while the window is hidden)."""
        if self.window.isVisible():
            log_screen_shown(self.window.current_page().name)

    async def start(self) -> None:
        await self.controller.start()

    async def stop(self) -> None:
        if self.speech is not None:
            await self.speech.close()
        await self.controller.stop()
        if self.audio is not None:
            self.audio.close()
        self.window.close()


async def enroll_with_page(settings: KioskSettings, cat: Catalog, kiosk_id: int | None = None,
                           code: str | None = None) -> KioskCredential | None:
    """Show the enrollment page until an administrator's code works (None if the window is closed)."""
    page = EnrollPage(cat, settings.server_url)
    base = base_text_px(window_size(settings)[1], settings.text_scale)
    page.setStyleSheet(stylesheet(Metrics(dpi=settings.screen_dpi or 96.0, base_px=base)))
    loop = asyncio.get_running_loop()
    result: asyncio.Future[KioskCredential | None] = loop.create_future()

    async def attempt(kid: int, secret_code: str) -> None:
        try:
            cred = await enroll(settings.server_urls[0], kid, secret_code, client_context(settings.ca_file))
        except EnrollmentFailed as exc:
            page.show_error(cat.t("enroll.failed", reason=str(exc)[:200]))
            return
        except ServerCertificateError as exc:
            log.warning("enrollment: %s", exc)
            page.show_error(cat.t("enroll.certificate"))
            return
        except Exception as exc:  # httpx transport errors: the server is not reachable
            log.warning("enrollment: %s", exc)
            page.show_error(cat.t("enroll.unreachable"))
            return
        credentials.save(settings.credential_file, cred)
        if not result.done():
            result.set_result(cred)

    tasks: set[asyncio.Task[None]] = set()

    def submitted(kid: int, secret_code: str) -> None:
        task = asyncio.ensure_future(attempt(kid, secret_code))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    page.submitted.connect(submitted)
    def closed() -> None:
        if not result.done():
            result.set_result(None)

    app = QApplication.instance()
    if isinstance(app, QApplication):
        app.lastWindowClosed.connect(closed)
    present(page, settings)
    log_screen_shown("enroll")
    if kiosk_id is not None and code:
        page.kiosk_id.setText(str(kiosk_id))
        submitted(kiosk_id, code)
    try:
        return await result
    finally:
        page.hide()
        page.deleteLater()


async def _main(app: QApplication, settings: KioskSettings, kiosk_id: int | None, enroll_code: str | None) -> int:
    app.setFont(QFont(FONT_FAMILY))
    app.setQuitOnLastWindowClosed(False)
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def finish() -> None:
        if not done.done():
            done.set_result(None)

    stop_on_signals(finish)  # a service manager stops the kiosk cleanly, even mid-enrollment
    cat = catalog(settings)
    cred = credentials.load(settings.credential_file)
    if cred is None:
        enrolling = asyncio.ensure_future(enroll_with_page(settings, cat, kiosk_id, enroll_code))
        waits: list[asyncio.Future[Any]] = [enrolling, done]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        if not enrolling.done():
            enrolling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await enrolling
            return 1
        cred = enrolling.result()
        if cred is None:
            return 1
    kiosk = KioskApp(settings, cred)
    app.lastWindowClosed.connect(finish)
    await kiosk.start()
    present(kiosk.window, settings)
    kiosk.log_screen()
    try:
        await done
    finally:
        await kiosk.stop()
    return 0


def run_gui(settings: KioskSettings, *, kiosk_id: int | None = None, enroll_code: str | None = None) -> int:
    """``madoguchi kiosk`` without ``--headless``: the window (full screen unless ``--windowed``)."""
    from signaling.qt.loop import run_app

    return run_app(lambda app: _main(app, settings, kiosk_id, enroll_code))
