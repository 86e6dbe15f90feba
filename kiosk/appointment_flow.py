"""「予約の方」 on the kiosk (issue 12 item 3), no widgets: the resident with an appointment types its reservation
number (予約番号) on the keypad, sees the appointment's time and service, and checks in; the kiosk then shows the
waiting screen as for any ticket (the server offers it at its time, ahead of walk-ins).

Screens: ``appointment`` (the keypad) and ``appointment_confirm``; both are cleared by the inactivity reset.
Events: ``appointment`` with ``found`` (the appointment, or None) and ``problem``: why the number was not taken —
``format`` (not six digits; nothing sent), ``offline``, ``refused``, or the server's reason (``unknown``,
``other_day``, ``other_branch``, ``too_early``, ``too_late``, ``cancelled``, ``closed``, ``checked_in``), with
``details`` (the day, the branch, the time) for the words.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from signaling.client import NotConnected, RequestFailed
from signaling.protocol.errors import ErrorCode
from signaling.protocol.messages import AppointmentCheckIn, AppointmentLookup
from signaling.protocol.models import RESERVATION_DIGITS
from signaling.protocol.replies import AppointmentCheckedIn, AppointmentFound

if TYPE_CHECKING:
    from kiosk.controller import KioskController

SCREENS = ("appointment", "appointment_confirm")
NUMBER = re.compile(rf"^[0-9]{{{RESERVATION_DIGITS}}}$")


class AppointmentFlow:
    def __init__(self, ctl: KioskController) -> None:
        self.ctl = ctl
        self.number = ""
        self.found: AppointmentFound | None = None
        self.problem: str | None = None
        self.details: dict[str, Any] = {}

    def open(self) -> None:
        """The resident tapped 「予約の方」: the keypad."""
        self.ctl.touch()
        self.forget()
        self.ctl.set_screen("appointment")
        self._emit()

    async def lookup(self, typed: str) -> str | None:
        """Look the number up; None when found (the confirmation screen shows), else why not."""
        ctl = self.ctl
        ctl.touch()
        self.number, self.found = typed.strip(), None
        if not NUMBER.match(self.number):
            return self._refused("format")
        try:
            reply = await ctl.client.ask(AppointmentLookup(number=self.number))
        except RequestFailed as exc:
            return self._refused(str(exc.details.get("reason") or "refused"), exc.details)
        except NotConnected:
            return self._refused("offline")
        assert isinstance(reply, AppointmentFound)
        self.found, self.problem, self.details = reply, None, {}
        ctl.set_screen("appointment_confirm")
        self._emit()
        return None

    async def check_in(self) -> str | None:
        """「受付する」: the ticket; the waiting screen. None when checked in, else why not (back on the keypad)."""
        ctl = self.ctl
        ctl.touch()
        if self.found is None:
            return self._refused("format")
        language = ctl.language if ctl.language in ("ja", "en") else "en"
        try:
            reply = await ctl.client.ask(AppointmentCheckIn(number=self.number, language=language))  # type: ignore[arg-type]
        except RequestFailed as exc:
            if exc.code == ErrorCode.CONFLICT and "ticket_id" in exc.details:  # this kiosk's ticket already
                ctl.visit.ticket_id = int(exc.details["ticket_id"])
                ctl.set_screen("waiting")
                return None
            ctl.set_screen("appointment")
            return self._refused(str(exc.details.get("reason") or "refused"), exc.details)
        except NotConnected:
            return self._refused("offline")
        assert isinstance(reply, AppointmentCheckedIn)
        ctl.checked_in(reply)
        return None

    def close(self) -> None:
        """Back from the confirmation to the keypad; from the keypad to the welcome screen (cleared)."""
        ctl = self.ctl
        ctl.touch()
        if ctl.screen == "appointment_confirm":
            self.found = None
            ctl.set_screen("appointment")
            self._emit()
        else:
            ctl.reset()

    def forget(self) -> None:
        """The privacy reset."""
        self.number, self.found, self.problem, self.details = "", None, None, {}

    def _refused(self, problem: str, details: dict[str, Any] | None = None) -> str:
        self.problem, self.details = problem, dict(details or {})
        self._emit()
        return problem

    def _emit(self) -> None:
        self.ctl.emit("appointment", self.payload())

    def payload(self) -> dict[str, Any]:
        return {"found": self.found, "problem": self.problem, "details": dict(self.details), "number": self.number}
