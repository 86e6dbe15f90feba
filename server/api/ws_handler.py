"""The server's :class:`signaling.hub.Handler`: authenticates sockets and maps messages to queue operations,
which the engine runs (reply first, then the outbox). Queue errors become ``error`` codes here."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import select

from server.api.batcher import Batcher, for_each
from server.auth import InvalidToken, decode_token
from server.context import AppContext
from server.db.models import STAFF_ROLES, Branch, Kiosk, Municipality, Service, Staff, StaffSkill
from server.guest_auth import decode_guest_token, is_guest_token
from server.languages import known_languages, server_packs, service_texts
from server.monitor.health import record_health
from server.queue import (
    appointments,
    branch_calls,
    callbacks,
    calls,
    forms,
    guests,
    participants,
    presence,
    priority,
    tickets,
)
from server.queue.errors import Conflict, Forbidden, Invalid, NoSpecialist, NotFound, QueueError
from server.queue.views import ON_DUTY
from server.turn import ice_servers_for, ice_transport_policy
from signaling.hub import AuthRejected, Connection, HubError, Respond
from signaling.principal import Principal
from signaling.protocol.errors import ErrorCode
from signaling.protocol.messages import (
    AppointmentCheckIn,
    AppointmentLookup,
    Auth,
    BranchAck,
    BranchCall,
    CallbackBands,
    CallbackClaim,
    CallbackCreate,
    CallbackList,
    CallbackOutcomeSet,
    CallMedia,
    CallStatsReport,
    ClientMessage,
    FeedbackSubmit,
    FormAnswer,
    FormList,
    FormSend,
    GuestAdmit,
    GuestConsent,
    GuestInvite,
    InviteAnswer,
    InviteRequest,
    KioskHealthReport,
    KioskState,
    OfferAccept,
    OfferDecline,
    SessionEnd,
    SessionJoin,
    SessionLeave,
    StatusSet,
    TicketCancel,
    TicketCreate,
    TicketPriority,
    TransferRequest,
    Welcome,
    WrapupDone,
)
from signaling.protocol.models import ServiceInfo
from signaling.protocol.replies import Empty

CATALOG_TTL_S = 1.0
_DB_INT = 2**63  # ids are 64-bit in every database; a larger one would reach the driver and fail there
ERROR_CODE: dict[type[QueueError], ErrorCode] = {
    Invalid: ErrorCode.INVALID_MESSAGE, NotFound: ErrorCode.NOT_FOUND, Forbidden: ErrorCode.FORBIDDEN,
    Conflict: ErrorCode.CONFLICT, NoSpecialist: ErrorCode.NO_SPECIALIST,
}


def _check_ints(msg: ClientMessage) -> None:
    """The protocol accepts any int for ids; refuse what no database column can hold (not a server bug)."""
    for name, value in msg:
        if isinstance(value, int) and not isinstance(value, bool) and not -_DB_INT <= value < _DB_INT:
            raise HubError(ErrorCode.INVALID_MESSAGE, f"invalid {msg.type}: {name}: out of range")


def wire_error(exc: QueueError) -> HubError:
    return HubError(ERROR_CODE.get(type(exc), ErrorCode.CONFLICT), exc.message, exc.details)


@dataclass(frozen=True)
class _Account:
    """Who a token belongs to, as read at sign-in (``token_version``: staff only)."""

    principal: Principal
    municipality: str
    branch: str
    token_version: int | None = None


class ServerHandler:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.resume_tokens: dict[str, str] = {}  # token -> peer
        self.token_of: dict[str, str] = {}  # peer -> its current token
        self.app_versions: dict[str, str] = {}
        self.seq_of: dict[str, int] = {}  # peer -> the cluster registration of its socket here
        self.version_of: dict[str, int] = {}  # staff peer -> the account's token version its socket authenticated at
        # (when its read began, engine generation, the read: pending while it runs, then the catalog)
        self._catalog_cache: tuple[float, int, asyncio.Future[list[ServiceInfo]]] | None = None
        engine = ctx.engine
        self._accounts: Batcher[tuple[str, int], _Account | None] = Batcher(self._lookup_accounts)
        self._kiosks_in: Batcher[tuple[Principal, str, bool], None] = Batcher(
            for_each(lambda batch: engine.run(presence.kiosks_connected, batch)))
        self._kiosks_out: Batcher[Principal, None] = Batcher(
            for_each(lambda batch: engine.run(presence.kiosks_disconnected, batch)))
        # call.stats of the same moment from every socket: one step, each report its own outcome (None: recorded)
        self._stats_in: Batcher[tuple[Principal, CallStatsReport], QueueError | None] = Batcher(
            lambda batch: engine.run(calls.record_stats_batch, batch))

    async def authenticate(self, auth: Auth) -> tuple[Principal, Welcome]:
        if is_guest_token(auth.token):
            return await self._authenticate_guest(auth)
        try:
            claims = decode_token(self.ctx.settings.secret_key, auth.token)
        except InvalidToken as exc:
            raise AuthRejected(ErrorCode.AUTH_FAILED, str(exc)) from None
        # the sign-ins of one moment share one read-only lookup: a reconnect storm is thousands of these
        account = await self._accounts.submit((claims.kind, claims.principal_id))
        if claims.kind == "kiosk":
            if account is None:
                raise AuthRejected(ErrorCode.AUTH_FAILED, "kiosk unknown or revoked")
        elif account is None:
            raise AuthRejected(ErrorCode.AUTH_FAILED, "staff account unknown or disabled")
        elif claims.ver != account.token_version:
            raise AuthRejected(ErrorCode.AUTH_FAILED, "token revoked: refresh or log in again")
        principal = account.principal
        catalog = await self._catalog()
        token = secrets.token_urlsafe(24)
        old_token = self.token_of.pop(principal.peer, None)
        if old_token is not None:
            self.resume_tokens.pop(old_token, None)
        self.resume_tokens[token] = principal.peer
        self.token_of[principal.peer] = token
        self.app_versions[principal.peer] = auth.app_version
        if claims.kind == "staff":
            self.version_of[principal.peer] = claims.ver
        welcome = Welcome(
            ref=auth.id, role=principal.role, principal_id=principal.principal_id,  # type: ignore[arg-type]
            peer=principal.peer, display_name=principal.display_name,
            ice_servers=ice_servers_for(self.ctx.settings, principal.peer, principal.role),
            ice_transport_policy=ice_transport_policy(self.ctx.settings), resume_token=token,
            heartbeat_s=10.0,
            services=catalog, languages=known_languages(self.ctx.settings),
            municipality=account.municipality, branch=account.branch,
        )
        return principal, welcome

    async def _lookup_accounts(self, wanted: list[tuple[str, int]]) -> list[_Account | None]:
        """The accounts behind the tokens of one moment, in two Core queries (no ORM objects): a kiosk that
        is enrolled and not revoked, a staff member who is active in a role that signs in here."""
        kiosk_ids = {pid for kind, pid in wanted if kind == "kiosk"}
        staff_ids = {pid for kind, pid in wanted if kind == "staff"}
        found: dict[tuple[str, int], _Account] = {}
        async with self.ctx.reader() as db, db.begin():
            if kiosk_ids:
                for k in (await db.execute(
                        select(Kiosk.id, Kiosk.name, Branch.municipality_id, Branch.name_ja,
                               Municipality.name_ja.label("municipality"))
                        .join(Branch, Kiosk.branch_id == Branch.id).join(Municipality)
                        .where(Kiosk.id.in_(kiosk_ids), Kiosk.revoked_at.is_(None),
                               Kiosk.credential_hash.is_not(None)))).all():
                    found["kiosk", k.id] = _Account(Principal("kiosk", k.id, "kiosk", k.name, k.municipality_id),
                                                    k.municipality, k.name_ja)
            if staff_ids:
                for s in (await db.execute(
                        select(Staff.id, Staff.role, Staff.token_version, Staff.display_name, Staff.municipality_id,
                               Municipality.name_ja.label("municipality"))
                        .join(Municipality, Staff.municipality_id == Municipality.id)
                        .where(Staff.id.in_(staff_ids), Staff.active, Staff.role.in_(STAFF_ROLES)))).all():
                    found["staff", s.id] = _Account(Principal("staff", s.id, s.role, s.display_name, s.municipality_id),
                                                    s.municipality, "", s.token_version)
        return [found.get(w) for w in wanted]

    async def _authenticate_guest(self, auth: Auth) -> tuple[Principal, Welcome]:
        """A browser guest: a principal for its one invitation, while it is open and its call is live."""
        try:
            invitation_id = decode_guest_token(self.ctx.settings.secret_key, auth.token)
            g = await self.ctx.engine.run(guests.may_connect, invitation_id)
        except (InvalidToken, QueueError) as exc:
            raise AuthRejected(ErrorCode.AUTH_FAILED, getattr(exc, "message", str(exc))) from None
        principal = Principal("guest", g.invitation_id, "guest", g.display_name)
        welcome = Welcome(
            ref=auth.id, role="guest", principal_id=g.invitation_id, peer=principal.peer,
            # none while in the lobby: an admitted guest gets its TURN credential with its session.start
            display_name=g.display_name, ice_servers=ice_servers_for(self.ctx.settings, principal.peer, "guest"),
            ice_transport_policy=ice_transport_policy(self.ctx.settings),
            resume_token=secrets.token_urlsafe(24), heartbeat_s=10.0,  # a guest does not resume: no token kept
        )
        return principal, welcome

    async def _catalog(self) -> list[ServiceInfo]:
        """The services and whether anyone is on duty for each, for the welcome. Shared by the connects of
        one second while nothing changes on this node (a reconnect storm reads it once, not once per socket,
        and the sockets that arrive while it is being read wait for that one read); another node's change
        shows within a second, and ``ticket.create`` decides from the database itself."""
        now, generation = time.monotonic(), self.ctx.engine.generation
        cached = self._catalog_cache
        if cached is None or cached[1] != generation or (cached[2].done() and (
                now - cached[0] >= CATALOG_TTL_S or cached[2].cancelled() or cached[2].exception() is not None)):
            cached = (now, generation, asyncio.ensure_future(self._read_catalog()))  # a failed read is not kept
            self._catalog_cache = cached
        return await asyncio.shield(cached[2])  # one caller's cancellation does not cancel the others' read

    async def _read_catalog(self) -> list[ServiceInfo]:
        async with self.ctx.reader() as db, db.begin():
            services = (await db.execute(select(Service).order_by(Service.sort_order))).scalars().all()
            duty_skills = set((await db.execute(
                select(StaffSkill.service_id).join(Staff, Staff.id == StaffSkill.staff_id)
                .where(Staff.status.in_(ON_DUTY), Staff.active))).scalars())
        packs = server_packs(self.ctx.settings)
        return [ServiceInfo(code=s.code, name_ja=s.name_ja, name_en=s.name_en, description_ja=s.description_ja,
                            description_en=s.description_en, on_duty=s.id in duty_skills, hours=s.hours_ja,
                            texts=service_texts(s, packs))
                for s in services]

    async def on_connect(self, conn: Connection, resumed: bool) -> None:
        p, engine = conn.principal, self.ctx.engine
        self.seq_of[p.peer] = await self.ctx.delivery.cluster.register(p.peer)  # before the queue looks
        if p.kind == "kiosk":
            await self._kiosks_in.submit((p, self.app_versions.get(p.peer, ""), resumed))
        elif p.kind == "guest":
            await engine.run(guests.arrive, p)
        elif p.role in ("specialist", "supervisor"):
            await engine.run(presence.staff_connected, p, resumed)

    async def on_disconnect(self, conn: Connection) -> None:
        p = conn.principal
        token = self.token_of.get(p.peer)
        if token is not None and self.ctx.hub.connections.get(p.peer) is None:
            del self.token_of[p.peer]
            self.resume_tokens.pop(token, None)
        if self.ctx.hub.connections.get(p.peer) is None:
            self.version_of.pop(p.peer, None)
        if not await self.ctx.delivery.cluster.unregister(p.peer, self.seq_of.pop(p.peer, None)):
            return  # connected again on another node meanwhile: nothing has left
        if p.kind == "kiosk":
            await self._kiosks_out.submit(p)
        elif p.kind == "guest":
            await self.ctx.engine.run(guests.gone, p)
        elif p.role in ("specialist", "supervisor"):
            await self.ctx.engine.run(presence.staff_disconnected, p)

    async def on_message(self, conn: Connection, msg: ClientMessage, respond: Respond) -> None:
        _check_ints(msg)
        try:
            await self._run(conn.principal, msg, respond)
        except QueueError as exc:
            raise wire_error(exc) from None

    async def _run(self, p: Principal, msg: ClientMessage, respond: Respond) -> None:
        run = self.ctx.engine.run
        match msg:
            case TicketCreate():
                await run(tickets.create_ticket, p, msg, reply=respond)
            case TicketCancel():
                await run(tickets.cancel_ticket, p, msg.ticket_id, reply=respond)
            case OfferAccept():
                await run(tickets.accept, p, msg.ticket_id, reply=respond)
            case OfferDecline():
                await run(tickets.decline, p, msg.ticket_id, reply=respond)
            case StatusSet():
                await run(presence.set_status, p, msg, reply=respond)
            case TicketPriority():
                await run(priority.set_priority, p, msg, reply=respond)
            case KioskState():
                await run(calls.kiosk_screen, p, msg.screen, reply=respond)
            case KioskHealthReport():
                await run(record_health, p, msg, reply=respond)
            case FeedbackSubmit():
                await run(calls.feedback, p, msg, reply=respond)
            case SessionEnd():
                await run(calls.end_session, p, msg, reply=respond)
            case WrapupDone():
                await run(calls.wrapup_done, p, msg.session_id, reply=respond)
            case TransferRequest():
                await run(calls.transfer, p, msg, reply=respond)
            case CallMedia():
                await run(calls.media_state, p, msg, reply=respond)
            case CallStatsReport():  # batched with the other sockets' reports of this moment: one step for all
                refused = await self._stats_in.submit((p, msg))
                if refused is not None:
                    raise refused
                respond(Empty())
            case InviteRequest():
                await run(participants.invite, p, msg.session_id, msg.staff_id, reply=respond)
            case InviteAnswer() if not msg.accept:
                await run(participants.decline_invite, p, msg.session_id, reply=respond)
            case InviteAnswer():
                await run(participants.join, p, msg.session_id, "third_party", reply=respond)
            case SessionJoin():
                await run(participants.join, p, msg.session_id, "supervisor", reply=respond)
            case SessionLeave() if p.kind == "guest":
                await run(guests.leave, p, msg.session_id, reply=respond)
            case SessionLeave():
                await run(participants.leave, p, msg.session_id, reply=respond)
            case GuestInvite():
                await run(guests.invite, p, msg, reply=respond)
            case GuestAdmit():
                await run(guests.admit, p, msg, reply=respond)
            case GuestConsent():
                await run(guests.consent, p, msg, reply=respond)
            case CallbackBands():
                await run(callbacks.bands, p, msg, reply=respond)
            case CallbackCreate():
                await run(callbacks.create, p, msg, reply=respond)
            case CallbackList():
                await run(callbacks.list_tasks, p, reply=respond)
            case CallbackClaim():
                await run(callbacks.claim, p, msg, reply=respond)
            case CallbackOutcomeSet():
                await run(callbacks.record_outcome, p, msg, reply=respond)
            case BranchCall():
                await run(branch_calls.call, p, msg, reply=respond)
            case BranchAck():
                await run(branch_calls.ack, p, msg, reply=respond)
            case FormList():
                await run(forms.list_forms, p, msg, reply=respond)
            case FormSend():
                await run(forms.send, p, msg, reply=respond)
            case FormAnswer():
                await run(forms.answer, p, msg, reply=respond)
            case AppointmentLookup():
                await run(appointments.lookup, p, msg, reply=respond)
            case AppointmentCheckIn():
                await run(appointments.check_in, p, msg, reply=respond)
            case _:
                raise HubError(ErrorCode.UNKNOWN_TYPE, f"no handler for {msg.type}")
