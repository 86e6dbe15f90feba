"""The callback (折り返し電話) part of the resident's journey, no widgets (issue 12 item 4).

Offered when nobody is on duty for the service (``no_specialist``) or when the wait the server estimates reaches
``callback_offer_after_s``. The resident types a number on the keypad and picks a time band the server offers
(``callback.bands``); ``callback.create`` records it — giving up the waiting ticket in the same server step, so a
refusal (a band no longer offered, the server away) loses nothing: the resident is still in the queue.

Screens: ``callback`` (number, then band) and ``callback_done``; both are cleared by the inactivity reset, except
that a resident who still holds a place in the queue goes back to the waiting screen instead. Events:
``callback`` (``bands``; ``problem``: why a number or band was refused), ``callback_done`` (``band``, ``phone``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from signaling.client import NotConnected, RequestFailed
from signaling.protocol.errors import ErrorCode
from signaling.protocol.messages import CallbackBands, CallbackCreate
from signaling.protocol.models import CallbackBand, CallbackBandRef
from signaling.protocol.phone import normalise, phone_problem
from signaling.protocol.replies import CallbackBandList, CallbackCreated

if TYPE_CHECKING:
    from kiosk.controller import KioskController

SCREENS = ("callback", "callback_done")


class CallbackFlow:
    def __init__(self, ctl: KioskController) -> None:
        self.ctl = ctl
        self.bands: list[CallbackBand] = []
        self.done: CallbackCreated | None = None
        self.phone = ""  # as typed, until the privacy reset

    def offered(self) -> bool:
        """The kiosk offers a callback now: nobody on duty for the chosen service, or a long wait."""
        v, ctl = self.ctl.visit, self.ctl
        if ctl.screen == "no_specialist" and v.no_specialist is not None:
            return True
        return (ctl.screen == "waiting" and v.ticket_state == "waiting" and v.estimated_wait_s is not None
                and v.estimated_wait_s >= ctl.settings.callback_offer_after_s)

    async def open(self) -> bool:
        """The resident tapped 「折り返し電話」: fetch the bands and show the keypad."""
        ctl = self.ctl
        ctl.touch()
        code = ctl.visit.service_code
        if code is None:
            return False
        try:
            reply = await ctl.client.ask(CallbackBands(service_code=code))
        except (RequestFailed, NotConnected) as exc:
            ctl.emit("error", {"code": getattr(exc, "code", "offline"), "message": str(exc)})
            return False
        assert isinstance(reply, CallbackBandList)
        self.bands, self.done, self.phone = list(reply.bands), None, ""
        ctl.set_screen("callback")
        ctl.emit("callback", {"bands": list(self.bands), "problem": None if self.bands else "no_bands"})
        return True

    def check_number(self, typed: str) -> str | None:
        """Why the number cannot be called back (``too_short`` …, :mod:`signaling.protocol.phone`), or None."""
        self.ctl.touch()
        self.phone = normalise(typed)
        return phone_problem(typed)

    async def request(self, typed: str, band: CallbackBand) -> str | None:
        """Ask for the callback. None when recorded; else why not: a phone problem, ``band_gone`` (the bands are
        refreshed and sent again), ``offline`` or ``refused``. A refusal keeps the resident's place."""
        ctl = self.ctl
        problem = self.check_number(typed)
        if problem is not None:
            ctl.emit("callback", {"bands": list(self.bands), "problem": problem})
            return problem
        v = ctl.visit
        ticket = v.ticket_id if v.ticket_state in ("waiting", "offered") else None
        msg = CallbackCreate(service_code=v.service_code or "", phone=self.phone,
                             band=CallbackBandRef(day=band.day, part=band.part), language=ctl.wire_language,
                             ticket_id=ticket)
        try:
            reply = await ctl.client.ask(msg)
        except RequestFailed as exc:
            why = "refused"
            if exc.code == ErrorCode.INVALID_MESSAGE and "bands" in exc.details:
                self.bands = [CallbackBand.model_validate(b) for b in exc.details["bands"]]
                why = "band_gone"
            ctl.emit("callback", {"bands": list(self.bands), "problem": why})
            return why
        except NotConnected:
            ctl.emit("callback", {"bands": list(self.bands), "problem": "offline"})
            return "offline"
        assert isinstance(reply, CallbackCreated)
        self.done = reply
        if reply.ticket_cancelled is not None:  # no longer in the queue: its "cancelled" push is not a reset
            v.ticket_id, v.ticket_state, v.position = None, None, None
            ctl.countdown.clear()
        ctl.set_screen("callback_done")
        ctl.emit("callback_done", {"band": reply.band, "phone": self.phone})
        return None

    def close(self) -> None:
        """Back from the keypad: to the waiting screen while a place is kept, else to "nobody on duty"."""
        ctl = self.ctl
        ctl.touch()
        self.phone = ""
        if ctl.visit.ticket_id is not None and ctl.visit.ticket_state in ("waiting", "offered"):
            ctl.set_screen("waiting")
        elif ctl.visit.no_specialist is not None:
            ctl.set_screen("no_specialist")
        else:
            ctl.reset()

    def forget(self) -> None:
        """The privacy reset."""
        self.bands, self.done, self.phone = [], None, ""

    def payload(self) -> dict[str, Any]:
        return {"bands": list(self.bands), "phone": self.phone}
