"""The kiosk window: a stack of screens driven by controller events, a top bar, and overlays.

The controller decides which screen shows (``screen`` event); the window only
renders it and turns touches into intents. Every string comes from the catalog
(``kiosk/i18n/<lang>.json``); :meth:`KioskWindow.retranslate` re-labels every
screen when the resident switches language, and the privacy reset (``reset``
event) clears every screen and returns to the kiosk's language and text size.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QInputEvent, QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QStackedWidget, QVBoxLayout, QWidget

from kiosk.ui.admin import PinPage, SelfCheckPage
from kiosk.ui.appointment import AppointmentConfirmPage, AppointmentPage
from kiosk.ui.call import CallPage
from kiosk.ui.callback import CallbackDonePage, CallbackPage
from kiosk.ui.case_number import CaseNumberOverlay
from kiosk.ui.form_confirm import FormConfirmOverlay
from kiosk.ui.language_menu import LanguageOverlay
from kiosk.ui.overlays import GuestConsentOverlay, GuestLeaveOverlay, IdleOverlay, OfflineOverlay
from kiosk.ui.pages import FeedbackPage, NeedsPage, NoSpecialistPage, Page, ServicesPage, WaitingPage, WelcomePage
from kiosk.ui.port import UiContext
from kiosk.ui.print_overlay import PrintOverlay
from kiosk.ui.theme import Metrics, base_text_px, stylesheet
from kiosk.ui.widgets import Button, Label

SCREEN_PAGES = {"idle": "welcome", "choosing": "services", "needs": "needs", "waiting": "waiting",
                "no_specialist": "nospec", "in_call": "call", "feedback": "feedback", "selfcheck": "selfcheck",
                "callback": "callback", "callback_done": "callback_done", "appointment": "appointment",
                "appointment_confirm": "appointment_confirm"}
LARGE_TEXT = 1.3
TOUCHES = (QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin, QEvent.Type.KeyPress)  # the resident is here
THANKS_MS = 6000


class TopBar(QFrame):
    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setProperty("role", "topbar")
        outer = QVBoxLayout(self)
        self.outer = outer
        row = QHBoxLayout()
        outer.addLayout(row)
        self.title = Label("", wrap=False)
        self.larger = Button(kind="small", checkable=True)
        self.larger.setObjectName("larger_text")
        # 「支所の職員を呼ぶ」 on every screen with this bar (kiosk/branch_staff.py); what happened beside it
        self.call_staff = Button(kind="small")
        self.call_staff.setObjectName("call_staff")
        self.call_staff.clicked.connect(self._call_staff)
        self.staff_notice = Label("banner", center=True)
        self.staff_notice.setObjectName("staff_notice")
        self.staff_notice.hide()
        # 「音声案内」 and its volume (kiosk/speech/), when the kiosk has a speaker
        self.voice = Button(kind="small", checkable=True)
        self.voice.setObjectName("voice_toggle")
        self.volume = Button(kind="small")
        self.volume.setObjectName("voice_volume")
        # the languages: one button here, the choice on a card (kiosk/ui/language_menu.py; the window sets it)
        self.languages: dict[str, Button] = {}
        self.language_menu = Button(kind="small")
        self.language_menu.setObjectName("language_menu")
        self.language_menu.setProperty("i18n_exempt", True)  # 「言語 / Language」: two languages on purpose
        row.addWidget(self.title)
        row.addStretch(1)
        row.addWidget(self.call_staff)
        self.row = row
        self.tools_row = QHBoxLayout()  # holds the tools only when one row cannot (see fit)
        self.tools_row.addStretch(1)
        outer.addLayout(self.tools_row)
        self.tools = [self.voice, self.volume, self.larger]
        for w in self.tools:
            row.addWidget(w)
        self.two_rows = False
        if ctx.voice is not None:
            voice = ctx.voice
            self.voice.clicked.connect(lambda on: voice.set_enabled(bool(on)))
            self.volume.clicked.connect(lambda: voice.set_volume(voice.volume % voice.levels + 1))
            voice.on_change(self.retranslate)
        else:
            self.voice.hide()
            self.volume.hide()
        row.addWidget(self.language_menu)
        outer.addWidget(self.staff_notice)  # a strip under the bar, full width, only while there is news

    def fit(self) -> None:
        """One row when it holds everything; else without the title (English with every button); else the title
        back and 音声案内・音量・文字を大きく on a second row (large text)."""
        def width(widgets: list[QWidget]) -> int:
            shown = [w for w in widgets if not w.isHidden() or w is self.title]
            return sum(w.sizeHint().width() + self.row.spacing() for w in shown)

        margins = self.outer.contentsMargins()
        room = self.width() - margins.left() - margins.right()
        buttons: list[QWidget] = [self.call_staff, *self.tools, self.language_menu]
        two_rows = width(buttons) > room
        self.title.setVisible(two_rows or width([self.title, *buttons]) <= room)
        if two_rows != self.two_rows:
            self.two_rows = two_rows
            target, index = (self.tools_row, 1) if two_rows else (self.row, 3)  # after the stretch / call_staff
            for i, w in enumerate(self.tools):
                self.row.removeWidget(w)
                self.tools_row.removeWidget(w)
                target.insertWidget(index + i, w)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit()

    def _call_staff(self) -> None:
        self.call_staff.setEnabled(False)
        self.ctx.run(self.ctx.port.branch_staff.call(), lambda _state: self.call_staff.setEnabled(True))

    def set_staff_state(self, state: str) -> None:
        self.staff_notice.setProperty("state", state)
        self.retranslate()

    def retranslate(self) -> None:
        t = self.ctx.t
        self.title.setText(t("app.title"))
        state = str(self.staff_notice.property("state") or "idle")
        self.staff_notice.setText(t(f"staff.{state}") if state != "idle" else "")
        self.staff_notice.setVisible(state != "idle")
        self.staff_notice.set_role("alert" if state in ("nobody", "offline") else "banner")
        self.call_staff.set_text(t("staff.call"))
        self.larger.set_text(t("top.normal_text") if self.larger.isChecked() else t("top.larger_text"))
        voice = self.ctx.voice
        if voice is not None:
            self.voice.blockSignals(True)
            self.voice.setChecked(voice.enabled)
            self.voice.blockSignals(False)
            self.voice.set_text(t("top.voice_on") if voice.enabled else t("top.voice_off"))
            self.voice.setAccessibleDescription(t("top.voice_hint"))
            self.volume.set_text(t("top.volume", level=t(f"top.volume.{voice.volume}")))
            self.volume.setAccessibleDescription(t("top.volume_hint"))
            self.volume.setEnabled(voice.enabled)
        self.language_menu.set_text(t("top.language_menu"))
        self.language_menu.setAccessibleDescription(t("top.language"))
        self.fit()


class KioskWindow(QWidget):
    def __init__(self, ctx: UiContext, *, text_scale: float = 1.0, screen_dpi: float | None = None,
                 sound: Callable[[], None] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.text_scale = text_scale
        self.screen_dpi = screen_dpi
        self.sound = sound
        self.large_text = False
        self.metrics = Metrics()
        self._last_screen = ctx.port.screen
        self.setObjectName("kiosk_window")
        self.setWindowTitle("Madoguchi")

        self.topbar = TopBar(ctx)
        self.stack = QStackedWidget()
        self.welcome = WelcomePage(ctx)
        self.services_page = ServicesPage(ctx)
        self.needs = NeedsPage(ctx)
        self.waiting = WaitingPage(ctx)
        self.nospec = NoSpecialistPage(ctx)
        self.call = CallPage(ctx)
        self.feedback = FeedbackPage(ctx)
        self.pin = PinPage(ctx)
        self.selfcheck = SelfCheckPage(ctx)
        self.callback = CallbackPage(ctx)
        self.callback_done = CallbackDonePage(ctx)
        self.appointment = AppointmentPage(ctx)
        self.appointment_confirm = AppointmentConfirmPage(ctx)
        self.pages: dict[str, Page] = {}
        for page in (self.welcome, self.services_page, self.needs, self.waiting, self.nospec, self.call,
                     self.feedback, self.pin, self.selfcheck, self.callback, self.callback_done, self.appointment,
                     self.appointment_confirm):
            self.pages[page.name] = page
            self.stack.addWidget(page)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.topbar)
        lay.addWidget(self.stack, 1)
        self.offline = OfflineOverlay(ctx, self)
        self.idle = IdleOverlay(ctx, self)
        self.guest_consent = GuestConsentOverlay(ctx, self)
        self.case_number = CaseNumberOverlay(ctx, self)
        self.form_confirm = FormConfirmOverlay(ctx, self)  # 書かない窓口: above the call, below the consent question
        self.language_choice = LanguageOverlay(ctx, self)
        self.topbar.languages = self.language_choice.buttons
        self.topbar.language_menu.clicked.connect(self.language_choice.open)
        self.needs.case_requested.connect(self.case_number.open)
        self.case_number.chosen.connect(self.needs.retranslate)
        self.guest_consent.answered.connect(lambda agree: self.ctx.run(self.ctx.port.answer_guest(agree)))
        self.guest_leave = GuestLeaveOverlay(ctx, self)
        self.printing = PrintOverlay(ctx, self)  # 印刷しています (the specialist prints at the branch)
        self.call.guest_out_requested.connect(self.guest_leave.ask)
        self.guest_leave.confirmed.connect(lambda peer: self.ctx.run(self.ctx.port.withdraw_guest(peer)))

        self.topbar.larger.toggled.connect(self.set_large_text)
        self.needs.large_text.connect(self.set_large_text)
        self.welcome.pin_requested.connect(self.show_pin)
        self.pin.closed.connect(lambda: self.show_screen(self.ctx.port.screen))
        self.idle.stay.connect(self.ctx.port.touch)
        QShortcut(QKeySequence("Ctrl+Alt+S"), self, self.show_pin)
        self._thanks = QTimer(self)
        self._thanks.setSingleShot(True)
        self._thanks.timeout.connect(lambda: self.welcome.show_thanks(False))
        ctx.bridge.fired.connect(self._on_event)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

        self.ctx.catalog.set_language(ctx.port.language) if ctx.port.language in ctx.catalog.languages() else None
        self.apply_scale()
        self.retranslate()
        self.services_page.rebuild()
        self.show_screen(ctx.port.screen)
        self.offline.set_online(ctx.port.connection == "online")

    # ------------------------------------------------------------ events from the controller
    def _on_event(self, name: str, data: dict[str, Any]) -> None:
        if name == "screen":
            self.show_screen(data["screen"])
        elif name == "connection":
            online = data["state"] == "online"
            screen = self.ctx.port.screen
            if data.get("reason"):
                self.offline.set_stopped(data["reason"])
                self.call.set_signal_lost(False)
                return
            self.offline.set_online(online, ticket_kept=screen == "waiting", inline=screen == "in_call")
            self.call.set_signal_lost(not online and screen == "in_call")
        elif name == "services":
            self.services_page.rebuild()
            self.welcome.retranslate()
        elif name == "ticket":
            self.waiting.update_ticket(data)
        elif name == "wait":
            self.waiting.set_wait(data)
        elif name == "no_specialist":
            self.nospec.set_info(data)
        elif name == "call_started":
            self.call.start(list(data.get("participants", [])), written=bool(data.get("written")),
                            unmet_needs=list(data.get("unmet_needs", [])))
            if self.sound is not None:
                self.sound()
        elif name == "call_ended":
            self.call.stop()
            self.feedback.set_cut_off(data.get("reason") in ("media_failed", "kiosk_lost"), data.get("media_error"))
            if data.get("reason") == "transferred":
                self.waiting.update_ticket({"state": "waiting"})
        elif name == "participants":
            self.call.set_participants(data)
            g = self.guest_leave.guest
            if g is not None and g.peer not in {p.peer for p in data.get("participants", [])}:
                self.guest_leave.dismiss()  # the guest left by themselves meanwhile: nothing to ask
        elif name == "chat":
            self.call.add_chat(data["who"], data["text"])
        elif name == "call_status":
            self.call.set_status(data.get("status", ""))
        elif name == "document":
            self.call.set_document(bool(data.get("showing")), data.get("error"))
        elif name == "shared_doc":
            self.call.set_shared(data, self.ctx.port.shared_pdf())
        elif name == "printing":
            self.printing.show_state(data)
        elif name == "shared_doc_pointer":
            self.call.set_shared_pointer(data)
        elif name == "quality":
            self.call.set_quality(data.get("stats"))
        elif name == "language":
            self.set_language(data["language"])
            self._show_page(self.current_page())  # focus back on the screen's first control
        elif name == "card_scanned":
            self.case_number.scanned(data["number"])
        elif name == "card_scan_error":
            self.case_number.scan_failed(data.get("reason", "no_camera"))
        elif name == "guest_consent":
            self.guest_consent.ask(data["request"])
        elif name == "guest_consent_done":
            self.guest_consent.dismiss()
        elif name == "form":
            self.form_confirm.update_form(data)
            if data.get("state") in ("confirmed", "change_sent"):
                self.call.announce(f"form.{data['state']}")
            if self.guest_consent.isVisible():
                self.guest_consent.raise_()
        elif name == "branch_call":
            self.topbar.set_staff_state(data["state"])
        elif name == "idle_warning":
            self.idle.warn(float(data.get("seconds_left", 0)))
        elif name == "reset":
            self.privacy_reset(data.get("language"))
        elif name == "error":
            self._error(data)

    def _error(self, data: dict[str, Any]) -> None:
        code = data.get("code")
        if code == "media_device":
            self.call.announce("error.media_device")
        elif self.ctx.port.screen == "needs":
            self.needs.show_error(self.ctx.t("error.offline" if code == "offline" else "error.generic"))

    # ------------------------------------------------------------ screens
    def show_screen(self, screen: str) -> None:
        previous, self._last_screen = self._last_screen, screen
        self.idle.dismiss()
        if previous == "feedback" and screen == "idle":
            self.welcome.show_thanks(True)
            self._thanks.start(THANKS_MS)
        elif screen != "idle":
            self.welcome.show_thanks(False)
        page = self.pages[SCREEN_PAGES.get(screen, "welcome")]
        if screen == "waiting":
            self.waiting.update_ticket({})
        if page is not self.call and previous == "in_call":
            self.call.stop()
        self.topbar.setVisible(page is not self.call)
        self._show_page(page)

    def show_pin(self) -> None:
        if self.ctx.port.screen == "idle":
            self.pin.clear()
            self._show_page(self.pin)

    def _show_page(self, page: Page) -> None:
        self.stack.setCurrentWidget(page)
        order = [w for w in page.focus_order() if w.isVisibleTo(page) or not page.isVisible()]
        order += [w for w in (self.topbar.voice, self.topbar.volume) if self.ctx.voice is not None]
        order += [self.topbar.larger, self.topbar.language_menu]
        for a, b in itertools.pairwise(order):
            QWidget.setTabOrder(a, b)
        page.on_show()
        if order:
            order[0].setFocus(Qt.FocusReason.OtherFocusReason)

    def current_page(self) -> Page:
        page = self.stack.currentWidget()
        assert isinstance(page, Page)
        return page

    # ------------------------------------------------------------ language, text size, reset
    def set_language(self, language: str) -> None:
        if language in self.ctx.catalog.languages():
            self.ctx.catalog.set_language(language)
        self.retranslate()

    def retranslate(self) -> None:
        self.setAccessibleName(self.ctx.t("app.title"))
        self.topbar.retranslate()
        for page in self.pages.values():
            page.retranslate()
        self.offline.retranslate()
        self.idle.retranslate()
        self.guest_consent.retranslate()
        self.guest_leave.retranslate()
        self.case_number.retranslate()
        self.form_confirm.retranslate()
        self.language_choice.retranslate()

    def set_large_text(self, on: bool) -> None:
        if on == self.large_text:
            return
        self.large_text = on
        for toggle in (self.topbar.larger, self.needs.toggles["large_text"]):
            toggle.blockSignals(True)
            toggle.setChecked(on)
            toggle.blockSignals(False)
        self.apply_scale()
        self.retranslate()

    def apply_scale(self) -> None:
        screen = self.screen()
        dpi = self.screen_dpi or (screen.physicalDotsPerInch() if screen is not None else 96.0)
        scale = self.text_scale * (LARGE_TEXT if self.large_text else 1.0)
        metrics = Metrics(dpi=dpi, base_px=base_text_px(max(self.height(), 600), scale))
        if metrics == self.metrics and self.styleSheet():
            return
        self.metrics = metrics
        self.setStyleSheet(stylesheet(metrics))
        for page in self.pages.values():
            page.apply_metrics(metrics)
        self.topbar.fit()

    def privacy_reset(self, language: str | None) -> None:
        """Forget what this resident saw or typed: every screen cleared, language and text size back."""
        for page in self.pages.values():
            page.clear()
        self.idle.dismiss()
        self.guest_consent.dismiss()
        self.guest_leave.dismiss()
        self.form_confirm.dismiss()
        self.printing.dismiss()
        self.case_number.clear()  # the typed case number is forgotten with the rest
        self.language_choice.hide()
        self.set_large_text(False)
        self.set_language(language or self.ctx.language)

    # ------------------------------------------------------------ Qt
    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.apply_scale()
        for overlay in (self.offline, self.idle, self.guest_consent, self.guest_leave, self.case_number,
                        self.form_confirm, self.printing, self.language_choice):
            overlay.setGeometry(self.rect())
        self.form_confirm.fit()  # its card follows the window's height

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # every event of the program passes here (in a call ~1,000 a second, mostly the asyncio loop's timers):
        # the class test is cheap, reading the type makes a Python enum (bench/kiosk_cost.py)
        if isinstance(event, QInputEvent) and event.type() in TOUCHES:
            self.ctx.port.touch()
            if self.ctx.voice is not None:
                self.ctx.voice.touched()
        return False

    def closeEvent(self, event: QCloseEvent) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        super().closeEvent(event)
