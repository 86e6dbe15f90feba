"""The resident's screens before and after a call: welcome, kind of help, needs, waiting, nobody on duty, feedback."""

from __future__ import annotations

import math
import time
from typing import Any

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtWidgets import QButtonGroup, QGridLayout, QHBoxLayout, QVBoxLayout, QWidget

from kiosk.ui.port import UiContext
from kiosk.ui.theme import Metrics
from kiosk.ui.widgets import Button, CardButton, FaceButton, Label, hbox
from signaling.protocol.models import JST, Need, ServiceInfo

NEEDS: list[tuple[Need, str]] = [("sign_language", "needs.sign_language"), ("written", "needs.written"),
                                 ("large_text", "needs.large_text"), ("supporter", "needs.supporter")]


def service_name(s: ServiceInfo, language: str) -> str:
    """In the resident's language: the server sends every service in every language it knows (1.14)."""
    return s.text(language).name


def service_description(s: ServiceInfo, language: str) -> str:
    return s.text(language).description


class Page(QWidget):
    """One screen. ``retranslate`` sets every visible string; ``clear`` forgets the resident (privacy)."""

    name = ""

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName(f"page_{self.name}")
        self.box = QVBoxLayout(self)
        self.box.setContentsMargins(48, 28, 48, 28)
        self.box.setSpacing(18)

    def retranslate(self) -> None:
        pass

    def clear(self) -> None:
        pass

    def on_show(self) -> None:
        pass

    def apply_metrics(self, m: Metrics) -> None:
        margin = m.mm(8)
        self.box.setContentsMargins(margin, m.mm(5), margin, m.mm(5))
        self.box.setSpacing(m.mm(4))

    def focus_order(self) -> list[QWidget]:
        """Keyboard order of this page's controls (the window wires setTabOrder from it)."""
        return []


class TapCounter(QObject):
    """Five taps within four seconds on a widget: the hidden way to the staff PIN pad."""

    triggered = Signal()

    def __init__(self, target: QWidget, taps: int = 5, within_s: float = 4.0) -> None:
        super().__init__(target)
        self.taps, self.within_s = taps, within_s
        self._times: list[float] = []
        target.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.MouseButtonPress:
            now = time.monotonic()
            self._times = [t for t in self._times if now - t < self.within_s] + [now]
            if len(self._times) >= self.taps:
                self._times.clear()
                self.triggered.emit()
        return False


class WelcomePage(Page):
    name = "welcome"
    pin_requested = Signal()

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.title = Label("hero", center=True)
        self.branch = Label("lead", center=True)
        self.lead = Label("title", center=True)
        self.start = Button(kind="hero")
        self.start.setObjectName("welcome_start")
        self.hint = Label("lead", center=True)
        self.appointment = Button(kind="primary")  # 「予約の方」 (kiosk/appointment_flow.py)
        self.appointment.setObjectName("welcome_appointment")
        self.note = Label("lead", center=True)
        self.thanks = Label("banner", center=True)
        self.thanks.hide()
        self.box.addStretch(1)
        for w in (self.title, self.branch, self.lead):
            self.box.addWidget(w)
        self.box.addStretch(1)
        self.box.addLayout(hbox(self.start, self.appointment, stretch_ends=True))  # side by side: the screen is full
        self.box.addWidget(self.hint)
        self.box.addStretch(1)
        self.box.addWidget(self.note)
        self.box.addWidget(self.thanks)
        self.start.clicked.connect(self.ctx.port.begin)
        self.appointment.clicked.connect(self.ctx.port.appointment.open)
        TapCounter(self.title).triggered.connect(self.pin_requested)

    def retranslate(self) -> None:
        t = self.ctx.t
        self.title.setText(t("welcome.title"))
        branch = self.ctx.port.branch
        self.branch.setText(branch)
        self.branch.setVisible(bool(branch) and self.ctx.japanese)  # the branch name is Japanese data
        self.lead.setText(t("welcome.lead"))
        self.start.set_text(t("welcome.start"))
        self.start.setAccessibleDescription(t("welcome.start_hint"))
        self.hint.setText(t("welcome.start_hint"))
        self.appointment.set_text(t("welcome.appointment"))
        self.appointment.setAccessibleDescription(t("welcome.appointment_hint"))
        self.note.setText(t("welcome.note"))
        self.thanks.setText(t("welcome.thanks"))

    def show_thanks(self, on: bool) -> None:
        self.thanks.setVisible(on)
        self.note.setVisible(not on)  # one line at the bottom at a time: the screen stays uncluttered

    def focus_order(self) -> list[QWidget]:
        return [self.start, self.appointment]


