"""What ``ack.data`` holds for each request type: one model per reply shape.

The envelope stays ``{"type": "ack", "ref": ..., "data": {...}}``; ``data`` is
the reply model of the request named by ``ref`` (``REPLY_OF[request.type]``).
Clients parse it with :func:`parse_reply` instead of reading a dict. Replies,
like every server → client shape, ignore unknown fields: a newer server may
add some.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from signaling.protocol.forms import FormDef
from signaling.protocol.models import (
    CallbackBand,
    CallbackItem,
    EndReason,
    GuestState,
    Lenient,
    Need,
    StaffStatus,
)


class Reply(Lenient):
    """Base of every reply (an empty reply is ``{}``)."""


class Empty(Reply):
    pass


class TicketCreated(Reply):
    ticket_id: int
    position: int | None = None          # 1 = next; None only while it cannot be placed
    estimated_wait_s: float | None = None  # seconds until a specialist is expected to answer
    # needs that require a skill nobody on duty for this service has now (sign language): the resident is
    # served all the same, in written conversation (筆談), and the specialist may invite an interpreter
    unmet_needs: list[Need] = Field(default_factory=list)
    # 1.8: the case number sent with the ticket was matched (True) or not (False: served as a walk-in); None: none sent
    case_found: bool | None = None


class TicketRef(Reply):
    ticket_id: int


class SessionRef(Reply):
    session_id: int


class Accepted(Reply):
    session_id: int
    ticket_id: int


class PriorityChanged(Reply):
    ticket_id: int
    priority: int


class StatusChanged(Reply):
    status: StaffStatus


class InviteAnswered(Reply):
    session_id: int
    joined: bool = True


class MediaRecorded(Reply):
    ended: EndReason | None = None  # set when this report ended the call


class GuestInvited(Reply):
    """The one-time link: ``path`` on the server's own origin (``/g/<token>``); the token is shown only here."""

    invitation_id: int
    path: str
    url: str = ""  # the whole link, when the server knows the address guests reach it at (else: console's + path)
    expires_at: str  # ISO 8601, UTC
    expires_in_s: float


class GuestDecided(Reply):
    invitation_id: int
    state: GuestState


class CallbackBandList(Reply):
    """The time bands a callback may be asked for now, earliest first (empty: none within the callback hours)."""

    bands: list[CallbackBand] = Field(default_factory=list)


class CallbackCreated(Reply):
    callback_id: int
    band: CallbackBand
    ticket_cancelled: int | None = None  # the waiting ticket given up for it, if any


class CallbackTasks(Reply):
    items: list[CallbackItem] = Field(default_factory=list)


class CallbackTask(Reply):
    item: CallbackItem


class BranchCallPlaced(Reply):
    """``recipients``: staff of the branch's municipality online now who were told (0: nobody could be told —
    the kiosk says so and asks the resident to speak to the counter). ``repeated``: the kiosk's call was still
    open; nobody was told again."""

    call_id: int
    recipients: int
    repeated: bool = False


class BranchCallAcked(Reply):
    call_id: int


class FormDefs(Reply):
    """The forms of the session's service (1.12), in their files' order; empty when the service has none."""

    forms: list[FormDef] = Field(default_factory=list)


class FormSent(Reply):
    """The form is on the kiosk's screen: this revision, with this content hash, waits for the resident."""

    confirmation_id: int
    revision: int
    content_hash: str


class FormAnswered(Reply):
    confirmation_id: int
    state: Literal["confirmed", "change_requested"]
    at: datetime
class AppointmentFound(Reply):
    """1.13: the appointment a reservation number names at this kiosk, for the resident to confirm. ``early``: it
    is more than a moment before its time (checked in, the resident waits until ``starts_at``)."""

    appointment_id: int
    service_code: str
    starts_at: datetime
    duration_min: int
    branch: str
    early: bool = False


class AppointmentCheckedIn(Reply):
    """1.13: checked in; ``ticket_id`` is the resident's place, offered at ``starts_at`` ahead of walk-ins."""

    appointment_id: int
    ticket_id: int
    service_code: str
    starts_at: datetime
    position: int | None = None
    estimated_wait_s: float | None = None


REPLY_OF: dict[str, type[Reply]] = {
    "ticket.create": TicketCreated,
    "ticket.cancel": TicketRef,
    "kiosk.state": Empty,
    "kiosk.health": Empty,
    "feedback.submit": SessionRef,
    "status.set": StatusChanged,
    "ticket.priority": PriorityChanged,
    "offer.accept": Accepted,
    "offer.decline": TicketRef,
    "session.end": SessionRef,
    "wrapup.done": SessionRef,
    "transfer.request": TicketRef,
    "invite.request": SessionRef,
    "invite.answer": InviteAnswered,
    "session.join": SessionRef,
    "session.leave": SessionRef,
    "rtc.offer": Empty,
    "rtc.answer": Empty,
    "call.media": MediaRecorded,
    "call.stats": Empty,
    "guest.invite": GuestInvited,
    "guest.admit": GuestDecided,
    "guest.consent": GuestDecided,
    "callback.bands": CallbackBandList,
    "callback.create": CallbackCreated,
    "callback.list": CallbackTasks,
    "callback.claim": CallbackTask,
    "callback.outcome": CallbackTask,
    "branch.call": BranchCallPlaced,
    "branch.ack": BranchCallAcked,
    "form.list": FormDefs,
    "form.send": FormSent,
    "form.answer": FormAnswered,
    "appointment.lookup": AppointmentFound,
    "appointment.check_in": AppointmentCheckedIn,
}


def parse_reply(request_type: str, data: dict[str, Any]) -> Reply:
    """The typed reply to a request of ``request_type`` (raises pydantic's ValidationError if malformed)."""
    return REPLY_OF.get(request_type, Empty).model_validate(data)


def reply_schemas() -> dict[str, Any]:
    return {typ: model.model_json_schema() for typ, model in sorted(REPLY_OF.items())}


__all__ = [
    "REPLY_OF",
    "Accepted",
    "AppointmentCheckedIn",
    "AppointmentFound",
    "BaseModel",
    "BranchCallAcked",
    "BranchCallPlaced",
    "CallbackBandList",
    "CallbackCreated",
    "CallbackTask",
    "CallbackTasks",
    "Empty",
    "FormAnswered",
    "FormDefs",
    "FormSent",
    "GuestDecided",
    "GuestInvited",
    "InviteAnswered",
    "MediaRecorded",
    "PriorityChanged",
    "Reply",
    "SessionRef",
    "StatusChanged",
    "TicketCreated",
    "TicketRef",
    "parse_reply",
    "reply_schemas",
]
