"""Ticket lifecycle: create, cancel, route and offer, accept (the atomic claim), decline, expire, abandon.

Each operation takes a :class:`~server.queue.step.Step`, changes rows inside its transaction, appends
what must be said to ``step.outbox`` and returns its reply. ``outbox.requeue`` asks the engine to route
again and refresh everyone's view of the queue after the step has committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from server.case_records import find_case, last_specialist
from server.db.models import CallSession, Kiosk, Municipality, Service, Staff, Ticket
from server.languages import check_language
from server.queue import states
from server.queue.errors import Conflict, Forbidden, NoSpecialist, NotFound
from server.queue.queue_views import tell_kiosk, waits
from server.queue.routing import assign, could_ever_serve, unmet_needs
from server.queue.step import Step
from server.queue.views import (
    CALL_ROLES,
    LOCK_STAFF,
    LOCK_TICKET,
    ON_DUTY,
    active_ticket,
    kiosk_peer,
    needs_for,
    staff_peer,
    staff_view,
    ticket_view,
)
from signaling.principal import Principal
from signaling.protocol.messages import Offer, OfferRevoked, SessionStart, StatusUpdate, TicketCreate
from signaling.protocol.models import Participant
from signaling.protocol.replies import Accepted, TicketCreated, TicketRef


async def refuse_a_second_ticket(step: Step, kiosk: Principal) -> None:
    """One ticket per kiosk at a time (a walk-in's or an appointment's): the one it has is named in the conflict."""
    existing = await active_ticket(step.db, kiosk.principal_id)
    if existing is not None:
        raise Conflict("this kiosk already has an active ticket", {"ticket_id": existing.id})


async def create_ticket(step: Step, kiosk: Principal, msg: TicketCreate) -> TicketCreated:
    db, now = step.db, step.now
    await refuse_a_second_ticket(step, kiosk)
    check_language(step.settings, msg.language)
    service = (await db.execute(select(Service).where(Service.code == msg.service_code))).scalar_one_or_none()
    if service is None:
        raise NotFound(f"unknown service {msg.service_code!r}")
    k = await db.get(Kiosk, kiosk.principal_id)
    assert k is not None
    t = Ticket(kiosk_id=k.id, branch_id=k.branch_id, municipality_id=k.branch.municipality_id,
               service_id=service.id, service=service, needs=list(msg.needs), language=msg.language,
               arrival_at=now, created_at=now, state="waiting")
    on_duty = (await db.execute(select(Staff).where(Staff.status.in_(ON_DUTY), Staff.active,
                                                    Staff.role.in_(CALL_ROLES)))).scalars().unique().all()
    able = [sv for sv in map(staff_view, on_duty) if could_ever_serve(ticket_view(t), sv)]
    if not able:  # nobody for the service: the needs never decide this (DESIGN §4)
        t.state, t.ended_at = "no_specialist", now
        db.add(t)
        step.audit(kiosk.peer, "ticket.no_specialist", service.code, needs=list(msg.needs))
        step.metrics.no_specialist.inc()
        # raised after the commit (the engine's rule for NoSpecialist): the demand is recorded for the report
        raise NoSpecialist("no specialist for this service is on duty now",
                           {"service_code": service.code, "hours_ja": service.hours_ja, "hours_en": service.hours_en})
    case_found = None
    if msg.case_number is not None:  # not found: served as a walk-in all the same, and the kiosk is told
        case_found = await _present_case(step, t, k.branch.municipality, msg.case_number, on_duty)
    db.add(t)
    await db.flush()
    step.audit(kiosk.peer, "ticket.create", f"ticket:{t.id}", service=service.code, needs=list(msg.needs),
               language=msg.language, **({"case_id": t.case_id} if msg.case_number is not None else {}))
    step.metrics.tickets.labels(service.code).inc()
    w = (await waits(step)).get(t.id)
    step.outbox.requeue = True  # routes it, then pushes its first ticket.update (the ack already says the same)
    unmet = sorted(set.intersection(*(set(unmet_needs(ticket_view(t), sv)) for sv in able)))
    return TicketCreated(ticket_id=t.id, position=w.position if w else None, estimated_wait_s=w.wait_s if w else None,
                         unmet_needs=unmet, case_found=case_found)  # type: ignore[arg-type]


async def _present_case(step: Step, t: Ticket, municipality: Municipality, typed: str,
                        on_duty: Sequence[Staff]) -> bool:
    """Link ``t`` to the case of the resident's municipality that ``typed`` names; False when there is none (the
    resident is served as a walk-in all the same). The case's last specialist is preferred for
    ``case_prefer_wait_s`` if they are on duty now and could serve the ticket (server/queue/routing.py)."""
    case = await find_case(step.db, municipality, typed)
    if case is None:
        return False
    t.case_id, t.case = case.id, case
    last = await last_specialist(step.db, case.id)
    preferred = next((s for s in on_duty if s.id == last), None)
    if (preferred is not None and step.settings.case_prefer_wait_s > 0
            and step.presence.is_connected(staff_peer(preferred.id))
            and could_ever_serve(ticket_view(t), staff_view(preferred))):
        t.preferred_staff_id = preferred.id
        t.prefer_until = step.now + timedelta(seconds=step.settings.case_prefer_wait_s)
    return True


async def cancel_ticket(step: Step, kiosk: Principal, ticket_id: int) -> TicketRef:
    t = await step.db.get(Ticket, ticket_id, with_for_update=LOCK_TICKET)
    if t is None or t.kiosk_id != kiosk.principal_id:
        raise NotFound("no such ticket for this kiosk")
    if t.state not in states.QUEUED:
        raise Conflict(f"ticket is {t.state}; only a waiting ticket can be cancelled")
    if t.state == "offered" and t.offered_to_id is not None:
        await _release_staff(step, t.offered_to_id)
        step.send(staff_peer(t.offered_to_id), OfferRevoked(ticket_id=ticket_id, reason="cancelled"))
    states.check(t.state, "cancelled")
    t.state, t.ended_at, t.offered_to_id = "cancelled", step.now, None
    step.audit(kiosk.peer, "ticket.cancel", f"ticket:{t.id}")
    step.metrics.abandons.labels("cancelled").inc()
    tell_kiosk(step, t, None)
    step.outbox.requeue = True
    return TicketRef(ticket_id=ticket_id)


async def _release_staff(step: Step, staff_id: int, status: str = "available", reason: str = "") -> None:
    s = await step.db.get(Staff, staff_id, with_for_update=LOCK_STAFF)
    if s is not None and s.status == "offered":
        s.status, s.status_reason = status, reason
        if status == "available":
            s.idle_since = s.idle_since or step.now


async def route(step: Step) -> int:
    """Offer waiting tickets to available, connected specialists (one offer per specialist at a time);
    returns how many offers were made."""
    db, now = step.db, step.now
    tickets = (await db.execute(
        select(Ticket).where(Ticket.state == "waiting").with_for_update(skip_locked=True, of=Ticket)
    )).scalars().all()
    if not tickets:
        return 0
    _release_declines(step, tickets, now - timedelta(seconds=step.settings.decline_hold_s))
    staff = (await db.execute(
        select(Staff).where(Staff.status == "available", Staff.active, Staff.role.in_(CALL_ROLES))
        .with_for_update(skip_locked=True, of=Staff)
    )).scalars().unique().all()
    staff = [s for s in staff if step.presence.is_connected(staff_peer(s.id))]
    by_id = {t.id: t for t in tickets}
    staff_by_id = {s.id: s for s in staff}
    pairs = assign([ticket_view(t) for t in tickets], [staff_view(s) for s in staff], now,
                   step.settings.shared_pool_after_s)
    for tv, sv in pairs:
        t, s = by_id[tv.id], staff_by_id[sv.id]
        states.check(t.state, "offered")
        t.state, t.offered_to_id, t.offered_at = "offered", s.id, now
        t.offer_expires_at = now + timedelta(seconds=step.settings.offer_timeout_s)
        s.status = "offered"
        step.audit("system", "ticket.offer", f"ticket:{t.id}", staff_id=s.id)
        step.metrics.offers.inc()
        step.send(staff_peer(s.id), offer_of(t, s, now, step.settings.offer_timeout_s))
    return len(pairs)


def offer_of(t: Ticket, s: Staff, now: datetime, expires_in_s: float) -> Offer:
    return Offer(
        ticket_id=t.id, service_code=t.service.code, branch=t.branch.name_ja,
        municipality=t.branch.municipality.name_ja, **needs_for(t, s),
        waited_s=(now - t.arrival_at).total_seconds(), expires_in_s=max(0.0, expires_in_s),
        transferred=t.transfer_count > 0, case_number=t.case.number if t.case is not None else None,
    )


async def accept(step: Step, staff: Principal, ticket_id: int) -> Accepted:
    """The claim: one conditional UPDATE, so two consoles can never both win."""
    db, now = step.db, step.now
    s = await db.get(Staff, staff.principal_id, with_for_update=LOCK_STAFF)
    assert s is not None
    if s.status in ("in_call", "wrap_up"):
        raise Conflict(f"you are {s.status}; finish it first")
    t = await db.get(Ticket, ticket_id)
    if t is None:
        raise NotFound("no such ticket")
    if not could_ever_serve(ticket_view(t), staff_view(s)) and t.target_staff_id != s.id:
        raise Forbidden("you cannot serve this ticket (service or municipality)")
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
        raise Conflict("this ticket was taken or withdrawn")
    # took another ticket from the queue while holding an offer: that one goes to someone else now
    held = (await db.execute(
        select(Ticket).where(Ticket.state == "offered", Ticket.offered_to_id == s.id, Ticket.id != ticket_id)
        .with_for_update(of=Ticket)
    )).scalars().all()
    for other in held:
        back_to_waiting(other, s.id)
        step.audit(staff.peer, "ticket.offer_released", f"ticket:{other.id}", took=ticket_id)
    await db.refresh(t)
    previous_offer = t.offered_at if t.offered_to_id == s.id else None
    kiosk = kiosk_peer(t.kiosk_id)
    session = CallSession(
        ticket_id=t.id, kiosk_id=t.kiosk_id, staff_id=s.id, branch_id=t.branch_id,
        municipality_id=t.municipality_id, service_id=t.service_id, ticket_created_at=t.arrival_at,
        offered_at=previous_offer or now, accepted_at=now, media_seen_at=now, quality={}, case_id=t.case_id,
        participants=[{"peer": kiosk, "role": "resident", "joined_at": now.isoformat()},
                      {"peer": staff.peer, "role": "specialist", "joined_at": now.isoformat()}],
    )
    db.add(session)
    s.status, s.status_reason, s.idle_since = "in_call", "", None
    await db.flush()
    step.audit(staff.peer, "ticket.accept", f"ticket:{t.id}", session_id=session.id)
    step.metrics.accepts.inc()
    start = dict(
        session_id=session.id, ticket_id=t.id, service_code=t.service.code,
        participants=[Participant(peer=kiosk, role="resident"),
                      Participant(peer=staff.peer, role="specialist", display_name=s.display_name)],
        branch=t.branch.name_ja, municipality=t.branch.municipality.name_ja, **needs_for(t, s),
    )
    step.outbox.join(session.id, kiosk)
    step.outbox.join(session.id, staff.peer)
    tell_kiosk(step, t, None)
    step.send(kiosk, SessionStart(you=kiosk, offer_to=[], **start))  # type: ignore[arg-type]
    step.send(staff.peer, SessionStart(you=staff.peer, offer_to=[kiosk], **start))  # type: ignore[arg-type]
    for other in held:
        step.send(staff.peer, OfferRevoked(ticket_id=other.id, reason="declined"))
    step.outbox.requeue = True
    return Accepted(session_id=session.id, ticket_id=ticket_id)


async def decline(step: Step, staff: Principal, ticket_id: int) -> TicketRef:
    t = await step.db.get(Ticket, ticket_id, with_for_update=LOCK_TICKET)
    if t is None or t.state != "offered" or t.offered_to_id != staff.principal_id:
        raise NotFound("no open offer of this ticket to you")
    back_to_waiting(t, staff.principal_id, declined_at=step.now)
    await _release_staff(step, staff.principal_id)
    step.audit(staff.peer, "ticket.decline", f"ticket:{t.id}")
    step.outbox.requeue = True
    return TicketRef(ticket_id=ticket_id)


def back_to_waiting(t: Ticket, staff_id: int, *, declined_at: datetime | None = None,
                    unanswered: bool = False) -> None:
    """Withdraw the offer.

    ``declined_at``: the specialist said no then, so routing skips them for this ticket until
    ``decline_hold_s`` after its last decline (:func:`_release_declines`: when everyone on duty said no, the
    resident must not wait for ever). ``unanswered``: the offer timed out; the specialist is set away, and
    once back on duty may be offered it again (else a ticket only they can serve would wait for ever). A named
    colleague who declines or does not answer sends the ticket back to the service queue, and so does the
    case's last specialist (the preference ends). A dropped connection or another ticket taken is neither.
    """
    states.check(t.state, "waiting")
    t.state, t.offered_to_id, t.offered_at, t.offer_expires_at = "waiting", None, None, None
    if declined_at is not None:
        t.declined_by, t.declined_at = [*(t.declined_by or []), staff_id], declined_at
    if (declined_at is not None or unanswered) and t.target_staff_id == staff_id:
        t.target_staff_id = None
    if (declined_at is not None or unanswered) and t.preferred_staff_id == staff_id:
        t.preferred_staff_id, t.prefer_until = None, None  # the case's specialist said no: anyone, at once


async def expire_offers(step: Step) -> None:
    """An unanswered offer goes to the next specialist; the silent one is set away."""
    rows = (await step.db.execute(
        select(Ticket).where(Ticket.state == "offered", Ticket.offer_expires_at <= step.now)
        .with_for_update(skip_locked=True, of=Ticket)
    )).scalars().all()
    for t in rows:
        staff_id = t.offered_to_id
        assert staff_id is not None
        back_to_waiting(t, staff_id, unanswered=True)
        await _release_staff(step, staff_id, status="away", reason="no_answer")
        step.audit("system", "ticket.offer_timeout", f"ticket:{t.id}", staff_id=staff_id)
        step.send(staff_peer(staff_id), OfferRevoked(ticket_id=t.id, reason="timeout"))
        await push_status(step, staff_id)
        step.outbox.requeue = True


def _release_declines(step: Step, waiting: Sequence[Ticket], cutoff: datetime) -> None:
    """Tickets whose last decline is older than ``cutoff`` may be offered to their decliners again."""
    for t in waiting:
        if t.declined_at is not None and t.declined_at <= cutoff:
            t.declined_by, t.declined_at = [], None
            step.audit("system", "ticket.declines_released", f"ticket:{t.id}")


async def abandon_lost_kiosks(step: Step) -> None:
    """Tickets of kiosks disconnected longer than the grace period are abandoned."""
    limit = step.now - timedelta(seconds=step.settings.kiosk_grace_s)
    rows = (await step.db.execute(
        select(Ticket).where(Ticket.state.in_(states.QUEUED), Ticket.disconnected_at.is_not(None),
                             Ticket.disconnected_at <= limit)
        .with_for_update(skip_locked=True, of=Ticket)
    )).scalars().all()
    for t in rows:
        if t.state == "offered" and t.offered_to_id is not None:
            step.send(staff_peer(t.offered_to_id), OfferRevoked(ticket_id=t.id, reason="abandoned"))
            await _release_staff(step, t.offered_to_id)
        states.check(t.state, "abandoned")
        t.state, t.ended_at, t.offered_to_id = "abandoned", step.now, None
        step.audit("system", "ticket.abandoned", f"ticket:{t.id}")
        step.shared.told.pop(t.id, None)
    if rows:
        step.metrics.abandons.labels("abandoned").inc(len(rows))
        step.outbox.requeue = True


async def push_status(step: Step, staff_id: int) -> None:
    """Tell a console its own status (after the step's changes)."""
    s = await step.db.get(Staff, staff_id)
    if s is not None:
        step.send(staff_peer(staff_id), StatusUpdate(status=s.status, reason=s.status_reason))  # type: ignore[arg-type]

