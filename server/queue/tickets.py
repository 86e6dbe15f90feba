"""Ticket lifecycle: create, cancel, route and offer, accept (the atomic claim), decline, expire."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import CallSession, Kiosk, Service, Staff, Ticket
from server.queue import states
from server.queue.broadcast import broadcast
from server.queue.context import QueueContext, audit
from server.queue.routing import StaffView, TicketView, assign, could_ever_serve
from signaling.hub import HubError, Principal
from signaling.protocol.errors import ErrorCode
from signaling.protocol.messages import Offer, OfferRevoked, SessionStart, TicketCreate, TicketUpdate
from signaling.protocol.models import Participant

log = logging.getLogger("madoguchi.queue")
ON_DUTY = ("available", "offered", "in_call", "wrap_up")


def ticket_view(t: Ticket) -> TicketView:
    return TicketView(
        id=t.id, service_id=t.service_id, municipality_id=t.municipality_id, needs=frozenset(t.needs),
        priority=t.priority, arrival_at=t.arrival_at, shared_service=t.service.shared,
        target_staff_id=t.target_staff_id, declined_by=frozenset(t.declined_by or []),
    )


def staff_view(s: Staff) -> StaffView:
    return StaffView(
        id=s.id, municipality_id=s.municipality_id, skills=frozenset(x.id for x in s.skills),
        capabilities=frozenset(s.capabilities or []), idle_since=s.idle_since,
    )


async def create_ticket(ctx: QueueContext, kiosk: Principal, msg: TicketCreate) -> dict[str, Any]:
    async with ctx.lock, ctx.maker() as db, db.begin():
        existing = (await db.execute(
            select(Ticket).where(Ticket.kiosk_id == kiosk.principal_id, Ticket.state.in_(states.AT_KIOSK))
        )).scalar_one_or_none()
        if existing is not None:
            raise HubError(ErrorCode.CONFLICT, "this kiosk already has an active ticket",
                           {"ticket_id": existing.id})
        service = (await db.execute(select(Service).where(Service.code == msg.service_code))).scalar_one_or_none()
        if service is None:
            raise HubError(ErrorCode.NOT_FOUND, f"unknown service {msg.service_code!r}")
        k = await db.get(Kiosk, kiosk.principal_id)
        assert k is not None
        now = ctx.now()
        t = Ticket(kiosk_id=k.id, branch_id=k.branch_id, municipality_id=k.branch.municipality_id,
                   service_id=service.id, service=service, needs=list(msg.needs), language=msg.language,
                   arrival_at=now, created_at=now, state="waiting")
        on_duty = (await db.execute(select(Staff).where(Staff.status.in_(ON_DUTY), Staff.active))).scalars().all()
        if not any(could_ever_serve(ticket_view(t), staff_view(s)) for s in on_duty):
            t.state = "no_specialist"
            t.ended_at = now
            db.add(t)
            audit(db, kiosk.peer, "ticket.no_specialist", service.code, needs=list(msg.needs))
            ctx.metrics.no_specialist.inc()
            raise_after = HubError(ErrorCode.NO_SPECIALIST, "no specialist for this service is on duty now",
                                   {"service_code": service.code, "hours_ja": service.hours_ja,
                                    "hours_en": service.hours_en})
        else:
            db.add(t)
            await db.flush()
            audit(db, kiosk.peer, "ticket.create", f"ticket:{t.id}", service=service.code, needs=list(msg.needs))
            ctx.metrics.tickets.labels(service.code).inc()
            raise_after = None
    if raise_after is not None:  # committed first: the demand is recorded for the report
        raise raise_after
    await route(ctx)
    positions = await broadcast(ctx)
    pos = positions.get(t.id, (None, None))
    return {"ticket_id": t.id, "position": pos[0], "estimated_wait_s": pos[1]}


async def cancel_ticket(ctx: QueueContext, kiosk: Principal, ticket_id: int) -> dict[str, Any]:
    revoke: int | None = None
    async with ctx.lock, ctx.maker() as db, db.begin():
        t = await db.get(Ticket, ticket_id, with_for_update={"of": Ticket})
        if t is None or t.kiosk_id != kiosk.principal_id:
            raise HubError(ErrorCode.NOT_FOUND, "no such ticket for this kiosk")
        if t.state not in states.QUEUED:
            raise HubError(ErrorCode.CONFLICT, f"ticket is {t.state}; only a waiting ticket can be cancelled")
        if t.state == "offered" and t.offered_to_id is not None:
            revoke = t.offered_to_id
            await _release_staff(db, t.offered_to_id, ctx)
        states.check(t.state, "cancelled")
        t.state, t.ended_at, t.offered_to_id = "cancelled", ctx.now(), None
        audit(db, kiosk.peer, "ticket.cancel", f"ticket:{t.id}")
        service_code = t.service.code
    ctx.metrics.abandons.labels("cancelled").inc()
    if revoke is not None:
        await ctx.hub.send(f"staff:{revoke}", OfferRevoked(ticket_id=ticket_id, reason="cancelled"))
    await ctx.hub.send(kiosk.peer, TicketUpdate(ticket_id=ticket_id, state="cancelled", service_code=service_code))
    await route(ctx)
    await broadcast(ctx)
    return {"ticket_id": ticket_id}


async def _release_staff(db: AsyncSession, staff_id: int, ctx: QueueContext, status: str = "available",
                         reason: str = "") -> None:
    s = await db.get(Staff, staff_id, with_for_update={"of": Staff})
    if s is not None and s.status == "offered":
        s.status, s.status_reason = status, reason
        if status == "available":
            s.idle_since = s.idle_since or ctx.now()


async def route(ctx: QueueContext) -> None:
    """Offer waiting tickets to available specialists (one offer per specialist at a time)."""
    offers: list[tuple[int, Offer]] = []
    async with ctx.lock, ctx.maker() as db, db.begin():
        now = ctx.now()
        tickets = (await db.execute(
            select(Ticket).where(Ticket.state == "waiting").with_for_update(skip_locked=True, of=Ticket)
        )).scalars().all()
        if not tickets:
            return
        _release_declines(db, tickets, now - timedelta(seconds=ctx.settings.decline_hold_s))
        staff = (await db.execute(
            select(Staff).where(Staff.status == "available", Staff.active,
                                Staff.role.in_(("specialist", "supervisor")))
            .with_for_update(skip_locked=True, of=Staff)
        )).scalars().unique().all()
        staff = [s for s in staff if ctx.hub.is_connected(f"staff:{s.id}")]
        by_id = {t.id: t for t in tickets}
        staff_by_id = {s.id: s for s in staff}
        for tv, sv in assign([ticket_view(t) for t in tickets], [staff_view(s) for s in staff], now,
                             ctx.settings.shared_pool_after_s):
            t, s = by_id[tv.id], staff_by_id[sv.id]
            states.check(t.state, "offered")
            t.state, t.offered_to_id, t.offered_at = "offered", s.id, now
            t.offer_expires_at = now + timedelta(seconds=ctx.settings.offer_timeout_s)
            s.status = "offered"
            audit(db, "system", "ticket.offer", f"ticket:{t.id}", staff_id=s.id)
            offers.append((s.id, Offer(
                ticket_id=t.id, service_code=t.service.code, branch=t.branch.name_ja,
                municipality=t.branch.municipality.name_ja, needs=list(t.needs),  # type: ignore[arg-type]
                waited_s=(now - t.arrival_at).total_seconds(), expires_in_s=ctx.settings.offer_timeout_s,
                transferred=t.transfer_count > 0,
            )))
    for staff_id, offer in offers:
        ctx.metrics.offers.inc()
        if not await ctx.hub.send(f"staff:{staff_id}", offer):
            log.info("offer for ticket %s could not be delivered to staff %s", offer.ticket_id, staff_id)


async def accept(ctx: QueueContext, staff: Principal, ticket_id: int) -> dict[str, Any]:
    """The claim: one conditional UPDATE, so two consoles can never both win."""
    async with ctx.lock, ctx.maker() as db, db.begin():
        s = await db.get(Staff, staff.principal_id, with_for_update={"of": Staff})
        assert s is not None
        if s.status in ("in_call", "wrap_up"):
            raise HubError(ErrorCode.CONFLICT, f"you are {s.status}; finish it first")
        t = await db.get(Ticket, ticket_id)
        if t is None:
            raise HubError(ErrorCode.NOT_FOUND, "no such ticket")
        if not could_ever_serve(ticket_view(t), staff_view(s)) and t.target_staff_id != s.id:
            raise HubError(ErrorCode.FORBIDDEN, "you cannot serve this ticket (skill, needs or municipality)")
        now = ctx.now()
        result = await db.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id, or_(
                (Ticket.state == "offered") & (Ticket.offered_to_id == s.id),
                (Ticket.state == "waiting") & or_(Ticket.target_staff_id.is_(None), Ticket.target_staff_id == s.id),
            ))
            .values(state="in_call", offered_to_id=s.id)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise HubError(ErrorCode.CONFLICT, "this ticket was taken or withdrawn")
        # took another ticket from the queue while holding an offer: that one goes to someone else now
        held = (await db.execute(
            select(Ticket)
            .where(Ticket.state == "offered", Ticket.offered_to_id == s.id, Ticket.id != ticket_id)
            .with_for_update(of=Ticket)
        )).scalars().all()
        for other in held:
            _back_to_waiting(other, s.id)
            audit(db, staff.peer, "ticket.offer_released", f"ticket:{other.id}", took=ticket_id)
        await db.refresh(t)
        previous_offer = t.offered_at if t.offered_to_id == s.id else None
        session = CallSession(
            ticket_id=t.id, kiosk_id=t.kiosk_id, staff_id=s.id, branch_id=t.branch_id,
            municipality_id=t.municipality_id, service_id=t.service_id, ticket_created_at=t.arrival_at,
            offered_at=previous_offer or now, accepted_at=now, quality={},
            participants=[{"peer": f"kiosk:{t.kiosk_id}", "role": "resident", "joined_at": now.isoformat()},
                          {"peer": staff.peer, "role": "specialist", "joined_at": now.isoformat()}],
        )
        db.add(session)
        s.status, s.status_reason, s.idle_since = "in_call", "", None
        await db.flush()
        audit(db, staff.peer, "ticket.accept", f"ticket:{t.id}", session_id=session.id)
        kiosk_peer = f"kiosk:{t.kiosk_id}"
        start_kw = dict(
            session_id=session.id, ticket_id=t.id, service_code=t.service.code,
            participants=[Participant(peer=kiosk_peer, role="resident"),
                          Participant(peer=staff.peer, role="specialist", display_name=s.display_name)],
            branch=t.branch.name_ja, municipality=t.branch.municipality.name_ja, needs=list(t.needs),
        )
    ctx.metrics.accepts.inc()
    ctx.hub.join_room(session.id, kiosk_peer)
    ctx.hub.join_room(session.id, staff.peer)
    await ctx.hub.send(kiosk_peer, TicketUpdate(ticket_id=ticket_id, state="in_call",
                                                service_code=start_kw["service_code"]))  # type: ignore[arg-type]
    await ctx.hub.send(kiosk_peer, SessionStart(you=kiosk_peer, offer_to=[], **start_kw))  # type: ignore[arg-type]
    await ctx.hub.send(staff.peer, SessionStart(you=staff.peer, offer_to=[kiosk_peer], **start_kw))  # type: ignore[arg-type]
    for other in held:
        await ctx.hub.send(staff.peer, OfferRevoked(ticket_id=other.id, reason="declined"))
    if held:
        await route(ctx)
    await broadcast(ctx)
    return {"session_id": session.id, "ticket_id": ticket_id}


async def decline(ctx: QueueContext, staff: Principal, ticket_id: int) -> dict[str, Any]:
    async with ctx.lock, ctx.maker() as db, db.begin():
        t = await db.get(Ticket, ticket_id, with_for_update={"of": Ticket})
        if t is None or t.state != "offered" or t.offered_to_id != staff.principal_id:
            raise HubError(ErrorCode.NOT_FOUND, "no open offer of this ticket to you")
        _back_to_waiting(t, staff.principal_id, declined_at=ctx.now())
        await _release_staff(db, staff.principal_id, ctx)
        audit(db, staff.peer, "ticket.decline", f"ticket:{t.id}")
    await route(ctx)
    await broadcast(ctx)
    return {"ticket_id": ticket_id}


def _back_to_waiting(t: Ticket, staff_id: int, *, declined_at: datetime | None = None,
                     unanswered: bool = False) -> None:
    """Withdraw the offer.

    ``declined_at``: the specialist said no then, so routing skips them for this ticket until
    ``decline_hold_s`` after its last decline (:func:`_release_declines`: when everyone on duty said no, the
    resident must not wait for ever). ``unanswered``: the offer timed out; the specialist is set away, and
    once back on duty may be offered it again (else a ticket only they can serve would wait for ever). A named
    colleague who declines or does not answer sends the ticket back to the service queue. A dropped
    connection or another ticket taken is neither.
    """
    states.check(t.state, "waiting")
    t.state, t.offered_to_id, t.offered_at, t.offer_expires_at = "waiting", None, None, None
    if declined_at is not None:
        t.declined_by, t.declined_at = [*(t.declined_by or []), staff_id], declined_at
    if (declined_at is not None or unanswered) and t.target_staff_id == staff_id:
        t.target_staff_id = None


async def expire_offers(ctx: QueueContext) -> None:
    """An unanswered offer goes to the next specialist; the silent one is set away."""
    revoked: list[tuple[int, int]] = []
    async with ctx.lock, ctx.maker() as db, db.begin():
        now = ctx.now()
        rows = (await db.execute(
            select(Ticket).where(Ticket.state == "offered", Ticket.offer_expires_at <= now)
            .with_for_update(skip_locked=True, of=Ticket)
        )).scalars().all()
        for t in rows:
            staff_id = t.offered_to_id
            assert staff_id is not None
            _back_to_waiting(t, staff_id, unanswered=True)
            await _release_staff(db, staff_id, ctx, status="away", reason="no_answer")
            audit(db, "system", "ticket.offer_timeout", f"ticket:{t.id}", staff_id=staff_id)
            revoked.append((staff_id, t.id))
    for staff_id, tid in revoked:
        await ctx.hub.send(f"staff:{staff_id}", OfferRevoked(ticket_id=tid, reason="timeout"))
        from server.queue.presence import push_status  # local import: presence imports tickets
        await push_status(ctx, staff_id)
    if revoked:
        await route(ctx)
        await broadcast(ctx)


def _release_declines(db: AsyncSession, waiting: Sequence[Ticket], cutoff: datetime) -> None:
    """Tickets whose last decline is older than ``cutoff`` may be offered to their decliners again."""
    for t in waiting:
        if t.declined_at is not None and t.declined_at <= cutoff:
            t.declined_by, t.declined_at = [], None
            audit(db, "system", "ticket.declines_released", f"ticket:{t.id}")


async def abandon_lost_kiosks(ctx: QueueContext) -> None:
    """Tickets of kiosks disconnected longer than the grace period are abandoned."""
    revoke: list[tuple[int, int]] = []
    async with ctx.lock, ctx.maker() as db, db.begin():
        limit = ctx.now() - timedelta(seconds=ctx.settings.kiosk_grace_s)
        rows = (await db.execute(
            select(Ticket).where(Ticket.state.in_(states.QUEUED), Ticket.disconnected_at.is_not(None),
                                 Ticket.disconnected_at <= limit)
            .with_for_update(skip_locked=True, of=Ticket)
        )).scalars().all()
        for t in rows:
            if t.state == "offered" and t.offered_to_id is not None:
                revoke.append((t.offered_to_id, t.id))
                await _release_staff(db, t.offered_to_id, ctx)
            states.check(t.state, "abandoned")
            t.state, t.ended_at, t.offered_to_id = "abandoned", ctx.now(), None
            audit(db, "system", "ticket.abandoned", f"ticket:{t.id}")
    for staff_id, tid in revoke:
        await ctx.hub.send(f"staff:{staff_id}", OfferRevoked(ticket_id=tid, reason="abandoned"))
    if rows:
        ctx.metrics.abandons.labels("abandoned").inc(len(rows))
        await route(ctx)
        await broadcast(ctx)


async def active_ticket(db: AsyncSession, kiosk_id: int) -> Ticket | None:
    return (await db.execute(
        select(Ticket).where(Ticket.kiosk_id == kiosk_id, Ticket.state.in_(states.AT_KIOSK))
    )).scalar_one_or_none()


async def active_session(db: AsyncSession, ticket_id: int) -> CallSession | None:
    return (await db.execute(
        select(CallSession).where(CallSession.ticket_id == ticket_id, CallSession.ended_at.is_(None))
        .order_by(CallSession.id.desc()).limit(1)
    )).scalar_one_or_none()
