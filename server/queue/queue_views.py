"""What kiosks and consoles are told about the queue: each waiting kiosk its position and honest wait
(server/queue/waits.py), each console the tickets it may serve. Only changes are pushed to kiosks:
a kiosk counts its wait down itself between updates."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import CallSession, Staff, Ticket
from server.queue import states
from server.queue.appointment_slots import booked_slots
from server.queue.routing import could_ever_serve, queue_order, tier
from server.queue.step import Step
from server.queue.views import CALL_ROLES, ON_DUTY, kiosk_peer, staff_peer, staff_view, ticket_view
from server.queue.waits import OnDuty, Wait, estimate
from signaling.protocol.messages import QueueSnapshot, TicketUpdate
from signaling.protocol.models import QueueItem, StaffState

HANDLE_SAMPLE = 50
DRIFT_S = 30.0  # a kiosk's own countdown is trusted until the estimate moves by more than this (or 20 %)


async def handle_times(db: AsyncSession) -> dict[int, float]:
    """Median accept→end of the last calls per service (seconds)."""
    rows = (await db.execute(
        select(CallSession.service_id, CallSession.accepted_at, CallSession.ended_at)
        .where(CallSession.ended_at.is_not(None)).order_by(CallSession.id.desc()).limit(HANDLE_SAMPLE * 5)
    )).all()
    per: dict[int, list[float]] = defaultdict(list)
    for sid, a, e in rows:
        if e is not None and len(per[sid]) < HANDLE_SAMPLE:
            per[sid].append((e - a).total_seconds())
    return {sid: statistics.median(v) for sid, v in per.items() if v}


async def _queued(db: AsyncSession) -> Sequence[Ticket]:
    return (await db.execute(select(Ticket).where(Ticket.state.in_(states.QUEUED)))).scalars().all()


async def _staff(db: AsyncSession) -> Sequence[Staff]:
    return (await db.execute(select(Staff).where(Staff.active, Staff.role.in_(CALL_ROLES)))).scalars().unique().all()


async def waits(step: Step, tickets: Sequence[Ticket] | None = None,
                staff: Sequence[Staff] | None = None) -> dict[int, Wait]:
    db = step.db
    tickets = await _queued(db) if tickets is None else tickets
    staff = await _staff(db) if staff is None else staff
    handle = await handle_times(db)
    calls = {c.staff_id: c for c in (await db.execute(
        select(CallSession).where(CallSession.ended_at.is_(None)))).scalars().unique().all()}
    offered = {t.offered_to_id: t.id for t in tickets if t.state == "offered"}
    on_duty = []
    for s in staff:
        if s.status not in ON_DUTY:
            continue
        if s.status in ("available", "offered") and not step.presence.is_connected(staff_peer(s.id)):
            continue  # not there to answer
        call = calls.get(s.id)
        on_duty.append(OnDuty(staff=staff_view(s), status=s.status,
                              busy_since=call.accepted_at if call is not None else None,
                              offered_ticket=offered.get(s.id),
                              call_handle_s=handle.get(call.service_id) if call is not None else None))
    return estimate([ticket_view(t) for t in tickets], on_duty, step.now, step.settings.shared_pool_after_s,
                    handle, step.settings.default_handle_time_s, booked=await booked_slots(step))


def _worth_telling(step: Step, t: Ticket, w: Wait) -> bool:
    before = step.shared.told.get(t.id)
    if before is None:
        return True
    state, position, wait_s, at = before
    if state != t.state or position != w.position or (wait_s is None) != (w.wait_s is None):
        return True
    if wait_s is None or w.wait_s is None:
        return False
    counted_down = max(0.0, wait_s - (step.now - at).total_seconds())
    return abs(w.wait_s - counted_down) > max(DRIFT_S, 0.2 * w.wait_s)


def tell_kiosk(step: Step, t: Ticket, w: Wait | None, reason: str = "") -> None:
    """Push a queued ticket's state, position and wait to its kiosk, and remember what was said."""
    position, wait_s = (w.position, w.wait_s) if w is not None else (None, None)
    step.send(kiosk_peer(t.kiosk_id), TicketUpdate(
        ticket_id=t.id, state=t.state, service_code=t.service.code, position=position,  # type: ignore[arg-type]
        estimated_wait_s=wait_s, reason=reason))
    if t.state in states.QUEUED:
        step.shared.told[t.id] = (t.state, position, wait_s, step.now)
    else:
        step.shared.told.pop(t.id, None)


async def push_queue(step: Step, *, consoles: bool) -> None:
    """Kiosks: position and wait where they changed. Consoles (``consoles``): the queue they may serve."""
    tickets = await _queued(step.db)
    staff = await _staff(step.db)
    est = await waits(step, tickets, staff)
    for t in sorted(tickets, key=lambda t: queue_order(ticket_view(t))):
        if step.presence.is_connected(kiosk_peer(t.kiosk_id)) and _worth_telling(step, t, est[t.id]):
            tell_kiosk(step, t, est[t.id])
    queued_ids = {t.id for t in tickets}
    for tid in [tid for tid in step.shared.told if tid not in queued_ids]:
        del step.shared.told[tid]
    counts: dict[str, int] = defaultdict(int)
    for t in tickets:
        counts[t.service.code] += 1
    for code in set(counts) | set(_known_labels(step)):
        step.metrics.waiting.labels(code).set(counts.get(code, 0))
    if consoles:
        _push_consoles(step, tickets, staff)


def _push_consoles(step: Step, tickets: Sequence[Ticket], staff: Sequence[Staff]) -> None:
    views = {t.id: ticket_view(t) for t in tickets}
    ordered = sorted(tickets, key=lambda t: queue_order(views[t.id]))
    states_ = [StaffState(staff_id=s.id, name=s.display_name, status=s.status, reason=s.status_reason)  # type: ignore[arg-type]
               for s in staff]
    for s in staff:
        peer = staff_peer(s.id)
        if not step.presence.is_connected(peer):
            continue
        sv = staff_view(s)
        sees_all = s.role == "supervisor"
        items = [
            QueueItem(ticket_id=t.id, service_code=t.service.code, branch=t.branch.name_ja,
                      municipality=t.branch.municipality.name_ja, needs=list(t.needs), priority=t.priority,  # type: ignore[arg-type]
                      waited_s=round((step.now - t.arrival_at).total_seconds(), 1), state=t.state,  # type: ignore[arg-type]
                      tier=tier(views[t.id], sv))  # type: ignore[arg-type]
            for t in ordered if sees_all or could_ever_serve(views[t.id], sv)
        ]
        step.send(peer, QueueSnapshot(items=items, staff=states_ if sees_all else []))


def _known_labels(step: Step) -> list[str]:
    """Services already exported, so that an emptied queue goes back to 0."""
    return [str(sample.labels["service"]) for sample in next(iter(step.metrics.waiting.collect())).samples]
