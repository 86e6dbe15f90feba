"""The console window: renders controller state, turns clicks into controller intents.

It holds no rule of its own. Controller events arrive through :class:`~signaling.qt.bridge.EventBridge`;
intents run as asyncio tasks on the shared qasync loop. Video is pulled at 15 fps from the controller
(frames never travel through Qt signals).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QDesktopServices, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QStatusBar,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from signaling.protocol.models import JST
from signaling.qt.bridge import EventBridge
from staff_console.guests import qr_png
from staff_console.services.form_pdf import render_form_pdf
from staff_console.ui.appointment_panel import AppointmentPanel
from staff_console.ui.call_view import CallView
from staff_console.ui.callback_panel import CallbackPanel
from staff_console.ui.case_dialog import CaseDialog
from staff_console.ui.guest_dialog import GuestInviteDialog
from staff_console.ui.header import HeaderBar
from staff_console.ui.history_view import HistoryView
from staff_console.ui.models import CallbackModel, HistoryModel, QueueModel, TeamModel
from staff_console.ui.offer_dialog import InviteDialog, OfferDialog
from staff_console.ui.pickers import InvitePicker, TransferDialog
from staff_console.ui.queue_panel import QueuePanel
from staff_console.ui.text import Texts
from staff_console.ui.wrapup_view import WrapUpView

if TYPE_CHECKING:
    from staff_console.controller import StaffController

log = logging.getLogger("madoguchi.console.ui")
FRAME_MS = 66
RING_EVERY_MS = 3000


class IdlePage(QWidget):
    go_available = Signal()

    def __init__(self, texts: Texts, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.texts = texts
        self.status, self.reason = "offline", ""
        self.partner = False  # an outside partner: waits for an invitation, never for residents
        self.big = QLabel()
        self.big.setObjectName("idle")
        self.big.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.big.setWordWrap(True)
        self.hint = QLabel()
        self.hint.setObjectName("hint")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        self.button = QPushButton()
        self.button.setObjectName("primary")
        self.button.clicked.connect(self.go_available.emit)
        lay = QVBoxLayout(self)
        lay.addStretch(2)
        lay.addWidget(self.big)
        lay.addWidget(self.hint)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.button)
        row.addStretch(1)
        lay.addSpacing(12)
        lay.addLayout(row)
        lay.addStretch(3)
        self.retranslate()

    def set_status(self, status: str, reason: str) -> None:
        self.status, self.reason = status, reason
        self.retranslate()

    def retranslate(self) -> None:
        t = self.texts
        key = self.status if self.status in ("available", "away", "offered", "offline") else "other"
        if self.status == "offline" and self.reason in ("replaced", "revoked"):
            key = "stopped"  # the server ended this window's connection: it is not "connecting"
        elif self.partner:  # whatever its status: the connection banner says when it is offline
            key = "partner"
        self.big.setText(t.t(f"idle.{key}"))
        hint = f"idle.{key}.hint"
        if self.status == "away" and self.reason == "no_answer":
            hint = "idle.no_answer.hint"
        self.hint.setText(t.t(hint, reason=t.reason(self.reason)) if t.has(hint) else "")
        self.button.setText(t.t("header.go_available"))
        self.button.setVisible(self.status == "away" and not self.partner)


class ConsoleWindow(QMainWindow):
    closing = Signal()

    def __init__(self, ctl: StaffController, texts: Texts, audio: Any = None) -> None:
        super().__init__()
        self.ctl = ctl
        self.texts = texts
        self.audio = audio
        self._tasks: set[asyncio.Task[Any]] = set()
        texts.set_service_names(ctl.service_name)
        self.resize(1360, 860)

        self.header = HeaderBar(texts)
        self.banner = QLabel()
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.hide()
        self.reconnect_button = QPushButton()
        self.reconnect_button.setObjectName("reconnect_here")
        self.reconnect_button.clicked.connect(lambda: self._run(self.ctl.reconnect_here()))
        self.reconnect_button.hide()
        # 「支所の職員を呼ぶ」: a resident at a branch kiosk calls for someone (staff_console/branch_calls.py)
        self.branch_notice = QLabel()
        self.branch_notice.setObjectName("branch_notice")
        self.branch_notice.setWordWrap(True)
        self.branch_answer = QPushButton()
        self.branch_answer.setObjectName("accept")
        self.branch_answer.clicked.connect(self._answer_branch)
        self.branch_bar = QWidget()
        self.branch_bar.setObjectName("branch_bar")
        brow = QHBoxLayout(self.branch_bar)
        brow.setContentsMargins(12, 6, 12, 6)
        brow.addWidget(self.branch_notice, 1)
        brow.addWidget(self.branch_answer)
        self.branch_bar.hide()
        self.queue_model = QueueModel(texts)
        self.team_model = TeamModel(texts)
        self.history_model = HistoryModel(texts)
        self.callback_model = CallbackModel(texts, lambda: ctl.me.get("id"))
        self.callback_panel = CallbackPanel(texts, self.callback_model)
        self.queue_panel = QueuePanel(texts, self.queue_model, self.team_model)
        self.idle = IdlePage(texts)
        self.call_view = CallView(texts)
        self.wrapup_view = WrapUpView(texts)
        self.stack = QStackedWidget()
        for page in (self.idle, self.call_view, self.wrapup_view):
            self.stack.addWidget(page)
        self.work = QSplitter(Qt.Orientation.Horizontal)
        self.work.addWidget(self.queue_panel)
        self.work.addWidget(self.stack)
        self.work.setStretchFactor(0, 2)
        self.work.setStretchFactor(1, 5)
        self.history_view = HistoryView(texts, self.history_model)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.work, "")
        self.tabs.addTab(self.history_view, "")
        self.tabs.addTab(self.callback_panel, "")
        self.appointment_panel = AppointmentPanel(texts)  # 予約 (staff_console/appointments.py)
        self.tabs.addTab(self.appointment_panel, "")
        self.open_file: Callable[[str], object] = lambda path: QDesktopServices.openUrl(QUrl.fromLocalFile(path))
        self._appointments_loaded = False
        self.tabs.currentChanged.connect(self._tab_changed)
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.header)
        banner_row = QHBoxLayout()
        banner_row.setContentsMargins(0, 0, 8, 0)
        banner_row.addWidget(self.banner, 1)
        banner_row.addWidget(self.reconnect_button)
        lay.addLayout(banner_row)
        lay.addWidget(self.branch_bar)
        lay.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.setStatusBar(QStatusBar())
        self.offer_dialog = OfferDialog(texts, ctl.offer_remaining_s, self)
        self.invite_dialog = InviteDialog(texts, self)
        self.transfer_dialog: TransferDialog | None = None
        self.invite_picker: InvitePicker | None = None
        self.guest_dialog: GuestInviteDialog | None = None
        self._history_loaded = False
        self._shown = False

        # intents
        self.header.go_available.connect(lambda: self._run(ctl.set_available()))
        self.header.go_away.connect(lambda reason: self._run(ctl.set_away(reason)))
        self.header.language_changed.connect(self.set_language)
        self.idle.go_available.connect(lambda: self._run(ctl.set_available()))
        self.offer_dialog.accepted_offer.connect(lambda tid: self._run(ctl.accept(tid)))
        self.offer_dialog.declined_offer.connect(lambda _tid: self._run(ctl.decline()))
        self.case_dialog = CaseDialog(texts, self)
        self.offer_dialog.history_requested.connect(lambda number: self._run(ctl.cases.read(number)))
        self.case_dialog.save_requested.connect(
            lambda number, name, contact: self._run(ctl.cases.update(number, name, contact)))
        self.history_view.case_lookup.connect(lambda number: self._run(ctl.cases.read(number)))
        self.history_view.forms_wanted.connect(lambda sid: self._run(ctl.history_forms(sid)))
        for box in (self.call_view.case_box, self.wrapup_view.case_box):
            box.open_requested.connect(lambda number: self._run(ctl.cases.read(number)))
            box.link_requested.connect(lambda number: self._run(ctl.link_case(number)))
            box.new_requested.connect(lambda name, contact: self._run(ctl.new_case(name, contact)))
        self.call_view.case_box.card_requested.connect(lambda: self._run(ctl.print_case_card()))
        self.invite_dialog.answered.connect(lambda yes: self._run(ctl.answer_invite(yes)))
        self.queue_panel.join_silently.connect(lambda sid: self._run(ctl.join_call_of(sid)))
        self.queue_panel.priority_requested.connect(lambda tid, level: self._run(ctl.set_priority(tid, level)))
        cv = self.call_view
        cv.hang_up.connect(lambda: self._run(ctl.hang_up()))
        cv.mute_toggled.connect(ctl.set_muted)
        cv.camera_toggled.connect(ctl.set_camera)
        cv.whisper_toggled.connect(ctl.set_whisper)
        cv.chat_sent.connect(ctl.send_chat)
        cv.transfer_clicked.connect(lambda: self._run(self._transfer()))
        cv.invite_clicked.connect(lambda: self._run(self._invite()))
        cv.guest_clicked.connect(self._invite_guest)
        cv.guests.decided.connect(lambda iid, admit: self._run(ctl.admit_guest(iid, admit)))
        cv.take_still.connect(self._take_still)
        cv.share_clicked.connect(self._pick_pdf)
        cv.sharing.turn.connect(ctl.turn_page)
        cv.sharing.point.connect(lambda x, y: ctl.point(x, y))
        cv.sharing.close_clicked.connect(ctl.stop_sharing)
        cv.sharing.print_clicked.connect(ctl.print_shown)
        cv.attach_still.connect(lambda entry: self._run(ctl.attach_still(entry)))
        ctl.forms.render_pdf = render_form_pdf  # the console prints: Qt's PDF writer (staff_console/services)
        cv.form_panel.values_changed.connect(ctl.forms.set_values)
        cv.form_panel.send.connect(lambda code, values: self._run(ctl.forms.send(code, values)))
        cv.form_panel.print_clicked.connect(lambda code: self._run(ctl.forms.print_confirmed(code)))
        cv.form_panel.save_clicked.connect(self._save_form_pdf)
        cv.note_form.changed.connect(lambda values: ctl.update_note(**values))
        self.wrapup_view.form.changed.connect(lambda values: ctl.update_note(**values))
        self.wrapup_view.finish.connect(lambda: self._run(ctl.complete_wrapup()))
        self.history_view.search.connect(lambda f: self._run(ctl.search_history(**f)))
        self.callback_panel.claim_requested.connect(lambda cid: self._run(ctl.callbacks.claim(cid)))
        self.callback_panel.outcome_requested.connect(
            lambda cid, outcome, note: self._run(ctl.callbacks.record(cid, outcome, note)))
        ap = self.appointment_panel
        ap.day_requested.connect(lambda days: self._run(ctl.appointments.step(days)))
        ap.today_requested.connect(lambda: self._run(ctl.appointments.today()))
        ap.cancel_requested.connect(lambda aid: self._run(ctl.appointments.cancel(aid)))
        ap.print_requested.connect(lambda: self._run(ctl.appointments.print_day(self.texts.language)))
        ap.book_requested.connect(lambda v: self._run(ctl.appointments.book(
            v["branch_code"], v["service_code"], v["day"], time(*v["start"]), v["duration_min"], v["staff_id"],
            v["case_number"])))

        # controller events
        self.bridge = EventBridge(ctl, self)
        self.bridge.event.connect(self._on_event)
        self._frames = QTimer(self)
        self._frames.setInterval(FRAME_MS)
        self._frames.timeout.connect(self._paint)
        self._frames.start()
        self._second = QTimer(self)
        self._second.setInterval(1000)
        self._second.timeout.connect(self._tick)
        self._second.start()
        self._ring = QTimer(self)
        self._ring.setInterval(RING_EVERY_MS)
        self._ring.timeout.connect(self._chime)
        self.retranslate()
        if ctl.me:
            self._on_profile({"staff": ctl.me})
        self.header.set_connection(ctl.connection)
        self.header.set_status(ctl.status, ctl.status_reason, ctl.away_after)
        self.idle.set_status(ctl.status, ctl.status_reason)

    # ------------------------------------------------------------ plumbing
    def _run(self, coro: Coroutine[Any, Any, Any]) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # a window drawn without the console's loop (the screenshot scenes): nothing runs
            coro.close()
            return
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("console action failed: %r", task.exception())
            self.statusBar().showMessage(self.texts.t("error.generic", message=str(task.exception())), 10_000)

    def set_language(self, language: str) -> None:
        self.texts.set_language(language)
        self.retranslate()

    def retranslate(self) -> None:
        t = self.texts
        self.setWindowTitle(t.t("app.title"))
        self.tabs.setTabText(0, t.t("tab.work"))
        self.tabs.setTabText(1, t.t("tab.history"))
        self.tabs.setTabText(3, t.t("tab.appointments"))
        self._callback_tab()
        self._render_branch_calls()
        for w in (self.header, self.queue_panel, self.idle, self.call_view, self.wrapup_view, self.history_view,
                  self.offer_dialog, self.invite_dialog, self.callback_panel, self.case_dialog, self.appointment_panel):
            w.retranslate()  # type: ignore[attr-defined]
        self.history_view.set_choices([s.code for s in self.ctl.services], self.ctl.history_branches)
        self._render_banner()

    # ------------------------------------------------------------ events
    def _on_event(self, name: str, data: dict[str, Any]) -> None:
        handler = getattr(self, f"_on_{name}", None)
        if handler is not None:
            handler(data)

    def _on_case(self, data: dict[str, Any]) -> None:
        if data.get("saved"):
            self.statusBar().showMessage(self.texts.t("case.saved_notice", number=data["case"]["number"]), 8000)
        self.case_dialog.show_case(data["case"])

    def _on_history_forms(self, data: dict[str, Any]) -> None:
        self.history_view.set_forms(data["session_id"], data["forms"])

    def _on_appointments(self, data: dict[str, Any]) -> None:
        self.appointment_panel.show_day(data["day"], data["items"], data["branches"], data["specialists"])

    def _on_appointment_booked(self, data: dict[str, Any]) -> None:
        item = data["item"]
        dialog = self.appointment_panel.dialog
        if dialog is not None:
            dialog.accept()
        text = self.texts.t("appt.booked_notice", number=item.number,
                            start=f"{item.starts_at.astimezone(JST):%m/%d %H:%M}")
        self.appointment_panel.say(text)
        self.appointment_panel.select(item.appointment_id)
        self.statusBar().showMessage(text, 15_000)

    def _on_appointment_print(self, data: dict[str, Any]) -> None:
        self.open_file(str(data["path"]))

    def _on_case_linked(self, data: dict[str, Any]) -> None:
        number = str(data["case"]["number"])
        for box in (self.call_view.case_box, self.wrapup_view.case_box):
            box.set_case(number)
        self.statusBar().showMessage(self.texts.t("case.linked_notice", number=number), 12_000)

    def _on_profile(self, data: dict[str, Any]) -> None:
        staff = data["staff"]
        self.header.set_profile(staff)
        self.queue_panel.set_supervisor(staff.get("role") == "supervisor")
        partner = staff.get("role") == "partner"  # joins a call when invited: no queue, history or callbacks
        self.queue_panel.setVisible(not partner)
        self.tabs.setTabVisible(1, not partner)
        self.idle.partner = partner
        self.idle.retranslate()
        self._callback_tab()
        self.tabs.setTabVisible(3, staff.get("role") in ("specialist", "supervisor"))
        self.history_view.set_choices([s.code for s in self.ctl.services], self.ctl.history_branches)
        self.header.retranslate()

    def _on_connection(self, data: dict[str, Any]) -> None:
        self.header.set_connection(data["state"])
        self._render_banner()
        if data["state"] == "online":
            self.history_view.set_choices([s.code for s in self.ctl.services], self.ctl.history_branches)
            if data.get("resumed"):
                self.statusBar().showMessage(self.texts.t("conn.resynced"), 8000)

    def _on_status(self, data: dict[str, Any]) -> None:
        self.header.set_status(data["status"], data.get("reason", ""), data.get("away_after"))
        self.idle.set_status(data["status"], data.get("reason", ""))
        self.wrapup_view.set_away_after(data.get("away_after"))

    def _on_queue(self, data: dict[str, Any]) -> None:
        self.queue_model.set_items(data["items"])
        self.team_model.set_staff(data["staff"])

    def _on_branch_calls(self, data: dict[str, Any]) -> None:
        self._render_branch_calls()
        if data["calls"]:
            QApplication.alert(self, 0)
            self._chime()

    def _render_branch_calls(self) -> None:
        calls = sorted(self.ctl.branch_calls.calls.values(), key=lambda c: c.at)
        self.branch_bar.setVisible(bool(calls))
        if calls:
            first, t = calls[0], self.texts
            self.branch_notice.setText(t.t("branch.called", where=t.where(first.branch, first.municipality),
                                           kiosk=first.kiosk_id, at=t.when(first.at)[-5:])
                                       + (t.t("branch.more", n=len(calls) - 1) if len(calls) > 1 else ""))
            self.branch_answer.setText(t.t("branch.answer"))

    def _answer_branch(self) -> None:
        calls = sorted(self.ctl.branch_calls.calls.values(), key=lambda c: c.at)
        if calls:
            self._run(self.ctl.branch_calls.answer(calls[0].call_id))

    def _on_callbacks(self, data: dict[str, Any]) -> None:
        self.callback_model.set_items(data["items"])
        self._callback_tab()

    def _callback_tab(self) -> None:
        """The callback tab says how many tasks wait; it shows only for those who handle them."""
        n = len(self.callback_model.items)
        self.tabs.setTabText(2, self.texts.t("tab.callbacks", n=n) if n else self.texts.t("tab.callbacks_none"))
        self.tabs.setTabVisible(2, self.ctl.me.get("role") in ("specialist", "supervisor"))

    def _on_offer(self, data: dict[str, Any]) -> None:
        self.offer_dialog.show_offer(data["offer"])
        QApplication.alert(self, 0)
        self._chime()
        self._ring.start()

    def _on_offer_revoked(self, data: dict[str, Any]) -> None:
        self._ring.stop()
        if self.offer_dialog.offer is not None and self.offer_dialog.offer.ticket_id == data["ticket_id"]:
            self.offer_dialog.close_offer()
        key = f"offer.revoked.{data['reason']}"
        if self.texts.has(key):
            self.statusBar().showMessage(self.texts.t(key), 10_000)

    def _on_notice(self, data: dict[str, Any]) -> None:
        self.statusBar().showMessage(self.texts.t(f"notice.{data['code']}"), 15_000)

    def _show_page(self, page: QWidget) -> None:
        """The queue gets the room while idle; the call and the record get it otherwise."""
        self.stack.setCurrentWidget(page)
        ignored, preferred = QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred
        for w in (self.idle, self.call_view, self.wrapup_view):  # hidden pages must not impose their minimum width
            w.setSizePolicy(QSizePolicy(preferred, preferred) if w is page else QSizePolicy(ignored, ignored))
        self.stack.updateGeometry()
        total = max(sum(self.work.sizes()), self.work.width(), 800)
        left = int(total * 0.58) if page is self.idle else 340
        self.work.setSizes([left, total - left])
        self.header.set_in_call(page is self.call_view)

    def showEvent(self, event: QShowEvent) -> None:  # Qt name
        super().showEvent(event)
        if not self._shown:
            self._shown = True
            self._show_page(self.stack.currentWidget() or self.idle)

    def _on_call_started(self, data: dict[str, Any]) -> None:
        self._ring.stop()
        self.offer_dialog.close_offer()
        self.call_view.start(data["call"], self.ctl.me.get("display_name", ""))
        self.call_view.note_form.load(self.ctl.note)
        self.call_view.form_panel.set_forms(self.ctl.forms.forms, self.ctl.forms.entries)  # if they came first
        self.call_view.invite_btn.setEnabled(self.ctl.can_invite())
        self.tabs.setCurrentIndex(0)
        self._show_page(self.call_view)
        if self.audio is not None:
            self.audio.clear()

    def _on_participants(self, data: dict[str, Any]) -> None:
        self.call_view.set_participants(data["participants"])
        self.call_view.set_invited(self.ctl.invited)
        self.call_view.invite_btn.setEnabled(self.ctl.can_invite())
        joined = data.get("joined")
        if joined is not None and joined.peer != self.ctl.my_peer:
            name = joined.display_name or self.texts.role(joined.role)
            self.statusBar().showMessage(self.texts.t("call.joined", name=name, role=self.texts.role(joined.role)),
                                         10_000)

    def _on_chat(self, data: dict[str, Any]) -> None:
        self.call_view.add_chat(data["who"], data["text"], data.get("private", False))

    def _on_quality(self, data: dict[str, Any]) -> None:
        if self.ctl.mesh is not None and data.get("peer") == self.ctl.mesh.primary:
            self.call_view.set_quality(data["stats"])
            self.call_view.set_media_state("connected")

    def _on_call_status(self, data: dict[str, Any]) -> None:
        status = data.get("status")
        primary = self.ctl.mesh.primary if self.ctl.mesh is not None else None
        if status in ("connected", "reconnecting", "failed", "link_failed") and data.get("peer") in (None, primary):
            self.call_view.set_media_state(str(status))

    def _on_invite_sent(self, data: dict[str, Any]) -> None:
        self.call_view.set_invited(self.ctl.invited)
        self.call_view.invite_btn.setEnabled(self.ctl.can_invite())

    def _on_whisper(self, data: dict[str, Any]) -> None:
        self.call_view.set_whisper(data["on"], data.get("mine", False), data.get("peer"))

    def _on_call_ended(self, data: dict[str, Any]) -> None:
        if self.audio is not None:
            self.audio.clear()
        reason = self.texts.end_reason(data.get("reason", ""), data.get("media_error"))
        if not data.get("wrap_up"):
            self._show_page(self.idle)
            if data.get("reason") != "left":
                self.statusBar().showMessage(self.texts.t("call.ended_by", reason=reason), 10_000)
        elif data.get("media_error"):  # the wrap-up page says it too; this line stays where IT is asked for
            self.statusBar().showMessage(self.texts.t("call.ended_by", reason=reason), 60_000)

    def _on_wrapup(self, data: dict[str, Any]) -> None:
        names = {}
        call = self.ctl.call
        if call is not None:
            for p in call.participants:
                names[p.peer] = self.texts.t("role.resident") if p.role == "resident" else (
                    p.display_name or self.texts.role(p.role))
        self.wrapup_view.show_wrapup(data["wrapup"], self.ctl.note, names, self.ctl.me.get("display_name", ""))
        self.wrapup_view.set_away_after(self.ctl.away_after)
        self._show_page(self.wrapup_view)
        self.tabs.setCurrentIndex(0)

    def _on_wrapup_done(self, data: dict[str, Any]) -> None:
        self._show_page(self.idle)
        self.statusBar().showMessage(self.texts.t("wrapup.done"), 6000)
        self._history_loaded = False

    def _on_invite(self, data: dict[str, Any]) -> None:
        busy = self.ctl.call is not None and not self.ctl.call.ended
        self.invite_dialog.show_invite(data["invite"], busy or self.ctl.wrapup is not None)
        QApplication.alert(self, 0)
        self._chime()

    def _on_history(self, data: dict[str, Any]) -> None:
        self.history_model.set_rows(data["rows"])
        self.history_view.set_choices([s.code for s in self.ctl.services], self.ctl.history_branches)

    def _on_colleagues(self, data: dict[str, Any]) -> None:
        if self.ctl.is_supervisor:
            self.history_view.set_staff_choices([(c["id"], c["display_name"]) for c in data["colleagues"]])

    def _on_error(self, data: dict[str, Any]) -> None:
        code = str(data.get("code", ""))
        if code == "offline" and self.ctl.client is not None and self.ctl.client.stop_reason is not None:
            return  # the banner already says why nothing reaches the server
        if code == "note_incomplete":
            missing = list(data.get("details", {}).get("missing", []))
            form = self.wrapup_view.form if self.stack.currentWidget() is self.wrapup_view else \
                self.call_view.note_form
            form.show_problems(missing)
            return
        if data.get("request") == "wrapup.done" and data.get("details", {}).get("missing"):
            self.wrapup_view.form.show_problems(["category"])
            return
        if code == "appointment":
            reason = data.get("reason", "unreachable")
            text = self.texts.t(f"error.appointment.{reason}", message=data.get("message", ""))
            self.appointment_panel.say(text)
            self.statusBar().showMessage(text, 12_000)
            return
        if code == "case":
            text = self.texts.t(f"error.case.{data.get('reason', 'unreachable')}")
            for box in (self.call_view.case_box, self.wrapup_view.case_box):
                if box.isVisible():
                    box.show_problem(text)
            self.statusBar().showMessage(text, 12_000)
            return
        key = f"error.{code}"
        text = self.texts.t(key) if self.texts.has(key) else self.texts.t("error.generic",
                                                                          message=data.get("message", ""))
        self.statusBar().showMessage(text, 12_000)

    # ------------------------------------------------------------ dialogs
    # Dialogs are opened with open(), never exec(): a nested Qt loop inside an asyncio task would stall
    # every other task (media, signaling) on the qasync loop.
    async def _transfer(self) -> None:
        call = self.ctl.call
        if call is None:
            return
        colleagues = await self.ctl.refresh_colleagues()
        dlg = TransferDialog(self.texts, [s.code for s in self.ctl.services], colleagues, call.service_code, self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.accepted.connect(lambda: self._run(self._do_transfer(*dlg.choice())))
        self.transfer_dialog = dlg
        dlg.open()

    async def _do_transfer(self, kind: str, value: Any) -> None:
        if kind == "staff":
            await self.ctl.transfer(staff_id=int(value))
        else:
            await self.ctl.transfer(service_code=str(value))

    async def _invite(self) -> None:
        colleagues = [c for c in await self.ctl.refresh_colleagues() if c.get("status") != "offline"]
        dlg = InvitePicker(self.texts, colleagues, self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.accepted.connect(lambda: self._run(self._do_invite(dlg.choice())))
        self.invite_picker = dlg
        dlg.open()

    def _invite_guest(self) -> None:
        dlg = GuestInviteDialog(self.texts, self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.issue.connect(lambda role, name: self._run(self._issue_guest(dlg, role, name)))
        dlg.finished.connect(lambda _r: setattr(self, "guest_dialog", None))
        self.guest_dialog = dlg
        dlg.open()

    async def _issue_guest(self, dlg: GuestInviteDialog, role: str, name: str) -> None:
        entry = await self.ctl.invite_guest(role, name)  # type: ignore[arg-type]
        if entry is None:
            dlg.show_failed(self.texts.t("guest.failed"))
            return
        dlg.show_link(entry, qr_png(entry.link))

    def _render_guests(self) -> None:
        self.call_view.guests.set_entries(list(self.ctl.guests.entries.values()))
        self.call_view.guest_btn.setEnabled(self.ctl.can_invite())

    def _on_guest_invited(self, data: dict[str, Any]) -> None:
        self._render_guests()

    def _on_guest_lobby(self, data: dict[str, Any]) -> None:
        self._render_guests()

    def _on_guest_state(self, data: dict[str, Any]) -> None:
        self._render_guests()

    # ------------------------------------------------------------ the resident's document
    def _take_still(self) -> None:
        if self.ctl.take_still() is not None:
            self.call_view.documents.set_taking()
        else:
            self.call_view.documents.set_error("not_showing")

    def _pick_pdf(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.texts.t("share.pick"), "", "PDF (*.pdf)")
        if path:
            self._run(self.ctl.share_pdf_file(path))

    # ------------------------------------------------------------ 書かない窓口: the form the resident confirms
    def _on_forms(self, data: dict[str, Any]) -> None:
        self.call_view.form_panel.set_forms(data["forms"], self.ctl.forms.entries)

    def _on_form(self, data: dict[str, Any]) -> None:
        self.call_view.form_panel.set_entry(data["entry"])

    def _on_form_pdf(self, data: dict[str, Any]) -> None:
        self.call_view.form_panel.set_pdf_state(data)

    def _save_form_pdf(self, code: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, self.texts.t("forms.save_title"), f"{code}.pdf", "PDF (*.pdf)")
        if path:
            self._run(self.ctl.forms.save_pdf(code, path))

    def _on_print(self, data: dict[str, Any]) -> None:
        """支所で印刷 of the shared document: its progress and result under it (a confirmed form's print is shown
        with the form, ``form_pdf``)."""
        if data.get("shown"):
            self.call_view.set_print(data)

    def _on_shared_doc(self, data: dict[str, Any]) -> None:
        self.call_view.set_shared(data, self.ctl.sharing.data)

    def _on_document(self, data: dict[str, Any]) -> None:
        size = (data["width"], data["height"]) if data.get("width") and data.get("height") else None
        self.call_view.set_document(bool(data["showing"]), size)

    def _on_still(self, data: dict[str, Any]) -> None:
        self.call_view.documents.add_still(data["entry"])

    def _on_still_error(self, data: dict[str, Any]) -> None:
        self.call_view.documents.set_error(str(data.get("code", "")))

    def _on_still_attached(self, data: dict[str, Any]) -> None:
        self.call_view.documents.set_attached(data["entry"])

    async def _do_invite(self, staff_id: int | None) -> None:
        if staff_id is not None:
            await self.ctl.invite(staff_id)

    # ------------------------------------------------------------ timers
    def _paint(self) -> None:
        if self.stack.currentWidget() is self.call_view and self.ctl.mesh is not None:
            self.call_view.set_frames(self.ctl.remote_frames(), self.ctl.local_frame())

    def _tick(self) -> None:
        self.queue_model.tick()
        if self.ctl.invited and self.ctl.prune_invites():
            self.call_view.set_invited(self.ctl.invited)
            self.call_view.invite_btn.setEnabled(self.ctl.can_invite())
        if self.ctl.call is not None and not self.ctl.call.ended:
            self.call_view.set_elapsed(self.ctl.call_elapsed_s())
        if self._ring.isActive() and self.ctl.offer is None:
            self._ring.stop()

    def _chime(self) -> None:
        if self.audio is not None:
            self.audio.chime()

    def _tab_changed(self, index: int) -> None:
        if index == 3 and not self._appointments_loaded:
            self._appointments_loaded = True
            self._run(self.ctl.appointments.show())
        if index == 1 and not self._history_loaded:
            self._history_loaded = True
            if self.ctl.is_supervisor and not self.ctl.colleagues:
                self._run(self.ctl.refresh_colleagues())
            self._run(self.ctl.search_history(**self.history_view.filters()))

    def _render_banner(self) -> None:
        state = self.ctl.connection
        reason = self.ctl.client.stop_reason if self.ctl.client is not None else None
        self.reconnect_button.setVisible(state == "closed" and reason == "replaced")
        if state == "closed" and reason is not None:
            self.banner.setText(self.texts.t(f"conn.stopped_{reason}"))
            self.reconnect_button.setText(self.texts.t("conn.reconnect_here"))
            self.banner.show()
            return
        if state in ("online", "closed"):
            self.banner.hide()
            return
        in_call = self.ctl.call is not None and not self.ctl.call.ended
        self.banner.setText(self.texts.t("conn.lost_in_call") if in_call else self.texts.t("conn.lost"))
        self.banner.show()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._frames.stop()
        self._second.stop()
        self._ring.stop()
        self.offer_dialog.close_offer()
        self.invite_dialog.hide()
        self.closing.emit()
        super().closeEvent(event)
