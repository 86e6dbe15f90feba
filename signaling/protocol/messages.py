"""Every message on ``/ws``, one pydantic model per ``type``.

``ClientMessage`` is what kiosks and consoles send; ``ServerMessage`` is what
the hub sends. Both are discriminated unions on the ``type`` field. Every
client request carries an ``id``; the server answers with ``ack`` or
``error`` whose ``ref`` names it. Pushes from the server carry their own id.

Peers in a call are named ``"kiosk:<id>"``, ``"staff:<id>"`` or ``"guest:<invitation id>"`` (a browser guest
invited by link: it may send only ``ping``, ``rtc.offer``/``rtc.answer`` and ``session.leave``, for its one
call — ``GUEST_MAY``).
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, field_validator

from signaling.protocol.case_number import case_number
from signaling.protocol.errors import ErrorCode
from signaling.protocol.forms import MAX_FIELDS, MAX_TEXT, FormContent, Key
from signaling.protocol.models import (
    AppointmentItem,
    CallbackBandRef,
    CallbackItem,
    CallbackOutcome,
    CallStats,
    DeviceHealth,
    EndReason,
    GuestRole,
    GuestState,
    IceServer,
    IceTransportPolicy,
    Language,
    Lenient,
    MediaError,
    Need,
    Participant,
    Priority,
    QueueItem,
    ReservationNumber,
    Role,
    ServiceInfo,
    StaffState,
    StaffStatus,
    Strict,
    TicketState,
    WireLanguage,
)
from signaling.protocol.phone import japanese_phone
from signaling.protocol.version import PROTOCOL_VERSION

_ids = itertools.count(1)
MsgId = Annotated[str, Field(min_length=1, max_length=64)]
Sdp = Annotated[str, Field(min_length=1, max_length=60_000)]
KioskScreen = Literal["idle", "choosing", "needs", "waiting", "in_call", "feedback", "offline", "selfcheck"]


def new_id(prefix: str = "m") -> str:
    return f"{prefix}{next(_ids)}"


class Msg(Strict):
    """A client → server frame: unknown fields are refused."""

    id: MsgId = Field(default_factory=new_id)


class ServerMsg(Lenient):
    """A server → client frame: clients ignore fields they do not know (a newer server may add some)."""

    id: MsgId = Field(default_factory=new_id)


# ---------------------------------------------------------------- client -> server
class Auth(Msg):
    type: Literal["auth"] = "auth"
    token: Annotated[str, Field(min_length=1, max_length=4096)]
    resume_token: Annotated[str, Field(max_length=256)] | None = None
    app_version: Annotated[str, Field(max_length=64)] = ""


class Ping(Msg):
    type: Literal["ping"] = "ping"


class TicketCreate(Msg):
    """Kiosk: a resident asks for a service. ``case_number`` (1.8): the 相談番号 the resident typed, with or
    without the municipality's prefix (``KIT-2026-0042`` or ``2026-0042``; signaling/protocol/case_number.py);
    an unknown number never refuses the ticket (the reply's ``case_found`` says whether it was matched)."""

    type: Literal["ticket.create"] = "ticket.create"
    service_code: Annotated[str, Field(min_length=1, max_length=64)]
    needs: list[Need] = Field(default_factory=list, max_length=8)
    language: WireLanguage = "ja"  # 1.14: any code the server knows (was ja/en)
    case_number: Annotated[str, Field(min_length=1, max_length=24)] | None = None

    @field_validator("case_number")
    @classmethod
    def _case_number(cls, number: str | None) -> str | None:
        return None if number is None else case_number(number)


class TicketCancel(Msg):
    type: Literal["ticket.cancel"] = "ticket.cancel"
    ticket_id: int


class KioskState(Msg):
    """Kiosk: which screen it shows (metadata for the IT monitor)."""

    type: Literal["kiosk.state"] = "kiosk.state"
    screen: KioskScreen


class FeedbackSubmit(Msg):
    type: Literal["feedback.submit"] = "feedback.submit"
    session_id: int
    rating: Annotated[int, Field(ge=1, le=5)]
    saved_trip: bool | None = None


class StatusSet(Msg):
    """Staff: go available or away."""

    type: Literal["status.set"] = "status.set"
    status: Literal["available", "away"]
    reason: Annotated[str, Field(max_length=64)] = ""


class TicketPriority(Msg):
    """Specialist (a ticket of their queue) or supervisor (any): set a waiting ticket's priority. A higher
    priority is answered first; the queue and every kiosk's estimate follow at once. Audited."""

    type: Literal["ticket.priority"] = "ticket.priority"
    ticket_id: int
    priority: Priority


class OfferAccept(Msg):
    type: Literal["offer.accept"] = "offer.accept"
    ticket_id: int


class OfferDecline(Msg):
    type: Literal["offer.decline"] = "offer.decline"
    ticket_id: int


class SessionEnd(Msg):
    """Either side hangs up. Staff then enter wrap-up. ``reason``: only from a kiosk that ended the call on its
    own while the server was away, saying why (``staff_hangup``: it heard the specialist's ``bye``)."""

    type: Literal["session.end"] = "session.end"
    session_id: int
    reason: Literal["resident_hangup", "staff_hangup"] | None = None


class WrapupDone(Msg):
    """Staff: wrap-up finished (needs a saved note with a category)."""

    type: Literal["wrapup.done"] = "wrapup.done"
    session_id: int


class TransferRequest(Msg):
    """Staff: hand the resident to another service or a named specialist."""

    type: Literal["transfer.request"] = "transfer.request"
    session_id: int
    service_code: Annotated[str, Field(max_length=64)] | None = None
    staff_id: int | None = None


class InviteRequest(Msg):
    """Staff: bring a third party into the call."""

    type: Literal["invite.request"] = "invite.request"
    session_id: int
    staff_id: int


class InviteAnswer(Msg):
    type: Literal["invite.answer"] = "invite.answer"
    session_id: int
    accept: bool


class SessionJoin(Msg):
    """Supervisor: join a live call silently (listen only) for coaching."""

    type: Literal["session.join"] = "session.join"
    session_id: int
    mode: Literal["listen"] = "listen"


class SessionLeave(Msg):
    """Third party or supervisor: leave the call; it goes on."""

    type: Literal["session.leave"] = "session.leave"
    session_id: int


class GuestInvite(Msg):
    """Specialist: invite a guest (family, supporter, guardian, interpreter) into this call by a one-time link.
    The reply (``GuestInvited``) carries the link's token once; the server keeps only its hash."""

    type: Literal["guest.invite"] = "guest.invite"
    session_id: int
    role: GuestRole
    display_name: Annotated[str, Field(min_length=1, max_length=64)]


class GuestAdmit(Msg):
    """Specialist: let a guest waiting in the lobby in (the resident is asked next) or refuse them."""

    type: Literal["guest.admit"] = "guest.admit"
    invitation_id: int
    admit: bool


class GuestConsent(Msg):
    """Kiosk: the resident agrees (or not) that the announced guest joins the call; ``agree=False`` for a guest
    already in the call takes the consent back and sends them out (1.15)."""

    type: Literal["guest.consent"] = "guest.consent"
    invitation_id: int
    agree: bool


class RtcOffer(Msg):
    type: Literal["rtc.offer"] = "rtc.offer"
    session_id: int
    to: Annotated[str, Field(max_length=64)]
    sdp: Sdp
    purpose: Literal["call", "whisper"] = "call"


class RtcAnswer(Msg):
    type: Literal["rtc.answer"] = "rtc.answer"
    session_id: int
    to: Annotated[str, Field(max_length=64)]
    sdp: Sdp
    purpose: Literal["call", "whisper"] = "call"


class CallMedia(Msg):
    """Either side: the media state of its peer connection."""

    type: Literal["call.media"] = "call.media"
    session_id: int
    state: Literal["connected", "reconnecting", "failed"]
    setup_ms: Annotated[float, Field(ge=0, le=600_000)] | None = None
    error: MediaError | None = None  # with "failed": why, when the client knows (e.g. TURN refused it)


class CallStatsReport(Msg):
    type: Literal["call.stats"] = "call.stats"
    session_id: int
    stats: CallStats


class KioskHealthReport(Msg):
    """Kiosk: the state of its devices, its link to the server and its software version, at start and every
    ``health_interval_s`` (metadata for the IT monitor: device names and figures, never images or sound). Each
    device at most once."""

    type: Literal["kiosk.health"] = "kiosk.health"
    devices: list[DeviceHealth] = Field(max_length=5)
    rtt_ms: Annotated[float, Field(ge=0, le=60_000)] | None = None  # signaling ping round trip
    app_version: Annotated[str, Field(min_length=1, max_length=64)]

    @field_validator("devices")
    @classmethod
    def _once_each(cls, devices: list[DeviceHealth]) -> list[DeviceHealth]:
        names = [d.device for d in devices]
        if len(set(names)) != len(names):
            raise ValueError("each device at most once")
        return devices


class CallbackBands(Msg):
    """Kiosk: which time bands a callback for this service may be asked for now (reply ``CallbackBandList``)."""

    type: Literal["callback.bands"] = "callback.bands"
    service_code: Annotated[str, Field(min_length=1, max_length=64)]


class CallbackCreate(Msg):
    """Kiosk: the resident asks to be phoned back (折り返し電話) at ``phone`` in ``band``, instead of waiting.
    ``phone``: a Japanese fixed (10 digits) or mobile (11 digits, 070/080/090) number; hyphens and spaces are
    dropped. ``ticket_id``: the kiosk's waiting ticket, cancelled in the same step (the resident leaves the queue
    only if the callback is recorded)."""

    type: Literal["callback.create"] = "callback.create"
    service_code: Annotated[str, Field(min_length=1, max_length=64)]
    phone: Annotated[str, Field(min_length=1, max_length=20)]
    band: CallbackBandRef
    language: WireLanguage = "ja"  # 1.14: any code the server knows (was ja/en)
    ticket_id: int | None = None

    @field_validator("phone")
    @classmethod
    def _japanese(cls, phone: str) -> str:
        return japanese_phone(phone)


class CallbackList(Msg):
    """Staff (specialist, supervisor): the open and claimed callback tasks they may handle."""

    type: Literal["callback.list"] = "callback.list"


class CallbackClaim(Msg):
    """Specialist or supervisor: take an open callback task (one conditional update: one winner). Audited."""

    type: Literal["callback.claim"] = "callback.claim"
    callback_id: int


class CallbackOutcomeSet(Msg):
    """The claimant: how the call went. ``no_answer`` puts the task back in the list for another try (up to the
    server's attempt limit); the others close it. ``note``: a short note for colleagues. Audited (not the note)."""

    type: Literal["callback.outcome"] = "callback.outcome"
    callback_id: int
    outcome: CallbackOutcome
    note: Annotated[str, Field(max_length=200)] = ""


class BranchCall(Msg):
    """Kiosk: the resident taps 「支所の職員を呼ぶ」 — call a person at the branch. The resident's place in the queue
    is not touched. One open call per kiosk (pressing again answers with the open one); a new call only
    ``branch_call_min_interval_s`` after the last. Audited."""

    type: Literal["branch.call"] = "branch.call"


class BranchAck(Msg):
    """Staff of the branch's municipality: "I am coming" for a branch call (the first one wins). Audited."""

    type: Literal["branch.ack"] = "branch.ack"
    call_id: int


FormInput = Annotated[str, Field(max_length=MAX_TEXT)] | Annotated[
    list[Annotated[str, Field(max_length=64)]], Field(max_length=MAX_FIELDS)]


class FormList(Msg):
    """Specialist, in a call: the forms of the call's service (signaling/protocol/forms.py) to fill (1.12)."""

    type: Literal["form.list"] = "form.list"
    session_id: int


class FormSend(Msg):
    """The session's specialist: 「確認をお願いする」 — show these values of form ``form_code`` on the resident's kiosk
    for confirmation (1.12). Sending the same form of the session again replaces what was shown (a new revision
    and content hash; a confirmation of the old one is refused). Checked against the form: ``invalid_message`` with
    ``details.problems`` ({field key: problem code}) when they do not fit. Audited (never the values)."""

    type: Literal["form.send"] = "form.send"
    session_id: int
    form_code: Key
    values: Annotated[dict[Key, FormInput], Field(max_length=MAX_FIELDS)]


class FormAnswer(Msg):
    """The session's kiosk: the resident's answer to the form it shows (1.12). ``content_hash``: the hash of the
    content shown (``form.show``); a form replaced meanwhile is refused (``conflict``, ``details.reason``
    ``stale``). ``answer`` ``confirm`` (「この内容でよい」) or ``change`` (「なおしてほしい」, with the fields marked
    「ここがちがう」 in ``changes`` and ``reason`` ``wrong``, or ``explain``: 「もう一度説明してほしい」). Audited."""

    type: Literal["form.answer"] = "form.answer"
    confirmation_id: int
    content_hash: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    answer: Literal["confirm", "change"]
    changes: Annotated[list[Key], Field(max_length=MAX_FIELDS)] = Field(default_factory=list)
    reason: Literal["wrong", "explain"] | None = None


class AppointmentLookup(Msg):
    """Kiosk (1.13): 「予約の方」 — the appointment this reservation number names, to show before checking in
    (reply ``AppointmentFound``). Refused with a ``details.reason`` the kiosk explains: ``unknown`` (not_found),
    ``other_branch`` (``branch``), ``other_day`` (``day``), ``too_early`` / ``too_late`` (``starts_at``),
    ``cancelled``, ``closed`` (served or released as a no-show), ``checked_in`` (conflict)."""

    type: Literal["appointment.lookup"] = "appointment.lookup"
    number: ReservationNumber


class AppointmentCheckIn(Msg):
    """Kiosk (1.13): check in; the reply (``AppointmentCheckedIn``) carries the ticket, offered at the appointment's
    time ahead of walk-ins. Refused as ``appointment.lookup`` is. Audited."""

    type: Literal["appointment.check_in"] = "appointment.check_in"
    number: ReservationNumber
    language: Literal["ja", "en"] = "ja"


ClientMessage = Annotated[
    Auth | Ping | TicketCreate | TicketCancel | KioskState | KioskHealthReport | FeedbackSubmit | StatusSet
    | TicketPriority
    | OfferAccept | OfferDecline | SessionEnd | WrapupDone | TransferRequest | InviteRequest
    | InviteAnswer | SessionJoin | SessionLeave | RtcOffer | RtcAnswer | CallMedia | CallStatsReport
    | GuestInvite | GuestAdmit | GuestConsent
    | CallbackBands | CallbackCreate | CallbackList | CallbackClaim | CallbackOutcomeSet | BranchCall | BranchAck
    | FormList | FormSend | FormAnswer
    | AppointmentLookup | AppointmentCheckIn,
    Field(discriminator="type"),
]


# ---------------------------------------------------------------- server -> client
class Welcome(ServerMsg):
    type: Literal["welcome"] = "welcome"
    ref: str
    protocol_version: str = PROTOCOL_VERSION
    role: Role
    principal_id: int
    peer: str
    display_name: str
    municipality: str = ""
    branch: str = ""
    ice_servers: list[IceServer] = Field(default_factory=list)
    ice_transport_policy: IceTransportPolicy = "all"  # "relay": use TURN-relayed candidates only
    resume_token: str
    services: list[ServiceInfo] = Field(default_factory=list)
    heartbeat_s: float = 10.0
    languages: list[str] = Field(default_factory=list)  # 1.14: the ticket languages this server accepts


class Ack(ServerMsg):
    type: Literal["ack"] = "ack"
    ref: str
    data: dict[str, Any] = Field(default_factory=dict)


class Error(ServerMsg):
    type: Literal["error"] = "error"
    ref: str | None = None
    code: ErrorCode
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class Pong(ServerMsg):
    type: Literal["pong"] = "pong"
    ref: str


class TicketUpdate(ServerMsg):
    """Kiosk: its ticket moved (position, wait estimate, state)."""

    type: Literal["ticket.update"] = "ticket.update"
    ticket_id: int
    state: TicketState
    service_code: str
    position: int | None = None
    estimated_wait_s: float | None = None
    reason: str = ""


class Offer(ServerMsg):
    """Staff: a ticket is offered to you; accept before ``expires_in_s``. ``needs`` and ``language`` are the
    resident's; ``unmet_needs``: the needs that require a skill you lack (sign language) — the call opens in
    written conversation (``written``) and you may invite an interpreter."""

    type: Literal["offer"] = "offer"
    ticket_id: int
    service_code: str
    branch: str
    municipality: str
    needs: list[Need] = Field(default_factory=list)
    language: Language = "ja"
    unmet_needs: list[Need] = Field(default_factory=list)
    written: bool = False
    waited_s: float
    expires_in_s: float
    transferred: bool = False
    case_number: str | None = None  # 1.8: the case the resident presented (its history: GET /api/cases/{number})


class OfferRevoked(ServerMsg):
    type: Literal["offer.revoked"] = "offer.revoked"
    ticket_id: int
    reason: Literal["timeout", "taken", "cancelled", "abandoned", "declined"]


class QueueSnapshot(ServerMsg):
    """Staff: the waiting tickets they may serve; supervisors also get every specialist."""

    type: Literal["queue.snapshot"] = "queue.snapshot"
    items: list[QueueItem]
    staff: list[StaffState] = Field(default_factory=list)


class StatusUpdate(ServerMsg):
    type: Literal["status"] = "status"
    status: StaffStatus
    reason: str = ""


class SessionStart(ServerMsg):
    """Both: a call begins. ``offer_to`` lists peers this client must send rtc.offer to. ``written``: open in
    written-conversation mode (筆談: asked for, or a required skill is missing — ``unmet_needs``)."""

    type: Literal["session.start"] = "session.start"
    session_id: int
    ticket_id: int
    service_code: str
    you: str
    participants: list[Participant]
    offer_to: list[str] = Field(default_factory=list)
    receive_only: bool = False
    branch: str = ""
    municipality: str = ""
    needs: list[Need] = Field(default_factory=list)
    language: Language = "ja"
    unmet_needs: list[Need] = Field(default_factory=list)
    written: bool = False
    # ICE servers for this call, TURN credentials minted for it (they outlive it by MADOGUCHI_TURN_TTL_S);
    # None: use the welcome's
    ice_servers: list[IceServer] | None = None


class ParticipantJoined(ServerMsg):
    type: Literal["participant.joined"] = "participant.joined"
    session_id: int
    participant: Participant


class ParticipantLeft(ServerMsg):
    type: Literal["participant.left"] = "participant.left"
    session_id: int
    peer: str


class InviteIncoming(ServerMsg):
    type: Literal["invite"] = "invite"
    session_id: int
    from_name: str
    service_code: str


class RtcOfferRelay(ServerMsg):
    type: Literal["rtc.offer"] = "rtc.offer"
    session_id: int
    sender: str
    sdp: Sdp
    purpose: Literal["call", "whisper"] = "call"


class RtcAnswerRelay(ServerMsg):
    type: Literal["rtc.answer"] = "rtc.answer"
    session_id: int
    sender: str
    sdp: Sdp
    purpose: Literal["call", "whisper"] = "call"


class GuestLobby(ServerMsg):
    """Specialist: a guest opened the link and waits in the lobby (``guest.admit`` lets them in or not)."""

    type: Literal["guest.lobby"] = "guest.lobby"
    session_id: int
    invitation_id: int
    display_name: str
    role: GuestRole


class GuestConsentRequest(ServerMsg):
    """Kiosk: announce 「○○（手話通訳）が参加します」 and ask the resident (``guest.consent``). No media of the
    guest reaches the kiosk before the resident agrees."""

    type: Literal["guest.consent_request"] = "guest.consent_request"
    session_id: int
    invitation_id: int
    display_name: str
    role: GuestRole


class GuestStateUpdate(ServerMsg):
    """Guest and specialist: where an invitation stands. ``by``: who refused (``staff`` or ``resident``)."""

    type: Literal["guest.state"] = "guest.state"
    session_id: int
    invitation_id: int
    state: GuestState
    by: Literal["staff", "resident"] | None = None
    display_name: str = ""
    role: GuestRole | None = None


class SessionEnded(ServerMsg):
    type: Literal["session.ended"] = "session.ended"
    session_id: int
    reason: EndReason
    wrap_up: bool = False
    media_error: MediaError | None = None  # media_failed: the cause a client reported, if any


class CallbackSnapshot(ServerMsg):
    """Staff: the callback tasks they may handle, after any change to them (created, claimed, outcome). Sent only
    to specialists and supervisors of the resident's municipality with the service (supervisors: any service)."""

    type: Literal["callback.snapshot"] = "callback.snapshot"
    items: list[CallbackItem]


class BranchCalled(ServerMsg):
    """Staff: a resident at a kiosk of your municipality's branch calls a person at the branch (``branch.ack``)."""

    type: Literal["branch.called"] = "branch.called"
    call_id: int
    kiosk_id: int
    branch: str
    municipality: str
    at: datetime


class BranchCallState(ServerMsg):
    """Kiosk and the staff who were called: the branch call was acknowledged (the kiosk shows 「職員が来ます」;
    the others' consoles put the notice away)."""

    type: Literal["branch.call_state"] = "branch.call_state"
    call_id: int
    state: Literal["acknowledged"] = "acknowledged"


class FormShow(ServerMsg):
    """To the session's kiosk: show this filled form in large text for the resident to confirm (1.12). A newer
    revision of the same confirmation replaces the one shown. ``content_hash`` = SHA-256 of the canonical JSON of
    ``content`` (signaling/protocol/forms.py), to be sent back with the answer."""

    type: Literal["form.show"] = "form.show"
    confirmation_id: int
    session_id: int
    revision: int
    content: FormContent
    content_hash: str


class FormState(ServerMsg):
    """To the specialist who sent the form: the resident's answer (1.12). ``confirmed``: with the time (the
    server's clock) and the kiosk; ``change_requested``: the fields marked 「ここがちがう」 and the reason."""

    type: Literal["form.state"] = "form.state"
    confirmation_id: int
    session_id: int
    form_code: str
    revision: int
    state: Literal["confirmed", "change_requested"]
    content_hash: str
    at: datetime
    kiosk_id: int
    changes: list[str] = Field(default_factory=list)
    reason: Literal["wrong", "explain"] | None = None
class AppointmentUpdate(ServerMsg):
    """Staff (1.13): an appointment of your municipality changed (booked, checked in, served, released as a no-show,
    cancelled). Sent to the connected specialists and supervisors of its municipality."""

    type: Literal["appointment.update"] = "appointment.update"
    item: AppointmentItem


ServerMessage = Annotated[
    Welcome | Ack | Error | Pong | TicketUpdate | Offer | OfferRevoked | QueueSnapshot | StatusUpdate
    | SessionStart | ParticipantJoined | ParticipantLeft | InviteIncoming | RtcOfferRelay
    | RtcAnswerRelay | SessionEnded | GuestLobby | GuestConsentRequest | GuestStateUpdate | CallbackSnapshot
    | BranchCalled | BranchCallState | FormShow | FormState | AppointmentUpdate,
    Field(discriminator="type"),
]

client_adapter: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
server_adapter: TypeAdapter[ServerMessage] = TypeAdapter(ServerMessage)

STAFF_ONLY = frozenset({
    "status.set", "ticket.priority", "offer.accept", "offer.decline", "wrapup.done", "transfer.request",
    "invite.request", "invite.answer", "session.join", "session.leave", "guest.invite", "guest.admit",
    "callback.list", "callback.claim", "callback.outcome", "branch.ack", "form.list", "form.send",
})
KIOSK_ONLY = frozenset({"ticket.create", "ticket.cancel", "kiosk.state", "kiosk.health", "feedback.submit",
                        "guest.consent", "callback.bands", "callback.create", "branch.call",
                        "form.answer", "appointment.lookup", "appointment.check_in"})
# a guest (browser link) takes part in its one call and nothing else; chat rides the call's data channel
GUEST_MAY = frozenset({"ping", "rtc.offer", "rtc.answer", "session.leave"})
# all a partner (an outside organisation or interpreter, role "partner") may send: answer an invitation, take part
# in that call, and step away; never the queue, offers, transfers, invitations or listening in
PARTNER_ALLOWED = frozenset({
    "ping", "invite.answer", "session.leave", "rtc.offer", "rtc.answer", "call.media", "call.stats", "status.set",
})

__all__ = [
    "GUEST_MAY",
    "KIOSK_ONLY",
    "PARTNER_ALLOWED",
    "STAFF_ONLY",
    "Ack",
    "AppointmentCheckIn",
    "AppointmentLookup",
    "AppointmentUpdate",
    "Auth",
    "BranchAck",
    "BranchCall",
    "BranchCallState",
    "BranchCalled",
    "CallMedia",
    "CallStatsReport",
    "CallbackBands",
    "CallbackClaim",
    "CallbackCreate",
    "CallbackList",
    "CallbackOutcomeSet",
    "CallbackSnapshot",
    "ClientMessage",
    "Error",
    "FeedbackSubmit",
    "FormAnswer",
    "FormList",
    "FormSend",
    "FormShow",
    "FormState",
    "GuestAdmit",
    "GuestConsent",
    "GuestConsentRequest",
    "GuestInvite",
    "GuestLobby",
    "GuestStateUpdate",
    "InviteAnswer",
    "InviteIncoming",
    "InviteRequest",
    "KioskHealthReport",
    "KioskState",
    "Offer",
    "OfferAccept",
    "OfferDecline",
    "OfferRevoked",
    "ParticipantJoined",
    "ParticipantLeft",
    "Ping",
    "Pong",
    "QueueSnapshot",
    "RtcAnswer",
    "RtcAnswerRelay",
    "RtcOffer",
    "RtcOfferRelay",
    "ServerMessage",
    "ServerMsg",
    "SessionEnd",
    "SessionEnded",
    "SessionJoin",
    "SessionLeave",
    "SessionStart",
    "StatusSet",
    "StatusUpdate",
    "TicketCancel",
    "TicketCreate",
    "TicketPriority",
    "TicketUpdate",
    "TransferRequest",
    "Welcome",
    "WrapupDone",
    "client_adapter",
    "new_id",
    "server_adapter",
]
