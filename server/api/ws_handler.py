"""The server's :class:`signaling.hub.Handler`: authenticates sockets and maps messages to queue operations."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select

from server.auth import InvalidToken, decode_token
from server.db.models import STAFF_ROLES, Kiosk, Service, Staff
from server.queue import calls, presence, tickets
from server.queue.context import QueueContext
from server.turn import ice_servers_for
from signaling.hub import AuthRejected, Connection, HubError, Principal
from signaling.protocol.errors import ErrorCode
from signaling.protocol.messages import (
    Auth,
    CallMedia,
    CallStatsReport,
    ClientMessage,
    FeedbackSubmit,
    InviteAnswer,
    InviteRequest,
    KioskState,
    OfferAccept,
    OfferDecline,
    SessionEnd,
    SessionJoin,
    SessionLeave,
    StatusSet,
    TicketCancel,
    TicketCreate,
    TransferRequest,
    Welcome,
    WrapupDone,
)
from signaling.protocol.models import ServiceInfo

_DB_INT = 2**63  # ids are 64-bit in every database; a larger one would reach the driver and fail there


def _check_ints(msg: ClientMessage) -> None:
    """The protocol accepts any int for ids; refuse what no database column can hold (not a server bug)."""
    for name, value in msg:
        if isinstance(value, int) and not isinstance(value, bool) and not -_DB_INT <= value < _DB_INT:
            raise HubError(ErrorCode.INVALID_MESSAGE, f"invalid {msg.type}: {name}: out of range")


class ServerHandler:
    def __init__(self, ctx: QueueContext) -> None:
        self.ctx = ctx
        self.resume_tokens: dict[str, str] = {}  # token -> peer
        self.token_of: dict[str, str] = {}  # peer -> its current token
        self.app_versions: dict[str, str] = {}

    async def authenticate(self, auth: Auth) -> tuple[Principal, Welcome]:
        try:
            claims = decode_token(self.ctx.settings.secret_key, auth.token)
        except InvalidToken as exc:
            raise AuthRejected(ErrorCode.AUTH_FAILED, str(exc)) from None
        async with self.ctx.maker() as db:
            if claims.kind == "kiosk":
                k = await db.get(Kiosk, claims.principal_id)
                if k is None or k.revoked_at is not None or k.credential_hash is None:
                    raise AuthRejected(ErrorCode.AUTH_FAILED, "kiosk unknown or revoked")
                principal = Principal("kiosk", k.id, "kiosk", k.name, k.branch.municipality_id)
                extra = {"municipality": k.branch.municipality.name_ja, "branch": k.branch.name_ja}
            else:
                s = await db.get(Staff, claims.principal_id)
                if s is None or not s.active or s.role not in STAFF_ROLES:
                    raise AuthRejected(ErrorCode.AUTH_FAILED, "staff account unknown or disabled")
                principal = Principal("staff", s.id, s.role, s.display_name, s.municipality_id)
                extra = {"municipality": s.municipality.name_ja, "branch": ""}
            services = (await db.execute(select(Service).order_by(Service.sort_order))).scalars().all()
            on_duty = (await db.execute(
                select(Staff).where(Staff.status.in_(tickets.ON_DUTY), Staff.active))).scalars().unique().all()
        duty_skills = {sk.id for s in on_duty for sk in s.skills}
        token = secrets.token_urlsafe(24)
        old_token = self.token_of.pop(principal.peer, None)
        if old_token is not None:
            self.resume_tokens.pop(old_token, None)
        self.resume_tokens[token] = principal.peer
        self.token_of[principal.peer] = token
        self.app_versions[principal.peer] = auth.app_version
        welcome = Welcome(
            ref=auth.id, role=principal.role, principal_id=principal.principal_id,  # type: ignore[arg-type]
            peer=principal.peer, display_name=principal.display_name,
            ice_servers=ice_servers_for(self.ctx.settings, principal.peer), resume_token=token,
            heartbeat_s=10.0,
            services=[ServiceInfo(code=s.code, name_ja=s.name_ja, name_en=s.name_en,
                                  description_ja=s.description_ja, description_en=s.description_en,
                                  on_duty=s.id in duty_skills, hours=s.hours_ja) for s in services],
            municipality=extra["municipality"], branch=extra["branch"],
        )
        return principal, welcome

    async def on_connect(self, conn: Connection, resumed: bool) -> None:
        p = conn.principal
        if p.kind == "kiosk":
            await presence.kiosk_connected(self.ctx, p, self.app_versions.get(p.peer, ""))
        elif p.role in ("specialist", "supervisor"):
            await presence.staff_connected(self.ctx, p, resumed)

    async def on_disconnect(self, conn: Connection) -> None:
        p = conn.principal
        token = self.token_of.get(p.peer)
        if token is not None and self.ctx.hub.connections.get(p.peer) is None:
            del self.token_of[p.peer]
            self.resume_tokens.pop(token, None)
        if p.kind == "kiosk":
            await presence.kiosk_disconnected(self.ctx, p)
        elif p.role in ("specialist", "supervisor"):
            await presence.staff_disconnected(self.ctx, p)

    async def on_message(self, conn: Connection, msg: ClientMessage) -> dict[str, Any] | None:
        ctx, p = self.ctx, conn.principal
        _check_ints(msg)
        match msg:
            case TicketCreate():
                return await tickets.create_ticket(ctx, p, msg)
            case TicketCancel():
                return await tickets.cancel_ticket(ctx, p, msg.ticket_id)
            case KioskState():
                return await calls.kiosk_screen(ctx, p, msg.screen)
            case FeedbackSubmit():
                return await calls.feedback(ctx, p, msg)
            case StatusSet():
                return await presence.set_status(ctx, p, msg.status, msg.reason)
            case OfferAccept():
                return await tickets.accept(ctx, p, msg.ticket_id)
            case OfferDecline():
                return await tickets.decline(ctx, p, msg.ticket_id)
            case SessionEnd():
                return await calls.end_session(ctx, p, msg.session_id)
            case WrapupDone():
                return await calls.wrapup_done(ctx, p, msg.session_id)
            case TransferRequest():
                return await calls.transfer(ctx, p, msg)
            case InviteRequest():
                return await calls.invite(ctx, p, msg.session_id, msg.staff_id)
            case InviteAnswer():
                if not msg.accept:
                    ctx.pending_invites.discard((msg.session_id, p.principal_id))
                    return {"session_id": msg.session_id, "joined": False}
                return await calls.join(ctx, p, msg.session_id, "third_party")
            case SessionJoin():
                return await calls.join(ctx, p, msg.session_id, "supervisor")
            case SessionLeave():
                return await calls.leave(ctx, p, msg.session_id)
            case CallMedia():
                return await calls.media_state(ctx, p, msg)
            case CallStatsReport():
                return await calls.record_stats(ctx, p, msg)
        raise HubError(ErrorCode.UNKNOWN_TYPE, f"no handler for {msg.type}")
