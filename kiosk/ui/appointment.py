"""「予約の方」 (issue 12 item 3): the reservation number on a large keypad, then the appointment's time and service to
confirm. Every string from the catalog; why a number was not taken is said in words (kiosk/appointment_flow.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QVBoxLayout, QWidget

from kiosk.ui.digit_pad import DigitPad
from kiosk.ui.pages import Page, service_name
from kiosk.ui.port import UiContext
from kiosk.ui.widgets import Button, Label, hbox
from signaling.protocol.models import JST, RESERVATION_DIGITS
from signaling.protocol.replies import AppointmentFound


def clock_time(at: datetime) -> str:
    return f"{at.astimezone(JST):%H:%M}"


def problem_text(ctx: UiContext, problem: str, details: dict[str, Any]) -> str:
    params: dict[str, Any] = {}
    if details.get("starts_at"):
        params["time"] = clock_time(datetime.fromisoformat(str(details["starts_at"])))
    if details.get("day"):
        d = date.fromisoformat(str(details["day"]))
        params["date"] = ctx.t("appointment.date", year=d.year, month=d.month, day=d.day)
    if problem == "other_branch":
        params["branch"] = details.get("branch" if ctx.language == "ja" else "branch_en") or details.get("branch", "")
    key = f"appointment.problem.{problem}"
    if ctx.t(key) == key:  # a reason this kiosk does not know yet (a newer server)
        key = "appointment.problem.refused"
    try:
        return ctx.t(key, **params)
    except (KeyError, IndexError):
        return ctx.t("appointment.problem.refused")


class AppointmentPage(Page):
    name = "appointment"

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.problem: str | None = None
        self.details: dict[str, Any] = {}
        self.busy = False
        self.title = Label("title", center=True)
        self.lead = Label("lead", center=True)
        self.field = QLineEdit()
        self.field.setObjectName("appointment_number")
        self.error = Label("bad", center=True)
        self.error.setObjectName("appointment_error")
        self.pad = DigitPad(self.field, "appointment", RESERVATION_DIGITS)
        self.pad.edited.connect(self._edited)
        self.back = Button()
        self.back.setObjectName("appointment_back")
        self.back.clicked.connect(self.ctx.port.appointment.close)
        self.next = Button(kind="primary")
        self.next.setObjectName("appointment_next")
        self.next.clicked.connect(self._next)
        entry = QWidget()
        left = QVBoxLayout(entry)
        left.setContentsMargins(0, 0, 0, 0)
        left.addStretch(1)
        left.addWidget(self.field)
        left.addWidget(self.error)
        left.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(entry, 1)
        row.addWidget(self.pad, 1)
        self.box.addWidget(self.title)
        self.box.addWidget(self.lead)
        self.box.addLayout(row, 1)
        self.box.addLayout(hbox(self.back, self.next, stretch_ends=True))
        ctx.bridge.fired.connect(self._on_event)

    def _on_event(self, name: str, data: dict[str, Any]) -> None:
        if name == "appointment":
            self.problem, self.details = data.get("problem"), dict(data.get("details") or {})
            self.busy = False
            self.retranslate()

    def _edited(self, _text: str) -> None:
        self.ctx.port.touch()
        if self.problem is not None:
            self.problem = None
            self.retranslate()

    def _next(self) -> None:
        if self.busy:
            return
        self.busy = True
        self.retranslate()
        self.ctx.run(self.ctx.port.appointment.lookup(self.field.text()), lambda _p: self._done())

    def _done(self) -> None:
        self.busy = False
        self.retranslate()

    def retranslate(self) -> None:
        t = self.ctx.t
        self.title.setText(t("appointment.title"))
        self.lead.setText(t("appointment.lead"))
        self.field.setAccessibleName(t("appointment.field"))
        self.field.setPlaceholderText(t("appointment.placeholder"))
        self.pad.label(t("appointment.clear"), t("appointment.backspace"))
        self.back.set_text(t("appointment.back"))
        self.next.set_text(t("appointment.checking" if self.busy else "appointment.next"))
        self.next.setEnabled(not self.busy)
        self.error.setText(problem_text(self.ctx, self.problem, self.details) if self.problem else "")
        self.error.setVisible(self.problem is not None)

    def clear(self) -> None:
        self.field.clear()
        self.problem, self.details, self.busy = None, {}, False
        self.retranslate()

    def on_show(self) -> None:
        self.pad.keys["1"].setFocus()

    def focus_order(self) -> list[QWidget]:
        return [*self.pad.buttons(), self.next, self.back]


class AppointmentConfirmPage(Page):
    name = "appointment_confirm"

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.found: AppointmentFound | None = None
        self.busy = False
        self.title = Label("title", center=True)
        self.time = Label("big", center=True)
        self.time.setObjectName("appointment_time")
        self.service = Label("title", center=True)
        self.service.setObjectName("appointment_service")
        self.branch = Label("lead", center=True)
        self.note = Label("banner", center=True)
        self.note.setObjectName("appointment_note")
        self.back = Button()
        self.back.setObjectName("appointment_confirm_back")
        self.back.clicked.connect(self.ctx.port.appointment.close)
        self.ok = Button(kind="primary")
        self.ok.setObjectName("appointment_ok")
        self.ok.clicked.connect(self._ok)
        self.box.addStretch(1)
        for w in (self.title, self.time, self.service, self.branch, self.note):
            self.box.addWidget(w)
        self.box.addStretch(1)
        self.box.addLayout(hbox(self.back, self.ok, stretch_ends=True))
        ctx.bridge.fired.connect(self._on_event)

    def _on_event(self, name: str, data: dict[str, Any]) -> None:
        if name == "appointment":
            self.found = data.get("found")
            self.busy = False
            self.retranslate()

    def _ok(self) -> None:
        if self.busy:
            return
        self.busy = True
        self.ok.setEnabled(False)
        self.ctx.run(self.ctx.port.appointment.check_in(), lambda _p: self._done())

    def _done(self) -> None:
        self.busy = False
        self.ok.setEnabled(True)

    def retranslate(self) -> None:
        t, a = self.ctx.t, self.found
        self.title.setText(t("appointment_confirm.title"))
        svc = next((s for s in self.ctx.port.services if a is not None and s.code == a.service_code), None)
        self.time.setText(t("appointment_confirm.time", time=clock_time(a.starts_at), minutes=a.duration_min)
                          if a is not None else "")
        self.service.setText(t("appointment_confirm.service", service=service_name(svc, self.ctx.language))
                             if svc is not None else "")
        self.service.setVisible(svc is not None)
        self.branch.setText(t("appointment_confirm.branch", branch=a.branch) if a is not None else "")
        self.branch.setVisible(a is not None and self.ctx.language == "ja")  # the branch name is Japanese data
        self.note.setText(t("appointment_confirm.early" if a is not None and a.early else "appointment_confirm.now"))
        self.ok.set_text(t("appointment_confirm.ok"))
        self.back.set_text(t("appointment_confirm.back"))

    def clear(self) -> None:
        self.found, self.busy = None, False
        self.ok.setEnabled(True)
        self.retranslate()

    def focus_order(self) -> list[QWidget]:
        return [self.ok, self.back]
