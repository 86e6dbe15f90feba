"""Push queue state: position and wait estimate to every waiting kiosk, the queue to staff."""

from __future__ import annotations

import statistics
from collections import defaultdict

from sqlalchemy import select

from server.db.models import CallSession, Staff, Ticket
from server.queue import states
from server.queue.context import QueueContext
from server.queue.routing import could_ever_serve, queue_order, tier
from signaling.protocol.messages import QueueSnapshot, TicketUpdate
from signaling.protocol.models import QueueItem, StaffState

HANDLE_SAMPLE = 50


async def handle_times(ctx: QueueContext) -> dict[int, float]:
    """Median accept→end of the last calls per service (seconds)."""
    async with ctx.maker() as db:
        rows = (await db.execute(
            select(CallSession.service_id, CallSession.accepted_at, CallSession.ended_at)
            .where(CallSession.ended_at.is_not(None)).order_by(CallSession.id.desc()).limit(HANDLE_SAMPLE * 5)
        )).all()
    per: dict[int, list[float]] = defaultdict(list)
    for sid, a, e in rows:
        if e is not None and len(per[sid]) < HANDLE_SAMPLE:
            per[sid].append((e - a).total_seconds())
    return {sid: statistics.median(v) for sid, v in per.items() if v}


async def broadcast(ctx: QueueContext) -> dict[int, tuple[int, float]]:
    """Send every waiting kiosk its position/estimate and every console its queue view."""
    from server.queue.tickets import staff_view, ticket_view  # tickets imports this module

    handle = await handle_times(ctx)
    async with ctx.maker() as db:
        tickets = (await db.execute(select(Ticket).where(Ticket.state.in_(states.QUEUED)))).scalars().all()
        staff = (await db.execute(select(Staff).where(Staff.active))).scalars().unique().all()
    now = ctx.now()
    on_duty = [s for s in staff if s.status in ("available", "offered", "in_call", "wrap_up")]
    views = {t.id: ticket_view(t) for t in tickets}
    by_service: dict[int, list[Ticket]] = defaultdict(list)
    for t in tickets:
        by_service[t.service_id].append(t)
    result: dict[int, tuple[int, float]] = {}
    for service_id, group in by_service.items():
        group.sort(key=lambda t: queue_order(views[t.id]))
        skilled = [s for s in on_duty if service_id in {x.id for x in s.skills}]
        servers = max(1, len(skilled))
        free_now = sum(1 for s in skilled if s.status == "available")
        per_call = handle.get(service_id, ctx.settings.default_handle_time_s)
        for i, t in enumerate(group):
            position = i + 1
            # ahead of a free specialist: ~0; otherwise half a call (residual) plus full calls per server
            ahead = max(0, position - free_now)
            estimate = 0.0 if ahead == 0 else round(per_call / 2 + (ahead - 1) / servers * per_call, 1)
            result[t.id] = (position, estimate)
            await ctx.hub.send(f"kiosk:{t.kiosk_id}", TicketUpdate(
                ticket_id=t.id, state=t.state, service_code=t.service.code, position=position,  # type: ignore[arg-type]
                estimated_wait_s=estimate,
            ))
    counts: dict[str, int] = defaultdict(int)
    for t in tickets:
        counts[t.service.code] += 1
    for code in {t.service.code for t in tickets} | set(_known_labels(ctx)):
        ctx.metrics.waiting.labels(code).set(counts.get(code, 0))
    staff_states = [StaffState(staff_id=s.id, name=s.display_name, status=s.status, reason=s.status_reason)  # type: ignore[arg-type]
                    for s in staff if s.role in ("specialist", "supervisor")]
    for s in staff:
        peer = f"staff:{s.id}"
        if not ctx.hub.is_connected(peer) or s.role not in ("specialist", "supervisor"):
            continue
        sv = staff_view(s)
        sees_all = s.role == "supervisor"
        items = [
            QueueItem(ticket_id=t.id, service_code=t.service.code, branch=t.branch.name_ja,
                      municipality=t.branch.municipality.name_ja, needs=list(t.needs), priority=t.priority,  # type: ignore[arg-type]
                      waited_s=round((now - t.arrival_at).total_seconds(), 1), state=t.state,  # type: ignore[arg-type]
                      tier=tier(views[t.id], sv))  # type: ignore[arg-type]
            for t in sorted(tickets, key=lambda t: queue_order(views[t.id]))
            if sees_all or could_ever_serve(views[t.id], sv)
        ]
        await ctx.hub.send(peer, QueueSnapshot(items=items, staff=staff_states if sees_all else []))
    return result


def _known_labels(ctx: QueueContext) -> list[str]:
    """Services already exported, so that an emptied queue goes back to 0."""
    return [str(sample.labels["service"]) for sample in next(iter(ctx.metrics.waiting.collect())).samples]
