"""All console logic, no widgets: status, queue, offers, calls, coaching, notes, wrap-up, transfer, history.

The window (and the headless runner) call the intents below and listen to events; the
controller owns the signaling client, the REST client and the call mesh. Nothing here
imports Qt, so every rule can be tested without a window.

Events: ``connection``, ``profile``, ``status``, ``queue``, ``offer``, ``offer_revoked``,
``call_started``, ``call_ended``, ``participants``, ``chat``, ``call_status``, ``quality``,
``invite``, ``invite_sent``, ``whisper``, ``wrapup``, ``wrapup_done``, ``history``,
``colleagues``, ``notice``, ``error``; guests by link (:mod:`staff_console.guests`): ``guest_invited``,
``guest_lobby``, ``guest_state``; callbacks (:mod:`staff_console.callbacks`): ``callbacks``; the resident's document
camera (:mod:`staff_console.documents`): ``document``, ``still``, ``still_error``, ``still_attached``; calls from a
branch's kiosk (:mod:`staff_console.branch_calls`): ``branch_calls``; a PDF shown on the kiosk
(:mod:`staff_console.shared_docs`): ``shared_doc``; printing at the branch (:mod:`staff_console.printing`):
``print``, ``print_record_failed``; forms the resident confirms (:mod:`staff_console.forms`): ``forms``, ``form``,
``form_pdf``.

Rules kept here (DESIGN §4–§6):

- the status is what routing uses; the specialist's chosen status (available, or away with a
  reason) is remembered and restored after a lost connection, and "away after this call"
  is applied once the wrap-up is done;
- a lost server connection never ends a call: media is peer to peer; on reconnect the
  server resyncs status, queue and session, and the mesh is kept;
- a wrap-up needs a note with a category (the server enforces it too);
- a third party or a supervisor is never offered a resident while in someone else's call
  (they go away, reason ``third_party`` / ``coaching``, and come back afterwards);
- a supervisor listens silently: nothing of theirs reaches the resident; a whisper opens
  their audio towards the specialist only (per-link send policy of :class:`CallMesh`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from signaling.call import MESH_MAX_ENDPOINTS, CallMesh, LocalMedia, SendPolicy
from signaling.client import ClientError, ConnState, CredentialRejected, RequestFailed, SignalingClient
from signaling.media import FrameCounterSink, make_local_tracks
from signaling.observer import Emitter
from signaling.protocol.channel import MAX_DOCUMENT_BYTES
from signaling.protocol.messages import (
    InviteAnswer,
    InviteIncoming,
    InviteRequest,
    Offer,
    OfferAccept,
    OfferDecline,
    OfferRevoked,
    ParticipantJoined,
    ParticipantLeft,
    QueueSnapshot,
    RtcAnswerRelay,
    RtcOfferRelay,
    ServerMessage,
    SessionEnd,
    SessionEnded,
    SessionJoin,
    SessionLeave,
    SessionStart,
    StatusSet,
    StatusUpdate,
    TicketPriority,
    TransferRequest,
    WrapupDone,
)
from signaling.protocol.models import CallStats, GuestRole, Participant, QueueItem, ServiceInfo, StaffState
from signaling.protocol.replies import Reply
from signaling.tasks import cancel_all
from signaling.tls import client_context
from staff_console import __version__
from staff_console.appointments import AppointmentDesk
from staff_console.branch_calls import BranchCallDesk
from staff_console.callbacks import CallbackDesk
from staff_console.case_card import case_card_pdf
from staff_console.cases import CaseDesk
from staff_console.documents import DocumentDesk, StillEntry
from staff_console.forms import FormDesk
from staff_console.guests import GuestDesk, GuestEntry
from staff_console.printing import PrintDesk
from staff_console.services.server_api import ApiError, StaffApi
from staff_console.settings import ConsoleSettings
from staff_console.shared_docs import ShareDesk

log = logging.getLogger("madoguchi.console")



@dataclass
class ChatLine:
    who: str  # "me" or a peer ("kiosk:3", "staff:2")
    text: str
    private: bool = False  # supervisor <-> specialist only; the resident never saw it
    at: float = field(default_factory=time.time)


@dataclass
class CurrentCall:
    session_id: int
    ticket_id: int
    service_code: str
    branch: str
    municipality: str
    role: str  # specialist | third_party | supervisor
    participants: list[Participant]
    me: str = ""
    needs: list[str] = field(default_factory=list)
    language: str = "ja"
    unmet_needs: list[str] = field(default_factory=list)  # required skills I lack (sign language)
    written: bool = False  # the call opens in written conversation (筆談)
    started_at: float = field(default_factory=time.monotonic)
    ended: bool = False
    end_reason: str = ""
    chat: list[ChatLine] = field(default_factory=list)
    transferred: bool = False
    case_number: str | None = None  # the case the call is under (presented at the kiosk, or linked by me)

    def peer_of(self, role: str) -> str | None:
        return next((p.peer for p in self.participants if p.role == role), None)


@dataclass
class NoteDraft:
    category: str = ""
    summary: str = ""
    follow_up: bool = False
    follow_up_by: str = ""
    referral_org: str = ""
    shared: bool = False

    def payload(self) -> dict[str, Any]:
        return {"category": self.category.strip(), "summary": self.summary.strip(), "follow_up": self.follow_up,
                "follow_up_by": self.follow_up_by.strip() if self.follow_up else "",
                "referral_org": self.referral_org.strip(), "shared": self.shared}


@dataclass
class WrapUp:
    session_id: int
    service_code: str
    branch: str
    municipality: str
    talk_s: float
    end_reason: str
    chat: list[ChatLine] = field(default_factory=list)
    media_error: str | None = None  # media_failed: "turn_auth" / "turn_unreachable" when a client knew why
    case_number: str | None = None


CONSOLE_ROLES = ("specialist", "supervisor", "partner")


class NotForConsole(Exception):
    """The account signed in, but its role has no work in the console (it was signed out again)."""

    def __init__(self, role: str) -> None:
        super().__init__(f"role {role} does not use the console")
        self.role = role


class StaffController(Emitter):
    def __init__(self, settings: ConsoleSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock  # the console's monotonic time (offer countdown, call timer, queue age); tests inject it
        super().__init__()
        self.settings = settings
        self.tls = client_context(settings.ca_file)
        self.api = StaffApi(settings.server_urls, self.tls)
        self.client: SignalingClient | None = None
        self.connection: ConnState = "offline"
        self.was_online = False
        self.pending_end: int | None = None  # a call hung up while the server was away, not yet reported
        self.pending_leave: int | None = None  # a call left (third party, supervisor) the server has not confirmed
        self.services: list[ServiceInfo] = []
        self.colleagues: list[dict[str, Any]] = []
        self.status = "offline"
        self.status_reason = ""
        self.wanted: tuple[str, str] = ("away", "signed_in")
        self.away_after: str | None = None  # go away with this reason once the wrap-up is done
        self._restore_after_join: tuple[str, str] | None = None
        self.queue: list[QueueItem] = []
        self.queue_at = self.clock()
        self.team: list[StaffState] = []
        self.offer: Offer | None = None
        self.offer_received_at: float | None = None
        self.offer_deadline: float | None = None
        self.call: CurrentCall | None = None
        self.wrapup: WrapUp | None = None
        self.note = NoteDraft()
        self.mesh: CallMesh | None = None
        self.media: LocalMedia | None = None
        self.preview: FrameCounterSink | None = None
        self.quality: CallStats | None = None
        self.accepted_at: float | None = None
        self.pending_invite: InviteIncoming | None = None
        self.invited: dict[int, str] = {}  # staff id -> name, invited and not yet joined
        self.guests = GuestDesk(self._request, self.emit, lambda: self.settings.server_urls[0])
        self.callbacks = CallbackDesk(self._request, self.emit, lambda: self.me.get("id"))
        self.branch_calls = BranchCallDesk(self._request, self.emit)
        self.cases = CaseDesk(self.api, self._case_event)
        self.appointments = AppointmentDesk(self.api, self.emit, language=lambda: self.settings.language)
        self._offered_case: tuple[int, str | None] | None = None  # (ticket id, case number) of the last offer
        self._invited_at: dict[int, float] = {}
        self.documents = DocumentDesk(self.api, self.emit)
        transfer_ids = itertools.count(1)  # blobs this console sends: PDFs shown and PDFs printed
        self.sharing = ShareDesk(self.emit, transfer_ids)  # a PDF shown on the resident's kiosk
        self.printing = PrintDesk(self.emit, self._record_print, self._spawn, transfer_ids)  # 支所で印刷
        self.forms = FormDesk(self._request, self.api, self.emit)  # 書かない窓口 (staff_console/forms.py)
        self.forms.print_at_branch = self.print_at_branch  # 「支所で印刷」 of a confirmed form: the printing path
        self.on("print", self.forms.on_print)  # … whose print events say how it went
        self.whispering = False  # supervisor: my whisper is open
        self.whisper_from: str | None = None  # specialist: the supervisor whispering to me
        self.history: list[dict[str, Any]] = []
        self.history_branches: dict[str, str] = {}  # branch code -> name, seen in history
        self.last_call_frames: dict[str, int] = {}
        self.on_remote_audio: Callable[[str, Any], None] | None = None  # (peer, av.AudioFrame), set by the window
        self._tasks: set[asyncio.Task[Any]] = set()

    # ------------------------------------------------------------ who am I
    @property
    def me(self) -> dict[str, Any]:
        return self.api.staff

    @property
    def is_partner(self) -> bool:
        """An outside partner (相談支援事業所, 後見人, interpreter): joins a call when invited, nothing else."""
        return self.me.get("role") == "partner"

    @property
    def is_supervisor(self) -> bool:
        return self.me.get("role") == "supervisor"

    @property
    def my_peer(self) -> str:
        return f"staff:{self.me.get('id', 0)}"

    def service_name(self, code: str, language: str = "ja") -> str:
        svc = next((s for s in self.services if s.code == code), None)
        if svc is None:
            return code
        return svc.name_en if language == "en" else svc.name_ja

    # ------------------------------------------------------------ lifecycle
    async def login(self, username: str, password: str) -> dict[str, Any]:
        """Log in over REST, then open the signaling socket. Raises ApiError on a wrong password, NotForConsole for
        an account whose work is elsewhere (IT: the monitor page; administrators: the admin page)."""
        staff = await self.api.login(username, password)  # the password is not kept: a refresh token renews
        if staff.get("role") not in CONSOLE_ROLES:
            with contextlib.suppress(ApiError, OSError):
                await self.api.logout()
            raise NotForConsole(str(staff.get("role")))
        with contextlib.suppress(ApiError, OSError, ValueError):
            self.services = [ServiceInfo(**{k: v for k, v in s.items() if k in ServiceInfo.model_fields})
                             for s in await self.api.services()]
        self.emit("profile", {"staff": dict(staff), "services": list(self.services)})
        self.client = SignalingClient(self.settings.ws_urls, self._token, on_message=self._on_message,
                                      on_state=self._on_conn_state, app_version=f"console/{__version__}",
                                      backoff_max_s=self.settings.reconnect_max_s,
                                      request_timeout_s=self.settings.request_timeout_s, tls=self.tls)
        await self.client.start()
        return staff

    async def _token(self) -> str:
        """A fresh access token for each (re)connect: after a role change the old one is refused (4003)."""
        try:
            return await self.api.refresh()
        except ApiError as exc:
            if exc.status in (401, 403):  # password reset, account disabled, login ended: retrying cannot help
                raise CredentialRejected(exc.detail) from None
            raise

    async def stop(self) -> None:
        """Stop everything this console runs: when it returns, no task of it is left (a reconnect's token
        renewal, a history fetch) to run on after the program or its loop has ended."""
        await cancel_all(self._tasks)
        await self._end_call_media()
        if self.client is not None:
            await self.client.close()
        await cancel_all(self._tasks)  # what the ending call or the closing socket started meanwhile

    async def _request(self, msg: Any) -> Reply | None:
        if self.client is None:
            return None
        try:
            return await self.client.ask(msg)
        except ClientError as exc:
            self.emit("error", {"code": getattr(exc, "code", "offline"), "message": str(exc), "request": msg.type,
                                "details": getattr(exc, "details", {})})
            return None

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------ status
    async def set_available(self) -> bool:
        self.wanted, self.away_after = ("available", ""), None
        if self.status in ("in_call", "wrap_up"):
            self.emit("status", self._status_payload())
            return True  # already what happens after the wrap-up
        return await self._request(StatusSet(status="available")) is not None

    async def set_away(self, reason: str = "break") -> bool:
        """Away now; during a call or wrap-up: away once the wrap-up is done; with an offer ringing: decline it."""
        self.wanted = ("away", reason)
        if self.status in ("in_call", "wrap_up") or (self.call is not None and not self.call.ended):
            self.away_after = reason
            self.emit("status", self._status_payload())
            return True
        if self.offer is not None:
            await self.decline()
        ok = await self._request(StatusSet(status="away", reason=reason)) is not None
        if not ok and self.offer is not None:  # an offer raced in: say no to it, then go away
            await self.decline()
            ok = await self._request(StatusSet(status="away", reason=reason)) is not None
        return ok

    def _status_payload(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.status_reason, "away_after": self.away_after}

    def _set_local_status(self, status: str, reason: str = "") -> None:
        """What the server decided but does not push (offered, in call, back after a decline)."""
        if (status, reason) != (self.status, self.status_reason):
            self.status, self.status_reason = status, reason
            self.emit("status", self._status_payload())

    # ------------------------------------------------------------ offers
    def offer_remaining_s(self) -> float:
        if self.offer_deadline is None:
            return 0.0
        return max(0.0, self.offer_deadline - self.clock())

    async def accept(self, ticket_id: int | None = None) -> bool:
        tid = ticket_id if ticket_id is not None else (self.offer.ticket_id if self.offer else None)
        if tid is None:
            return False
        if self.call is not None and not self.call.ended:
            self.emit("error", {"code": "busy", "message": "leave the current call first", "request": "offer.accept"})
            return False
        self.accepted_at = self.clock()
        offer = self.offer
        self._clear_offer()
        ok = await self._request(OfferAccept(ticket_id=tid)) is not None
        if not ok and offer is not None:
            self.emit("offer_revoked", {"ticket_id": offer.ticket_id, "reason": "taken"})
        return ok

    async def decline(self) -> bool:
        if self.offer is None:
            return False
        tid = self.offer.ticket_id
        self._clear_offer()
        ok = await self._request(OfferDecline(ticket_id=tid)) is not None
        if ok and self.status == "offered":
            self._set_local_status("available")
        return ok

    def _clear_offer(self) -> None:
        self.offer, self.offer_received_at, self.offer_deadline = None, None, None

    # ------------------------------------------------------------ cases (README "Cases")
    def record_session(self) -> int | None:
        """The session whose record I am writing: the wrap-up's, else my call's as its specialist."""
        if self.wrapup is not None:
            return self.wrapup.session_id
        if self.call is not None and self.call.role == "specialist":
            return self.call.session_id
        return None

    async def link_case(self, number: str) -> bool:
        """Put the call I am recording under an existing case."""
        sid = self.record_session()
        return sid is not None and await self.cases.attach(number, sid) is not None

    async def new_case(self, name: str = "", contact: str = "") -> bool:
        """Open a new case, and put the call I am recording (if any) under it."""
        return await self.cases.create(name, contact, self.record_session()) is not None

    async def print_case_card(self) -> int | None:
        """Print the case card (number + QR code, staff_console/case_card.py) of the call's case at the resident's
        branch, for 「カードをかざす」 next time. None: no call under a case, or the print was refused (``print``)."""
        call = self.call
        if call is None or call.ended or call.case_number is None:
            return None
        pdf = case_card_pdf(call.case_number, call.municipality)
        return await self.print_at_branch(pdf, f"相談番号カード {call.case_number}")

    def _case_event(self, name: str, data: dict[str, Any]) -> None:
        if name == "case_linked":
            for held in (self.call, self.wrapup):
                if held is not None and held.session_id == data["session_id"]:
                    held.case_number = str(data["case"]["number"])
        self.emit(name, data)

    # ------------------------------------------------------------ in a call
    async def hang_up(self) -> bool:
        if self.call is None or self.call.ended:
            return False
        if self.call.role != "specialist":
            return await self.leave()
        sid = self.call.session_id
        if self.client is not None and self.client.state != "online":
            # the server cannot be reached: end the call here (the resident's kiosk hears our 'bye' on the
            # data channel and ends too), go to wrap-up, and tell the server as soon as it is back
            self.pending_end = sid
            await self._on_session_ended(SessionEnded(session_id=sid, reason="staff_hangup", wrap_up=True))
            return True
        return await self._request(SessionEnd(session_id=sid)) is not None

    async def _report_pending_end(self) -> None:
        """After a reconnect: the hang-up made while the server was away. Ended meanwhile (the kiosk reported
        it, or the server's silent-call rule): conflict or not_found, nothing left to report."""
        sid = self.pending_end
        if sid is not None and await self._report(SessionEnd(session_id=sid), ("conflict", "not_found")):
            if self.pending_end == sid:
                self.pending_end = None

    async def _report(self, msg: SessionEnd | SessionLeave, done_codes: tuple[str, ...]) -> bool:
        """Tell the server what this console already did on its own; True once the server has it (or says it
        has nothing left to do), False while it cannot be reached (the next reconnect tries again)."""
        if self.client is None:
            return False
        try:
            await self.client.ask(msg)
        except RequestFailed as exc:
            if exc.code not in done_codes:
                raise
        except ClientError:
            return False
        return True

    async def leave(self) -> bool:
        """Third party or supervisor: leave; the call goes on without me.

        Leaving is my own decision: it happens here even when the server is slow or away (the others hear
        our ``bye`` on the data channel); a leave the server has not confirmed is reported again until it is
        (``pending_leave``), so neither side keeps a ghost participant."""
        if self.call is None:
            return False
        sid = self.call.session_id
        if self.client is None or self.client.state != "online":
            self.pending_leave = sid
        else:
            try:
                await self.client.ask(SessionLeave(session_id=sid))
            except RequestFailed as exc:
                if exc.code != "not_found":  # not_found: the server has me out already
                    self.emit("error", {"code": exc.code, "message": str(exc), "request": "session.leave",
                                        "details": exc.details})
                    return False
            except ClientError:  # no reply in time, or the connection dropped: leave anyway, report later
                self.pending_leave = sid
                self._spawn(self._report_pending_leave())
        await self._end_call_media()
        self.call = None
        self.documents.forget()
        self.emit("call_ended", {"session_id": sid, "reason": "left", "wrap_up": False})
        await self._restore_status_after_join()
        return True

    async def _report_pending_leave(self) -> None:
        """The leave the server did not confirm: once more now, and after every reconnect until it is
        (not_found: it did arrive after all, or the call is over)."""
        sid = self.pending_leave
        if sid is not None and await self._report(SessionLeave(session_id=sid), ("not_found",)):
            if self.pending_leave == sid:
                self.pending_leave = None

    async def transfer(self, *, service_code: str | None = None, staff_id: int | None = None) -> bool:
        """Hand the resident on; they keep their place (original arrival time) and the kiosk says so."""
        if self.call is None or self.call.ended or self.call.role != "specialist":
            return False
        ok = await self._request(TransferRequest(session_id=self.call.session_id, service_code=service_code,
                                                 staff_id=staff_id)) is not None
        if ok and self.call is not None:
            self.call.transferred = True
        return ok

    def can_invite(self) -> bool:
        """Room for one more in the mesh (a supervisor who may still listen in counts too)."""
        if self.call is None or self.call.ended or self.call.role != "specialist":
            return False
        coming = [e for e in self.guests.entries.values() if e.state in ("invited", "lobby", "awaiting_consent")]
        return len(self.call.participants) + len(self.invited) + len(coming) < MESH_MAX_ENDPOINTS - 1

    async def invite_guest(self, role: GuestRole, display_name: str) -> GuestEntry | None:
        """A one-time link (and QR code) for a guest of this call: family, supporter, guardian, interpreter."""
        if not self.can_invite() or self.call is None:
            self.emit("error", {"code": "conflict", "message": "no room in this call", "request": "guest.invite"})
            return None
        return await self.guests.invite(self.call.session_id, role, display_name)

    async def admit_guest(self, invitation_id: int, admit: bool) -> bool:
        """Let a guest in the lobby in (the resident is asked next) or refuse them."""
        return await self.guests.admit(invitation_id, admit)

    async def invite(self, staff_id: int) -> bool:
        if self.call is None or self.call.ended or self.call.role != "specialist":
            return False
        if not self.can_invite():
            self.emit("error", {"code": "call_full", "message": "the call is full", "request": "invite.request"})
            return False
        ok = await self._request(InviteRequest(session_id=self.call.session_id, staff_id=staff_id)) is not None
        if ok:
            name = next((c["display_name"] for c in self.colleagues if c.get("id") == staff_id), str(staff_id))
            self.invited[staff_id] = name
            self._invited_at[staff_id] = self.clock()
            self.emit("invite_sent", {"staff_id": staff_id, "name": name})
        return ok

    def prune_invites(self, max_age_s: float = 60.0) -> bool:
        """Forget invitations nobody answered (the server does not tell the inviter about a "not now")."""
        old = [sid for sid, at in self._invited_at.items() if self.clock() - at > max_age_s]
        for sid in old:
            self.invited.pop(sid, None)
            self._invited_at.pop(sid, None)
        return bool(old)

    async def answer_invite(self, accept: bool) -> bool:
        inv, self.pending_invite = self.pending_invite, None
        if inv is None:
            return False
        if accept and self.call is not None and not self.call.ended:
            self.emit("error", {"code": "busy", "message": "already in a call", "request": "invite.answer"})
            accept = False
        if accept:
            await self._step_aside("third_party")
        self.accepted_at = self.clock()
        data = await self._request(InviteAnswer(session_id=inv.session_id, accept=accept))
        if accept and data is None:
            await self._restore_status_after_join()
        return data is not None

    async def join_silently(self, session_id: int) -> bool:
        """Supervisor: listen in on a live call (the resident is told someone joined)."""
        if self.call is not None and not self.call.ended:
            return False
        await self._step_aside("coaching")
        self.accepted_at = self.clock()
        ok = await self._request(SessionJoin(session_id=session_id)) is not None
        if not ok:
            await self._restore_status_after_join()
        return ok

    async def join_call_of(self, staff_id: int) -> bool:
        """Supervisor: listen in on the call a specialist is in now."""
        try:
            rows = await self.api.history(staff_id=staff_id, limit=1)
        except (ApiError, OSError) as exc:
            self.emit("error", {"code": "history", "message": str(exc), "request": "session.join"})
            return False
        live = next((r for r in rows if r.get("ended_at") is None), None)
        if live is None:
            self.emit("error", {"code": "not_found", "message": "no live call", "request": "session.join"})
            return False
        return await self.join_silently(int(live["id"]))

    async def _step_aside(self, reason: str) -> None:
        """Before joining someone else's call: no offers meanwhile; remember what to come back to."""
        self._restore_after_join = (self.status, self.status_reason)
        if self.status == "available":
            await self._request(StatusSet(status="away", reason=reason))

    async def _restore_status_after_join(self) -> None:
        prev, self._restore_after_join = self._restore_after_join, None
        if prev is not None and prev[0] == "available" and self.status == "away":
            await self._request(StatusSet(status="available"))

    def set_whisper(self, on: bool) -> bool:
        """Supervisor: open (or shut) my audio to the specialist only; the resident hears nothing."""
        if self.mesh is None or self.call is None or self.call.role != "supervisor":
            return False
        specialist = self.call.peer_of("specialist")
        if specialist is None:
            return False
        self.mesh.set_peer_audio(specialist, on)
        self.mesh.send_control(specialist, {"whisper": on})
        self.whispering = on
        self.emit("whisper", {"on": on, "peer": self.my_peer, "mine": True})
        return True

    def send_chat(self, text: str) -> bool:
        """To everyone in the call; a supervisor's text goes to the specialist only."""
        text = text.strip()[:2000]
        if not text or self.mesh is None or self.call is None:
            return False
        private = self.call.role == "supervisor"
        peers = [p for p in [self.call.peer_of("specialist")] if p] if private else None
        if self.mesh.send_chat(text, peers) == 0:
            self.emit("error", {"code": "chat", "message": "not delivered", "request": "chat"})
            return False
        line = ChatLine("me", text, private)
        self.call.chat.append(line)
        self.emit("chat", {"who": "me", "text": text, "private": private})
        return True

    def set_muted(self, muted: bool) -> None:
        if self.mesh is not None:
            self.mesh.set_muted(muted)
            self.emit("call_status", {"status": "muted", "on": muted})

    def set_camera(self, on: bool) -> None:
        if self.mesh is not None:
            self.mesh.set_camera(on)
            self.emit("call_status", {"status": "camera", "on": on})

    def take_still(self) -> int | None:
        """Ask the resident's kiosk for a still of the document it shows (full resolution, over the data channel);
        the ``still`` event brings it. None when no document is shown."""
        if self.call is None or self.call.role != "specialist":
            return None
        return self.documents.take_still()

    async def share_pdf(self, data: bytes, name: str) -> bool:
        """Show a PDF on the resident's kiosk (checked here first; the ``shared_doc`` event says how it went)."""
        return await self.sharing.share(data, name)

    async def share_pdf_file(self, path: str) -> bool:
        """:meth:`share_pdf` of a file (read off the event loop; at most 10 MiB are read)."""

        def read() -> bytes:
            with Path(path).open("rb") as f:
                return f.read(MAX_DOCUMENT_BYTES + 1)

        try:
            data = await asyncio.to_thread(read)
        except OSError:
            self.emit("shared_doc", {"state": "error", "code": "unreadable"})
            return False
        return await self.share_pdf(data, Path(path).stem)

    async def print_at_branch(self, pdf_bytes: bytes, title: str) -> int | None:
        """Print a PDF on the printer at the resident's branch, without showing it (支所で印刷). Returns the print's
        request id, or None when refused before sending (no call, not a PDF, over 10 MiB). The ``print`` events
        (``request_id``, ``state``: sending, printing, done, paper_out, no_printer, failed; ``reason``) say how it
        goes; every print that ends is recorded with the session (never its content)."""
        return await self.printing.print_pdf(pdf_bytes, title)

    def print_shown(self) -> int | None:
        """Print the PDF shown on the kiosk (only a request goes out: the kiosk has it). None: nothing shown."""
        s = self.sharing
        if not s.shown or s.data is None or s.transfer_id is None:
            self.emit("print", {"request_id": None, "name": s.name, "state": "failed", "reason": "no_document",
                                "shown": True})
            return None
        return self.printing.print_shown(s.transfer_id, s.data, s.name, s.pages)

    async def _record_print(self, session_id: int, record: dict[str, Any]) -> None:
        try:
            await self.api.record_print(session_id, record)
        except (ApiError, OSError) as exc:  # the print happened either way; the record is what is missing
            log.warning("print of session %s not recorded: %s", session_id, exc)
            self.emit("print_record_failed", {"session_id": session_id})

    def turn_page(self, page: int) -> bool:
        return self.sharing.turn_to(page)

    def point(self, x: float | None, y: float | None, force: bool = False) -> bool:
        return self.sharing.point(x, y, force=force)

    def stop_sharing(self) -> None:
        self.sharing.close()

    async def attach_still(self, entry: StillEntry) -> bool:
        """Keep a still with this session's record (the only way a still outlives the call)."""
        return await self.documents.attach(entry)

    def remote_frames(self) -> dict[str, Any]:
        """Latest frame per participant for the views to paint."""
        if self.mesh is None:
            return {}
        return {peer: link.call.latest_video_frame for peer, link in self.mesh.links.items()}

    def local_frame(self) -> Any:
        return self.preview.latest_frame if self.preview is not None else None

    def call_elapsed_s(self) -> float:
        return self.clock() - self.call.started_at if self.call is not None else 0.0

    # ------------------------------------------------------------ notes and wrap-up
    def update_note(self, **fields: Any) -> None:
        """The form's fields, kept here so that the draft survives switching views (and is typed during the call)."""
        for key, value in fields.items():
            if hasattr(self.note, key):
                setattr(self.note, key, value)

    async def save_note(self, category: str, summary: str = "", follow_up: bool = False, follow_up_by: str = "",
                        referral_org: str = "", shared: bool = False) -> bool:
        sid = self.wrapup.session_id if self.wrapup is not None else (self.call.session_id if self.call else None)
        if sid is None:
            return False
        self.update_note(category=category, summary=summary, follow_up=follow_up, follow_up_by=follow_up_by,
                         referral_org=referral_org, shared=shared)
        try:
            await self.api.save_note(sid, self.note.payload())
            return True
        except (ApiError, OSError) as exc:
            self.emit("error", {"code": "note", "message": str(exc), "request": "note.save"})
            return False

    def note_problems(self) -> list[str]:
        """What keeps the draft from closing the session (field names)."""
        missing = []
        if not self.note.category.strip():
            missing.append("category")
        if self.note.follow_up and not self.note.follow_up_by.strip():
            missing.append("follow_up_by")
        return missing

    async def complete_wrapup(self) -> bool:
        """Save the draft note and close the wrap-up; refused (nothing sent) without a category."""
        if self.wrapup is None:
            return False
        missing = self.note_problems()
        if missing:
            self.emit("error", {"code": "note_incomplete", "message": ", ".join(missing), "request": "wrapup.done",
                                "details": {"missing": missing}})
            return False
        n = self.note
        if not await self.save_note(n.category, n.summary, n.follow_up, n.follow_up_by, n.referral_org, n.shared):
            return False
        return await self.finish_wrapup()

    async def finish_wrapup(self) -> bool:
        if self.wrapup is None:
            return False
        sid = self.wrapup.session_id
        ok = await self._request(WrapupDone(session_id=sid)) is not None
        if ok:
            self.wrapup, self.call, self.note = None, None, NoteDraft()
            self.documents.forget()  # stills not attached to the record are gone
            self.forms.forget()  # drafts not sent are gone; what the resident confirmed is on the server
            self.emit("wrapup_done", {"session_id": sid})
            if self.away_after is not None:
                reason, self.away_after = self.away_after, None
                await self.set_away(reason)
            else:
                self.wanted = ("available", "")
        return ok

    # ------------------------------------------------------------ queue
    async def set_priority(self, ticket_id: int, priority: int) -> bool:
        """Raise (or lower) a waiting resident's priority; the server audits it and pushes the reordered
        queue. A refusal (not in my queue, no longer waiting) comes out as an ``error`` event."""
        return await self._request(TicketPriority(ticket_id=ticket_id, priority=priority)) is not None

    # ------------------------------------------------------------ colleagues and history
    async def refresh_colleagues(self) -> list[dict[str, Any]]:
        try:
            self.colleagues = [c for c in await self.api.colleagues() if c.get("id") != self.me.get("id")]
        except (ApiError, OSError) as exc:
            self.emit("error", {"code": "colleagues", "message": str(exc), "request": "staff"})
        self.emit("colleagues", {"colleagues": list(self.colleagues)})
        return self.colleagues

    async def search_history(self, *, date_from: date | None = None, date_to: date | None = None,
                             branch: str | None = None, service: str | None = None,
                             staff_id: int | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """Own past sessions with the notes the server lets me read (supervisors: any specialist's)."""
        try:
            rows = await self.api.history(**{"from": date_from.isoformat() if date_from else None,
                                             "to": date_to.isoformat() if date_to else None},
                                          branch=branch, service=service, staff_id=staff_id, limit=limit)
        except (ApiError, OSError) as exc:
            self.emit("error", {"code": "history", "message": str(exc), "request": "history"})
            return self.history
        self.history = rows
        for r in rows:
            self.history_branches.setdefault(r["branch_code"], r["branch"])
        self.emit("history", {"rows": list(rows)})
        return rows

    async def history_forms(self, session_id: int) -> list[dict[str, Any]] | None:
        """The forms (書かない窓口) kept with a past session, for the history's detail: event ``history_forms``
        (``session_id``, ``forms``). None when they could not be read (``error`` code ``history``)."""
        try:
            forms = await self.api.session_forms(session_id)
        except (ApiError, OSError) as exc:
            self.emit("error", {"code": "history", "message": str(exc), "request": "forms"})
            return None
        self.emit("history_forms", {"session_id": session_id, "forms": forms})
        return forms

    # ------------------------------------------------------------ server events
    async def _on_message(self, msg: ServerMessage) -> None:
        match msg:
            case StatusUpdate():
                await self._on_status(msg)
            case QueueSnapshot():
                self.queue, self.team, self.queue_at = list(msg.items), list(msg.staff), self.clock()
                self.emit("queue", {"items": self.queue, "staff": self.team})
            case Offer():
                if self.call is not None and not self.call.ended:
                    await self._request(OfferDecline(ticket_id=msg.ticket_id))  # busy elsewhere: never ring
                    return
                self.offer, self.offer_received_at = msg, self.clock()
                self._offered_case = (msg.ticket_id, msg.case_number)
                self.offer_deadline = self.offer_received_at + msg.expires_in_s
                self._set_local_status("offered")
                self.emit("offer", {"offer": msg})
            case OfferRevoked():
                if self.offer is not None and self.offer.ticket_id == msg.ticket_id:
                    self._clear_offer()
                self.emit("offer_revoked", {"ticket_id": msg.ticket_id, "reason": msg.reason})
                if msg.reason == "timeout":  # the server set me away and pushes that status
                    self.wanted = ("away", "no_answer")
                    self.emit("notice", {"code": "offer_timeout"})
                elif self.status == "offered" and self.offer is None:
                    self._set_local_status("available")
            case SessionStart():
                await self._on_session_start(msg)
            case RtcOfferRelay() | RtcAnswerRelay():
                if self.mesh is not None:
                    await self.mesh.on_signal(msg)
            case ParticipantJoined():
                if self.call is not None and self.call.session_id == msg.session_id:
                    self.call.participants = [p for p in self.call.participants if p.peer != msg.participant.peer]
                    self.call.participants.append(msg.participant)
                    sid = _staff_id(msg.participant.peer)
                    if sid is not None:
                        self.invited.pop(sid, None)
                    self.emit("participants", {"participants": list(self.call.participants),
                                               "joined": msg.participant})
            case ParticipantLeft():
                if self.call is not None and self.call.session_id == msg.session_id:
                    self.call.participants = [p for p in self.call.participants if p.peer != msg.peer]
                    if self.whisper_from == msg.peer:
                        self.whisper_from = None
                        self.emit("whisper", {"on": False, "peer": msg.peer, "mine": False})
                    self.emit("participants", {"participants": list(self.call.participants), "left": msg.peer})
                if self.mesh is not None:
                    await self.mesh.remove_peer(msg.peer)
            case InviteIncoming():
                self.pending_invite = msg
                self.emit("invite", {"invite": msg})
            case SessionEnded():
                await self._on_session_ended(msg)
            case _:
                (self.guests.on_message(msg) or self.callbacks.on_message(msg) or self.branch_calls.on_message(msg)
                 or self.forms.on_message(msg) or self.appointments.on_message(msg))

    async def _on_status(self, msg: StatusUpdate) -> None:
        self.status, self.status_reason = msg.status, msg.reason
        if msg.status != "offered" and self.offer is not None and msg.status in ("available", "away"):
            self._clear_offer()
        # the call ended while the connection was down: no session.ended reached us
        if (self.call is not None and not self.call.ended and self.call.role == "specialist"
                and msg.status in ("wrap_up", "available", "away")):
            await self._on_session_ended(SessionEnded(session_id=self.call.session_id, reason="staff_hangup",
                                                      wrap_up=msg.status == "wrap_up"), missed=True)
        self.emit("status", self._status_payload())
        # after a reconnect the server says "away (signed_in)": go back to what the specialist chose
        if msg.status == "away" and msg.reason == "signed_in" and self.was_online:
            want, reason = self.wanted
            if self.call is not None and not self.call.ended and self.call.role != "specialist":
                want, reason = "away", "third_party" if self.call.role == "third_party" else "coaching"
            if want == "available":
                self._spawn(self._request(StatusSet(status="available")))
            elif reason not in ("signed_in", ""):
                self._spawn(self._request(StatusSet(status="away", reason=reason)))

    async def _on_session_start(self, msg: SessionStart) -> None:
        if msg.session_id in (self.pending_end, self.pending_leave):
            return  # the server re-announces a call this console already hung up or left while it was away
        if self.mesh is not None and self.mesh.session_id == msg.session_id:
            if msg.ice_servers is not None:  # fresher TURN credentials for the links healed from now on
                self.mesh.ice_servers = msg.ice_servers
            if self.call is not None:  # signaling resumed; media kept going: take the server's participant list
                self.call.participants = list(msg.participants)
                self.emit("participants", {"participants": list(self.call.participants)})
            return
        await self._end_call_media()
        me = next((p for p in msg.participants if p.peer == msg.you), None)
        role = me.role if me is not None else "specialist"
        self.call = CurrentCall(session_id=msg.session_id, ticket_id=msg.ticket_id, service_code=msg.service_code,
                                branch=msg.branch, municipality=msg.municipality, role=role,
                                participants=list(msg.participants), me=msg.you, needs=list(msg.needs),
                                language=msg.language, unmet_needs=list(msg.unmet_needs), written=msg.written,
                                started_at=self.clock())
        if self._offered_case is not None and self._offered_case[0] == msg.ticket_id:
            self.call.case_number = self._offered_case[1]
        if self.accepted_at is not None:
            self.call.started_at = self.accepted_at
        self.quality, self.whispering, self.whisper_from = None, False, None
        self.invited, self._invited_at = {}, {}
        if role == "specialist":
            self.note = NoteDraft()
            self._set_local_status("in_call")
        resident = self.call.peer_of("resident")
        specialist = self.call.peer_of("specialist")
        offer_to = list(msg.offer_to)
        if not offer_to and role == "specialist" and resident is not None and self.accepted_at is None:
            offer_to = [resident]  # console restarted mid-call: offer the resident a fresh link (it heals to it)
        audio, video = self._local_tracks(role)
        self.media = LocalMedia(audio, video)
        self.preview = self.media.preview()
        policy: Callable[[str], SendPolicy] | None = None
        if role == "supervisor":
            policy = lambda peer: "audio" if peer == specialist else "none"  # noqa: E731
        assert self.client is not None
        welcome = self.client.welcome
        ice = msg.ice_servers if msg.ice_servers is not None else welcome.ice_servers if welcome else []
        self.mesh = CallMesh(self.client, msg.session_id, msg.you, ice,
                             self.media, primary=resident, emit=self._on_call_event, send_policy=policy,
                             connect_timeout_s=self.settings.connect_timeout_s,
                             media_grace_s=self.settings.media_grace_s, started_at=self.accepted_at,
                             relay_only=welcome is not None and welcome.ice_transport_policy == "relay")
        if self.on_remote_audio is not None:
            self.mesh.on_audio = self.on_remote_audio
        if role == "supervisor" and specialist is not None:
            self.mesh.set_peer_audio(specialist, False)  # listen only until a whisper
        self.accepted_at = None
        self.documents.forget()
        self.documents.attach_call(self.mesh, msg.session_id)
        self.sharing.attach(self.mesh if role == "specialist" else None)
        self.printing.attach(self.mesh if role == "specialist" else None, msg.session_id)
        if role == "specialist":
            self._spawn(self.forms.start(msg.session_id, msg.language))  # the forms of the call's service
        await self.mesh.start(offer_to)
        self.emit("call_started", {"session_id": msg.session_id, "call": self.call})

    def _local_tracks(self, role: str) -> tuple[Any, Any]:
        s = self.settings
        audio, video = make_local_tracks(s.media_source, width=s.video_width, height=s.video_height,
                                         fps=s.video_fps, video_device=s.video_device, audio_device=s.audio_device)
        if role == "supervisor" and video is not None:  # a supervisor is heard (whisper) but never seen
            video.stop()
            video = None
        return audio, video

    async def _on_session_ended(self, msg: SessionEnded, missed: bool = False) -> None:
        call = self.call if self.call is not None and self.call.session_id == msg.session_id else None
        if call is None and not msg.wrap_up:
            return
        await self._end_call_media()
        if call is not None:
            call.ended, call.end_reason = True, msg.reason
        if msg.wrap_up:
            talk = self.clock() - call.started_at if call is not None else 0.0
            self.wrapup = WrapUp(session_id=msg.session_id, service_code=call.service_code if call else "",
                                 branch=call.branch if call else "", municipality=call.municipality if call else "",
                                 talk_s=talk, end_reason=msg.reason, chat=list(call.chat) if call else [],
                                 media_error=msg.media_error, case_number=call.case_number if call else None)
            if call is None:  # a wrap-up owed from before this console started: fill in what it was
                self._spawn(self._describe_wrapup(msg.session_id))
        else:
            self.call = None
        self.guests.clear()  # every link of the call is dead now
        self.whispering, self.whisper_from = False, None
        if msg.wrap_up:
            self._set_local_status("wrap_up")
        self.emit("call_ended", {"session_id": msg.session_id, "reason": msg.reason, "wrap_up": msg.wrap_up,
                                 "missed": missed, "media_error": msg.media_error})
        if msg.wrap_up:
            self.emit("wrapup", {"wrapup": self.wrapup})
        elif call is not None and call.role != "specialist":
            await self._restore_status_after_join()

    async def _describe_wrapup(self, session_id: int) -> None:
        try:
            rows = await self.api.history(limit=5)
        except (ApiError, OSError):
            return
        row = next((r for r in rows if r.get("id") == session_id), None)
        w = self.wrapup
        if row is None or w is None or w.session_id != session_id:
            return
        w.service_code, w.branch, w.talk_s = row["service_code"], row["branch"], float(row.get("talk_s") or 0.0)
        self.emit("wrapup", {"wrapup": w})

    def _on_call_event(self, name: str, data: dict[str, Any]) -> None:
        if name == "channel":
            self.documents.on_message(data["peer"], data["message"])
            self.sharing.on_message(data["peer"], data["message"])
            self.printing.on_message(data["peer"], data["message"])
        elif name == "blob":
            self.documents.on_blob(data["peer"], data["begin"], data["data"])
        elif name == "blob_error":
            self.documents.on_blob_error(data["peer"], data["error"])
        elif name == "chat":
            private = self._role_of(data["peer"]) == "supervisor"  # a supervisor writes to the specialist only
            if self.call is not None:
                self.call.chat.append(ChatLine(data["peer"], data["text"], private))
            self.emit("chat", {"who": data["peer"], "text": data["text"], "private": private})
        elif name == "quality":
            if data.get("peer") == (self.mesh.primary if self.mesh else None):
                self.quality = data["stats"]
            self.emit("quality", data)
        elif name == "control":
            on = bool(data.get("data", {}).get("whisper"))
            if self._role_of(data["peer"]) == "supervisor":
                self.whisper_from = data["peer"] if on else None
                self.emit("whisper", {"on": on, "peer": data["peer"], "mine": False})
        else:
            self.emit("call_status", {"status": name, **data})

    def _role_of(self, peer: str) -> str | None:
        if self.call is None:
            return None
        return next((p.role for p in self.call.participants if p.peer == peer), None)

    async def _end_call_media(self) -> None:
        mesh, media = self.mesh, self.media
        self.mesh, self.media, self.preview = None, None, None
        self.documents.attach_call(None, None)
        self.sharing.attach(None)
        self.printing.attach(None, None)
        if mesh is not None:
            had_link = mesh.link() is not None
            await mesh.close()
            if had_link:
                self.last_call_frames = mesh.frames_received()  # the whole call's, over healed links
        if media is not None:
            await media.close()

    def _drop_offer_offline(self) -> None:
        """The server withdraws an offer from a console it cannot reach: do not leave it ringing here."""
        if self.offer is not None:
            tid = self.offer.ticket_id
            self._clear_offer()
            self.emit("offer_revoked", {"ticket_id": tid, "reason": "offline"})

    async def reconnect_here(self) -> None:
        """After ``replaced`` (the same account connected on another console): take the connection back."""
        if self.client is not None and self.client.state == "closed" and self.client.stop_reason is not None:
            await self.client.start()

    def _on_conn_state(self, state: ConnState) -> None:
        self.connection = state
        if state == "closed" and self.client is not None and self.client.stop_reason is not None:
            # the other console has the account now (and re-syncs any call); this one lets go of its media
            self._drop_offer_offline()
            self._spawn(self._end_call_media())
            self._set_local_status("offline", self.client.stop_reason)
            self.emit("connection", {"state": state, "resumed": False, "reason": self.client.stop_reason})
            return
        if state == "online":
            if self.client is not None and self.client.welcome is not None and self.client.welcome.services:
                self.services = list(self.client.welcome.services)
            if self.pending_end is not None:
                self._spawn(self._report_pending_end())
            if self.pending_leave is not None:
                self._spawn(self._report_pending_leave())
            if self.me.get("role") in ("specialist", "supervisor"):
                self._spawn(self.callbacks.refresh())  # the tasks that came in while this console was away
            self.emit("connection", {"state": state, "resumed": self.was_online})
            self.was_online = True
            return
        if state == "offline":
            self._drop_offer_offline()
        if state == "offline" and self.status in ("available", "away", "offered"):
            # routing no longer counts this console: never show a stale "available"; the server's status
            # push after the reconnect (and the restore of self.wanted) sets it again
            self._set_local_status("offline")
        self.emit("connection", {"state": state, "resumed": False})


def _staff_id(peer: str) -> int | None:
    kind, _, num = peer.partition(":")
    return int(num) if kind == "staff" and num.isdigit() else None


__all__ = [
    "CONSOLE_ROLES",
    "ChatLine",
    "CurrentCall",
    "NotForConsole",
    "NoteDraft",
    "RequestFailed",
    "StaffController",
    "WrapUp",
]