class ServicesPage(Page):
    name = "services"

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.title = Label("title")
        self.lead = Label("lead")
        self.loading = Label("lead")
        self.grid = QGridLayout()
        self.grid.setSpacing(20)
        self.buttons: dict[str, CardButton] = {}
        self.back = Button(kind="small")
        self.back.clicked.connect(self.ctx.port.go_back)
        self.box.addWidget(self.title)
        self.box.addWidget(self.lead)
        self.box.addWidget(self.loading)
        self.box.addLayout(self.grid)
        self.box.addStretch(1)
        back_row = hbox(self.back)
        back_row.addStretch(1)
        self.box.addLayout(back_row)

    def rebuild(self) -> None:
        for b in self.buttons.values():
            self.grid.removeWidget(b)
            b.deleteLater()
        self.buttons.clear()
        lang = self.ctx.language
        services = list(self.ctx.port.services)
        general = [s for s in services if s.code == self.ctx.general_service]
        regular = [s for s in services if s.code != self.ctx.general_service]
        cols = 2 if len(regular) > 1 else 1
        for i, s in enumerate(regular):
            b = CardButton(service_name(s, lang), service_description(s, lang))
            b.setObjectName(f"service_{s.code}")
            b.clicked.connect(lambda _=False, code=s.code: self.ctx.port.choose_service(code))
            self.grid.addWidget(b, i // cols, i % cols)
            self.buttons[s.code] = b
        for s in general:  # "Not sure": last, full width, its own colour
            b = CardButton(service_name(s, lang), service_description(s, lang), kind="general")
            b.setObjectName(f"service_{s.code}")
            b.clicked.connect(lambda _=False, code=s.code: self.ctx.port.choose_service(code))
            self.grid.addWidget(b, math.ceil(len(regular) / cols), 0, 1, cols)
            self.buttons[s.code] = b
        self.loading.setVisible(not services)

    def retranslate(self) -> None:
        t = self.ctx.t
        self.title.setText(t("services.title"))
        self.lead.setText(t("services.lead"))
        self.loading.setText(t("services.loading"))
        self.back.set_text(t("common.back"))
        self.rebuild()

    def apply_metrics(self, m: Metrics) -> None:
        super().apply_metrics(m)
        self.grid.setSpacing(m.mm(4))

    def focus_order(self) -> list[QWidget]:
        return [*self.buttons.values(), self.back]


class NeedsPage(Page):
    name = "needs"
    large_text = Signal(bool)
    case_requested = Signal()  # 「相談番号をお持ちの方」: the window opens the keypad (kiosk/ui/case_number.py)

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.title = Label("title")
        self.lead = Label("lead")
        self.toggles: dict[Need, Button] = {}
        grid = QGridLayout()
        grid.setSpacing(20)
        for i, (need, _key) in enumerate(NEEDS):
            b = Button(checkable=True)
            b.setObjectName(f"need_{need}")
            b.setSizePolicy(b.sizePolicy().Policy.Expanding, b.sizePolicy().Policy.Fixed)
            grid.addWidget(b, i // 2, i % 2)
            self.toggles[need] = b
        self.grid = grid
        self.toggles["large_text"].toggled.connect(self.large_text)
        self.error = Label("alert")
        self.error.hide()
        self.case = Button(kind="small")
        self.case.setObjectName("case_open")
        self.case.clicked.connect(self.case_requested)
        self.back = Button(kind="small")
        self.next = Button(kind="primary")
        self.back.clicked.connect(self.ctx.port.go_back)
        self.next.clicked.connect(self._next)
        self.box.addWidget(self.title)
        self.box.addWidget(self.lead)
        self.box.addLayout(grid)
        self.box.addStretch(1)
        self.box.addLayout(hbox(self.case, stretch_ends=True))
        self.box.addWidget(self.error)
        row = QHBoxLayout()
        row.addWidget(self.back)
        row.addStretch(1)
        row.addWidget(self.next)
        self.box.addLayout(row)
        self._busy = False

    def chosen(self) -> list[Need]:
        return [n for n, b in self.toggles.items() if b.isChecked()]

    def _next(self) -> None:
        if self._busy:
            return
        self._set_busy(True)
        self.error.hide()
        needs = self.chosen()
        self.ctx.port.set_needs(needs)
        self.ctx.run(self.ctx.port.request_service(needs=needs), lambda _ok: self._set_busy(False))

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.next.setEnabled(not busy)
        self.next.set_text(self.ctx.t("needs.calling" if busy else "needs.next"))

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    def retranslate(self) -> None:
        t = self.ctx.t
        self.title.setText(t("needs.title"))
        self.lead.setText(t("needs.lead"))
        for need, key in NEEDS:
            self.toggles[need].set_text(t(key))
        self.back.set_text(t("common.back"))
        number = self.ctx.port.visit.case_number
        self.case.set_text(t("case.change", number=number) if number else t("case.open"))
        self._set_busy(self._busy)

    def clear(self) -> None:
        self.case.set_text(self.ctx.t("case.open"))
        for b in self.toggles.values():
            b.blockSignals(True)
            b.setChecked(False)
            b.blockSignals(False)
            b.set_text(b.accessibleName())
        self.error.hide()
        self._set_busy(False)

    def apply_metrics(self, m: Metrics) -> None:
        super().apply_metrics(m)
        self.grid.setSpacing(m.mm(4))

    def focus_order(self) -> list[QWidget]:
        return [*self.toggles.values(), self.case, self.next, self.back]


class WaitingPage(Page):
    name = "waiting"

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.title = Label("title", center=True)
        self.service = Label("lead", center=True)
        self.position = Label("big", center=True)
        self.position.setObjectName("waiting_position")
        self.estimate = Label("title", center=True)
        self.estimate.setObjectName("waiting_estimate")
        self.state = Label("banner", center=True)
        self.unmet = Label("banner", center=True)  # nobody on duty signs: a written conversation instead
        self.unmet.setObjectName("waiting_unmet")
        self.case_unknown = Label("banner", center=True)  # the case number was not found: a walk-in all the same
        self.case_unknown.setObjectName("waiting_case_not_found")
        self.appointment = Label("banner", center=True)  # checked in for an appointment: offered at its time
        self.appointment.setObjectName("waiting_appointment")
        self.hint = Label("lead", center=True)
        self.cancel = Button()
        self.cancel.setObjectName("waiting_cancel")
        self.cancel.clicked.connect(self._cancel)
        self.callback = Button()  # a long wait: 「折り返し電話」 instead (kiosk/callback_flow.py)
        self.callback.setObjectName("waiting_callback")
        self.callback.clicked.connect(lambda: self.ctx.run(self.ctx.port.callback.open()))
        self.box.addWidget(self.title)
        self.box.addWidget(self.service)
        self.box.addStretch(1)
        self.box.addWidget(self.position)
        self.box.addWidget(self.estimate)
        self.box.addWidget(self.state)
        self.box.addWidget(self.unmet)
        self.box.addWidget(self.case_unknown)
        self.box.addWidget(self.appointment)
        self.box.addStretch(1)
        self.box.addWidget(self.hint)
        self.box.addLayout(hbox(self.cancel, self.callback, stretch_ends=True))
        self.ticket: dict[str, Any] = {}

    def _cancel(self) -> None:
        self.cancel.setEnabled(False)
        self.ctx.run(self.ctx.port.cancel(), lambda _r: self.cancel.setEnabled(True))

    def update_ticket(self, ticket: dict[str, Any]) -> None:
        self.ticket = {**self.ticket, **{k: v for k, v in ticket.items() if v is not None or k == "position"}}
        self.retranslate()

    def set_wait(self, wait: dict[str, Any]) -> None:
        """The controller's countdown (:mod:`kiosk.wait_estimate`): ``kind`` and ``minutes``."""
        self.ticket = {**self.ticket, "wait": dict(wait)}
        self.retranslate()

    def retranslate(self) -> None:
        t, tk = self.ctx.t, self.ticket
        self.title.setText(t("waiting.title"))
        code = tk.get("service_code") or self.ctx.port.visit.service_code
        svc = next((s for s in self.ctx.port.services if s.code == code), None)
        self.service.setText(t("waiting.service", service=service_name(svc, self.ctx.language)) if svc else "")
        self.service.setVisible(svc is not None)
        pos = tk.get("position")
        if pos is None:
            self.position.setText(t("waiting.estimate_unknown"))
        elif pos <= 1:
            self.position.setText(t("waiting.position_next"))
        else:
            self.position.setText(t("waiting.position", n=pos))
        wait = tk.get("wait") or {}
        kind = wait.get("kind", "unknown")
        if kind == "minutes":
            self.estimate.setText(t("waiting.estimate", minutes=int(wait.get("minutes", 0))))
        elif kind in ("soon", "overdue"):
            self.estimate.setText(t(f"waiting.estimate_{kind}"))
        else:
            self.estimate.setText("")
        self.estimate.setVisible(kind != "unknown")
        self.state.setText(t("waiting.offered"))
        self.state.setVisible(tk.get("state") == "offered")
        self.unmet.setText(t("waiting.unmet_sign"))
        self.unmet.setVisible("sign_language" in (tk.get("unmet_needs") or []))
        self.case_unknown.setText(t("waiting.case_not_found"))
        self.case_unknown.setVisible(tk.get("case_found") is False)
        at = tk.get("appointment_at")
        self.appointment.setText(t("waiting.appointment", time=f"{at.astimezone(JST):%H:%M}") if at else "")
        self.appointment.setVisible(at is not None)
        self.hint.setText(t("waiting.hint"))
        self.cancel.set_text(t("waiting.cancel"))
        self.callback.set_text(t("callback.offer"))
        self.callback.setVisible(self.ctx.port.callback.offered())

    def clear(self) -> None:
        self.ticket = {}
        self.cancel.setEnabled(True)
        self.retranslate()

    def focus_order(self) -> list[QWidget]:
        return [self.cancel, self.callback]


class NoSpecialistPage(Page):
    name = "nospec"

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.title = Label("title", center=True)
        self.service = Label("lead", center=True)
        self.hours = Label("big", center=True)
        self.hours.setObjectName("nospec_hours")
        self.lead = Label("lead", center=True)
        self.other = Button(kind="primary")
        self.home = Button()
        self.callback = Button(kind="primary")  # 「折り返し電話」 (kiosk/callback_flow.py)
        self.callback.setObjectName("nospec_callback")
        self.other.clicked.connect(self.ctx.port.go_back)
        self.home.clicked.connect(self.ctx.port.reset)
        self.callback.clicked.connect(lambda: self.ctx.run(self.ctx.port.callback.open()))
        self.box.addStretch(1)
        for w in (self.title, self.service, self.hours, self.lead):
            self.box.addWidget(w)
        self.box.addLayout(hbox(self.callback, stretch_ends=True))
        self.box.addStretch(1)
        self.box.addLayout(hbox(self.home, self.other, stretch_ends=True))
        self.info: dict[str, Any] = {}

    def set_info(self, info: dict[str, Any]) -> None:
        self.info = dict(info)
        self.retranslate()

    def retranslate(self) -> None:
        t = self.ctx.t
        self.title.setText(t("nospec.title"))
        code = self.info.get("service_code")
        svc = next((s for s in self.ctx.port.services if s.code == code), None)
        self.service.setText(service_name(svc, self.ctx.language) if svc else "")
        hours = svc.text(self.ctx.language).hours if svc is not None and svc.texts else None
        hours = hours or (self.info.get("hours_ja") if self.ctx.japanese else self.info.get("hours_en"))
        self.hours.setText(t("nospec.hours", hours=hours) if hours else t("nospec.hours_unknown"))
        self.lead.setText(t("nospec.lead"))
        self.other.set_text(t("nospec.other"))
        self.home.set_text(t("nospec.home"))
        self.callback.set_text(t("callback.offer_nospec"))
        self.callback.setVisible(bool(self.info))

    def clear(self) -> None:
        self.info = {}
        self.retranslate()

    def focus_order(self) -> list[QWidget]:
        return [self.callback, self.other, self.home]


class FeedbackPage(Page):
    name = "feedback"

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self._cut_off_key = "feedback.cut_off"
        self.cut_off = Label("banner", center=True)  # the call ended because the connection failed
        self.cut_off.setObjectName("feedback_cut_off")
        self.cut_off.hide()
        self.title = Label("title", center=True)
        self.optional = Label("lead", center=True)
        self.faces = [FaceButton(level) for level in range(1, 6)]
        self.face_group = QButtonGroup(self)
        row = QHBoxLayout()
        row.setSpacing(16)
        for f in self.faces:
            f.setObjectName(f"face_{f.level}")
            self.face_group.addButton(f, f.level)
            row.addWidget(f)
        self.faces_row = row
        self.trip = Label("title", center=True)
        self.trip_yes = Button(checkable=True)
        self.trip_no = Button(checkable=True)
        self.trip_yes.setObjectName("trip_yes")
        self.trip_no.setObjectName("trip_no")
        self.trip_yes.toggled.connect(lambda on: self._only(self.trip_yes, on))
        self.trip_no.toggled.connect(lambda on: self._only(self.trip_no, on))
        self.skip = Button()
        self.send = Button(kind="primary")
        self.send.setObjectName("feedback_send")
        self.send.setEnabled(False)
        self.face_group.idToggled.connect(lambda _id, _on: self.send.setEnabled(self.rating() is not None))
        self.send.clicked.connect(self._send)
        self.skip.clicked.connect(self.ctx.port.reset)
        self.box.addWidget(self.cut_off)
        self.box.addWidget(self.title)
        self.box.addWidget(self.optional)
        self.box.addLayout(row)
        self.box.addStretch(1)
        self.box.addWidget(self.trip)
        self.box.addLayout(hbox(self.trip_yes, self.trip_no, stretch_ends=True))
        self.box.addStretch(1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.skip)
        bottom.addStretch(1)
        bottom.addWidget(self.send)
        self.box.addLayout(bottom)

    def _only(self, chosen: Button, on: bool) -> None:
        """Yes and No exclude each other, and a second press takes the answer back (it is optional)."""
        if on:
            other = self.trip_no if chosen is self.trip_yes else self.trip_yes
            other.setChecked(False)

    def rating(self) -> int | None:
        checked = self.face_group.checkedId()
        return checked if checked > 0 else None

    def saved_trip(self) -> bool | None:
        return True if self.trip_yes.isChecked() else False if self.trip_no.isChecked() else None

    def _send(self) -> None:
        rating = self.rating()
        if rating is None:
            return
        self.send.setEnabled(False)
        self.ctx.run(self.ctx.port.submit_feedback(rating, self.saved_trip()))

    def set_cut_off(self, cut_off: bool, media_error: str | None = None) -> None:
        """``media_error`` ("turn_auth" / "turn_unreachable"): the call could not connect at all, and why."""
        self._cut_off_key = f"feedback.cut_off.{media_error}" if cut_off and media_error else "feedback.cut_off"
        self.cut_off.setText(self.ctx.t(self._cut_off_key))
        self.cut_off.setVisible(cut_off)

    def retranslate(self) -> None:
        t = self.ctx.t
        self.cut_off.setText(t(self._cut_off_key))
        self.title.setText(t("feedback.title"))
        self.optional.setText(t("feedback.optional"))
        for f in self.faces:
            f.set_text(t(f"feedback.face{f.level}"))
        self.trip.setText(t("feedback.trip"))
        self.trip_yes.set_text(t("feedback.trip_yes"))
        self.trip_no.set_text(t("feedback.trip_no"))
        self.skip.set_text(t("feedback.skip"))
        self.send.set_text(t("feedback.send"))

    def clear(self) -> None:
        self.face_group.setExclusive(False)
        for f in self.faces:
            f.setChecked(False)
        self.face_group.setExclusive(True)
        self.trip_yes.setChecked(False)
        self.trip_no.setChecked(False)
        self.send.setEnabled(False)
        self.cut_off.hide()

    def apply_metrics(self, m: Metrics) -> None:
        super().apply_metrics(m)
        for f in self.faces:
            f.set_size(m.mm(22))
        for b in (self.trip_yes, self.trip_no):
            b.setMinimumWidth(m.mm(45))
        self.faces_row.setSpacing(m.mm(3))

    def focus_order(self) -> list[QWidget]:
        return [*self.faces, self.trip_yes, self.trip_no, self.send, self.skip]

