"""What the widgets may ask of the kiosk logic (implemented by :class:`kiosk.controller.KioskController`).

Widgets depend on this protocol, never on the controller's I/O; tests and
screenshots can drive the window with the real controller.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Literal, Protocol

from PySide6.QtCore import QObject, Signal

from kiosk.ui.kana import Layout
from signaling.i18n import Catalog
from signaling.protocol.models import CallbackBand, Need, ServiceInfo

log = logging.getLogger("madoguchi.kiosk.ui")


class CallbackPort(Protocol):
    """The callback (折り返し電話) intents (:class:`kiosk.callback_flow.CallbackFlow`)."""

    bands: list[CallbackBand]
    phone: str

    def offered(self) -> bool: ...
    async def open(self) -> bool: ...
    def check_number(self, typed: str) -> str | None: ...
    async def request(self, typed: str, band: CallbackBand) -> str | None: ...
    def close(self) -> None: ...


class AppointmentPort(Protocol):
    """「予約の方」 (:class:`kiosk.appointment_flow.AppointmentFlow`)."""

    number: str

    def open(self) -> None: ...
    async def lookup(self, typed: str) -> str | None: ...
    async def check_in(self) -> str | None: ...
    def close(self) -> None: ...


class BranchStaffPort(Protocol):
    """「支所の職員を呼ぶ」 (:class:`kiosk.branch_staff.BranchStaff`)."""

    state: str

    async def call(self) -> str: ...


class VoicePort(Protocol):
    """「音声案内」: the resident's switch and volume (:class:`kiosk.speech.guide.SpeechGuide`)."""

    enabled: bool
    volume: int  # 1..levels
    levels: int

    def set_enabled(self, on: bool) -> None: ...
    def set_volume(self, step: int) -> None: ...
    def on_change(self, listener: Callable[[], None]) -> None: ...
    def touched(self) -> None: ...  # any touch or key (the welcome screen says itself on the first)


class FormConfirmPort(Protocol):
    """書かない窓口: the form the specialist asks the resident to confirm
    (:class:`kiosk.form_confirm.FormConfirmDesk`)."""

    state: str

    async def answer(self, confirm: bool, changes: list[str] | None = None,
                     reason: Literal["wrong", "explain"] | None = None) -> str: ...


class KioskPort(Protocol):
    @property
    def screen(self) -> str: ...
    @property
    def connection(self) -> str: ...
    @property
    def services(self) -> list[ServiceInfo]: ...
    @property
    def branch(self) -> str: ...
    @property
    def language(self) -> str: ...
    @property
    def visit(self) -> Any: ...
    @property
    def callback(self) -> CallbackPort: ...
    @property
    def branch_staff(self) -> BranchStaffPort: ...
    @property
    def forms(self) -> FormConfirmPort: ...
    @property
    def appointment(self) -> AppointmentPort: ...

    def on(self, event: str, listener: Callable[[dict[str, Any]], None]) -> None: ...
    def on_any(self, listener: Callable[[str, dict[str, Any]], None]) -> None: ...

    def touch(self) -> None: ...
    def set_language(self, language: str) -> None: ...
    def begin(self) -> None: ...
    def choose_service(self, code: str) -> None: ...
    def set_needs(self, needs: list[Need]) -> None: ...
    def set_case_number(self, typed: str) -> str | None: ...
    def start_card_scan(self) -> None: ...
    def stop_card_scan(self) -> None: ...
    def card_frame(self) -> Any: ...
    def go_back(self) -> None: ...
    async def request_service(self, code: str | None = None, needs: list[Need] | None = None) -> bool: ...
    async def cancel(self) -> None: ...
    async def hang_up(self) -> None: ...
    def send_chat(self, text: str) -> bool: ...
    def set_muted(self, muted: bool) -> None: ...
    def set_camera(self, on: bool) -> None: ...
    @property
    def document_available(self) -> bool: ...
    async def show_document(self) -> bool: ...
    async def stop_document(self) -> None: ...
    def shared_pdf(self) -> bytes | None: ...
    async def submit_feedback(self, rating: int, saved_trip: bool | None) -> bool: ...
    def reset(self) -> None: ...
    def remote_frame(self) -> Any: ...
    def local_frame(self) -> Any: ...
    def unlock_selfcheck(self, pin: str) -> bool: ...
    async def run_selfcheck(self) -> list[Any]: ...
    async def answer_guest(self, agree: bool) -> bool: ...
    async def withdraw_guest(self, peer: str) -> bool: ...


class EventRelay(QObject):
    """Controller events (plain Python) re-emitted as the Qt signal ``fired(name, payload)``.

    Same job as :class:`signaling.qt.bridge.EventBridge`, whose signal is named ``event`` and so
    shadows ``QObject.event`` (mypy rejects it; Qt tolerates it)."""

    fired = Signal(str, object)

    def __init__(self, port: KioskPort, parent: QObject | None = None) -> None:
        super().__init__(parent)
        port.on_any(self._forward)

    def _forward(self, name: str, payload: dict[str, Any]) -> None:
        self.fired.emit(name, payload)


class UiContext:
    """Shared by every page: translations, the controller, and a place to run its coroutines."""

    def __init__(self, port: KioskPort, catalog: Catalog, *, general_service: str = "general",
                 kiosk_label: str = "", version: str = "", voice: VoicePort | None = None) -> None:
        self.port = port
        self.voice = voice  # None: no speaker, no 「音声案内」 switch
        self.catalog = catalog
        self.general_service = general_service
        self.kiosk_label = kiosk_label
        self.version = version
        self.bridge = EventRelay(port)
        self._tasks: set[asyncio.Future[Any]] = set()

    def t(self, key: str, **params: Any) -> str:
        return self.catalog.t(key, **params)

    @property
    def language(self) -> str:
        return self.catalog.language

    @property
    def japanese(self) -> bool:
        """Whether the resident reads Japanese (日本語 or やさしい日本語): Japanese punctuation, the kana keyboard."""
        return self.catalog.wire_language() == "ja"

    def keyboard_layout(self) -> Layout:
        """The on-screen keyboard for the language shown (a language pack may bring its own letters)."""
        pack = self.catalog.packs.get(self.language)
        return Layout.for_language(self.catalog.wire_language(), pack.keyboard if pack is not None else None)

    def run(self, coro: Coroutine[Any, Any, Any], done: Callable[[Any], None] | None = None) -> asyncio.Future[Any]:
        """Run a controller coroutine on the shared (qasync) loop; ``done(result)`` back on the GUI side."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def finished(t: asyncio.Future[Any]) -> None:
            self._tasks.discard(t)
            if t.cancelled():
                return
            exc = t.exception()
            if exc is not None:
                log.error("kiosk action failed: %r", exc)
                return
            if done is not None:
                done(t.result())

        task.add_done_callback(finished)
        return task
