"""Who is connected: kiosk grace and resume, staff status (available/away/...)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from server.db.models import CallSession, Kiosk, Staff, Ticket
from server.queue.broadcast import broadcast
from server.queue.context import QueueContext, audit
from server.queue.tickets import _back_to_waiting, active_session, active_ticket, route
from signaling.hub import HubError, Principal
from signaling.protocol.errors import ErrorCode
from signaling.protocol.messages import OfferRevoked, SessionEnded, SessionStart, StatusUpdate, TicketUpdate
from signaling.protocol.models import Participant


async def push_status(ctx: QueueContext, staff_id: int) -> None:
    async with ctx.maker() as db:
        s = await db.get(Staff, staff_id)
    if s is not None:
        await ctx.hub.send(f"staff:{staff_id}", StatusUpdate(status=s.status, reason=s.status_reason))  # type: ignore[arg-type]


async def set_status(ctx: QueueContext, staff: Principal, status: str, reason: str) -> dict[str, Any]:
    async with ctx.lock, ctx.maker() as db, db.begin():
        s = await db.get(Staff, staff.principal_id, with_for_update={"of": Staff})
        assert s is not None
        if s.role not in ("specialist", "supervisor"):
            raise HubError(ErrorCode.FORBIDDEN, "only specialists and supervisors take calls")
        if s.status in ("in_call", "wrap_up", "offered"):
            raise HubError(ErrorCode.CONFLICT, f"you are {s.status}; status changes after it")
        if status == "available" and s.status != "available":
            s.idle_since = ctx.now()
        s.status, s.status_reason = status, reason if status == "away" else ""
        audit(db, staff.peer, "staff.status", staff.peer, status=status, reason=reason)
    await push_status(ctx, staff.principal_id)
    await route(ctx)
    await broadcast(ctx)
    return {"status": status}


async def kiosk_connected(ctx: QueueContext, kiosk: Principal, app_version: str) -> None:
    """A kiosk (re)connects: within the grace period it gets its ticket and position back."""
    start: SessionStart | None = None
    async with ctx.lock, ctx.maker() as db, db.begin():
        k = await db.get(Kiosk, kiosk.principal_id)
        assert k is not None
        k.last_seen_at, k.app_version = ctx.now(), app_version
        t = await active_ticket(db, k.id)
        if t is not None:
            t.disconnected_at = None
            audit(db, kiosk.peer, "kiosk.resume", f"ticket:{t.id}", state=t.state)
            if t.state == "in_call":
                sess = await active_session(db, t.id)
                if sess is not None:
                    ctx.hub.join_room(sess.id, kiosk.peer)
                    start = SessionStart(
                        session_id=sess.id, ticket_id=t.id, service_code=t.service.code, you=kiosk.peer,
                        participants=[Participant(peer=p["peer"], role=p["role"]) for p in sess.participants
                                      if "left_at" not in p], offer_to=[],
                    )
            ticket_state = (t.id, t.state, t.service.code, "resumed")
        else:
            # back after the grace: say the ticket is gone, or the kiosk would show "waiting" for ever
            last = (await db.execute(select(Ticket).where(Ticket.kiosk_id == k.id)
                                     .order_by(Ticket.id.desc()).limit(1))).scalar_one_or_none()
            ticket_state = None
            if last is not None and last.state == "abandoned":
                ticket_state = (last.id, last.state, last.service.code, "grace_expired")
    ctx.metrics.connected.labels("kiosk").inc()
    if ticket_state is not None:
        tid, state, code, why = ticket_state
        await ctx.hub.send(kiosk.peer, TicketUpdate(ticket_id=tid, state=state, service_code=code,  # type: ignore[arg-type]
                                                    reason=why))
    if start is not None:
        await ctx.hub.send(kiosk.peer, start)
    if ticket_state is not None and ticket_state[1] in ("waiting", "offered"):
        await broadcast(ctx)  # only a resumed queued ticket changes anyone's view (not every idle kiosk)


async def kiosk_disconnected(ctx: QueueContext, kiosk: Principal) -> None:
    async with ctx.lock, ctx.maker() as db, db.begin():
        k = await db.get(Kiosk, kiosk.principal_id)
        if k is not None:
            k.last_seen_at = ctx.now()
            k.screen = "offline"
        t = await active_ticket(db, kiosk.principal_id)
        if t is not None:
            t.disconnected_at = ctx.now()  # a call in progress keeps its media; queued tickets get the grace
    ctx.metrics.connected.labels("kiosk").dec()


async def staff_connected(ctx: QueueContext, staff: Principal, resumed: bool = False) -> None:
    """A console (re)connects: a live call is re-announced; a console started afresh (not resuming) is also
    told about a finished call whose wrap-up it still owes, or it could never finish it."""
    async with ctx.lock, ctx.maker() as db, db.begin():
        s = await db.get(Staff, staff.principal_id, with_for_update={"of": Staff})
        assert s is not None
        if s.status == "offline":
            s.status, s.status_reason = "away", "signed_in"
        sess = (await db.execute(
            select(CallSession).where(CallSession.staff_id == s.id, CallSession.wrapup_done_at.is_(None))
            .order_by(CallSession.id.desc()).limit(1)
        )).scalar_one_or_none()
        resync: SessionStart | SessionEnded | None = None
        if sess is not None and sess.ended_at is not None and not resumed:
            resync = SessionEnded(session_id=sess.id, reason=sess.end_reason or "staff_hangup",  # type: ignore[arg-type]
                                  wrap_up=True)
        if sess is not None and sess.ended_at is None:
            ctx.hub.join_room(sess.id, staff.peer)
            resync = SessionStart(
                session_id=sess.id, ticket_id=sess.ticket_id, service_code=sess.service.code, you=staff.peer,
                participants=[Participant(peer=p["peer"], role=p["role"]) for p in sess.participants
                              if "left_at" not in p], offer_to=[],
            )
    ctx.metrics.connected.labels("staff").inc()
    await push_status(ctx, staff.principal_id)
    if resync is not None:
        await ctx.hub.send(staff.peer, resync)
    await broadcast(ctx)


async def staff_disconnected(ctx: QueueContext, staff: Principal) -> None:
    """An available specialist who vanishes gets no more offers; a call keeps its media."""
    revoked: int | None = None
    async with ctx.lock, ctx.maker() as db, db.begin():
        s = await db.get(Staff, staff.principal_id, with_for_update={"of": Staff})
        if s is not None and s.status in ("available", "away", "offered"):
            if s.status == "offered":
                t = (await db.execute(select(Ticket).where(Ticket.state == "offered", Ticket.offered_to_id == s.id)
                                      .with_for_update(of=Ticket))).scalar_one_or_none()
                if t is not None:
                    _back_to_waiting(t, s.id)  # gone, not a refusal: may get it again
                    revoked = t.id
            s.status, s.status_reason = "offline", ""
            audit(db, staff.peer, "staff.offline", staff.peer)
    ctx.metrics.connected.labels("staff").dec()
    if revoked is not None:
        await ctx.hub.send(staff.peer, OfferRevoked(ticket_id=revoked, reason="declined"))
    await route(ctx)
    await broadcast(ctx)
