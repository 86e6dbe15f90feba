"""Appointments in the queue (issue 12 item 3): the kiosk's check-in by reservation number, and the timers.

Check-in (``appointment.lookup`` to show it, ``appointment.check_in`` to take it): the number is looked up in the
kiosk's municipality. Refused, with a ``reason`` the kiosk explains — ``unknown``; ``other_day`` (it is another day's:
``day``); ``other_branch`` (``branch``); ``too_early`` (more than ``appointment_early_s`` before ``starts_at``);
``too_late`` (``appointment_no_show_s`` after it: released); ``cancelled``; ``closed`` (served, or released as a
no-show); ``checked_in``. A check-in makes a ticket with ``due_at`` = the appointment's time: never offered before,
then ahead of walk-ins (server/queue/routing.py), preferring the booked specialist until ``appointment_grace_s``
after its time — but only if they are on duty then (:func:`appointment_timers` drops the preference otherwise).
A resident who checks in early waits for their time on the waiting screen.

Guessing: a kiosk whose numbers were refused ``appointment_attempts`` times within ``appointment_attempts_window_s``
(whatever the reason) is refused (``locked``) until the oldest of them leaves the window — six random digits per
municipality and day are otherwise guessable from a kiosk at a few dozen tries a second. Counted in the node's memory
(a kiosk that reconnects to another node starts afresh there).

Timers (:func:`appointment_timers`, every engine tick): a booked appointment nobody checked in to
``appointment_no_show_s`` after its start is released as a no-show; a checked-in one follows its ticket (answered:
served; cancelled or abandoned: booked again, so the resident may check in again until the no-show limit). Every
change goes to the municipality's consoles (``appointment.update``) and is audited."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import select

from server.db.models import Appointment, Kiosk, Staff, Ticket
from server.queue import states
from server.queue.appointment_book import LOCK_APPOINTMENT, push_appointment
from server.queue.errors import Conflict, NotFound
from server.queue.queue_views import waits
from server.queue.step import Step
from server.queue.tickets import refuse_a_second_ticket
from server.queue.views import ON_DUTY, staff_peer
from signaling.principal import Principal
from signaling.protocol.messages import AppointmentCheckIn, AppointmentLookup
from signaling.protocol.models import JST
from signaling.protocol.replies import AppointmentCheckedIn, AppointmentFound

SERVED = ("in_call", "wrap_up", "done")


async def lookup(step: Step, kiosk: Principal, msg: AppointmentLookup) -> AppointmentFound:
    a = await _for_kiosk(step, kiosk, msg.number)
    return AppointmentFound(appointment_id=a.id, service_code=a.service.code, starts_at=a.starts_at,
                            duration_min=a.duration_min, branch=a.branch.name_ja, early=step.now < a.starts_at)


async def check_in(step: Step, kiosk: Principal, msg: AppointmentCheckIn) -> AppointmentCheckedIn:
    db, now = step.db, step.now
    await refuse_a_second_ticket(step, kiosk)
    a = await _for_kiosk(step, kiosk, msg.number, lock=True)
    t = Ticket(kiosk_id=kiosk.principal_id, branch_id=a.branch_id, municipality_id=a.municipality_id,
               service_id=a.service_id, service=a.service, branch=a.branch, needs=[], language=msg.language,
               arrival_at=now, created_at=now, state="waiting", due_at=a.starts_at, case_id=a.case_id)
    grace_ends = a.starts_at + timedelta(seconds=step.settings.appointment_grace_s)
    if a.staff_id is not None and now < grace_ends and (now < a.starts_at or await _on_duty(step, a.staff_id)):
        t.preferred_staff_id, t.prefer_until = a.staff_id, grace_ends
    db.add(t)
    await db.flush()
    a.state, a.checked_in_at, a.ticket_id = "checked_in", now, t.id
    step.audit(kiosk.peer, "appointment.check_in", f"appointment:{a.id}", ticket_id=t.id,
               early_s=round(max(0.0, (a.starts_at - now).total_seconds())))
    step.metrics.tickets.labels(a.service.code).inc()
    w = (await waits(step)).get(t.id)
    await push_appointment(step, a)
    step.outbox.requeue = True  # routes (at its time), then the kiosk's first ticket.update and the consoles' queues
    return AppointmentCheckedIn(appointment_id=a.id, ticket_id=t.id, service_code=a.service.code,
                                starts_at=a.starts_at, position=w.position if w else None,
                                estimated_wait_s=w.wait_s if w else None)


async def _for_kiosk(step: Step, kiosk: Principal, number: str, lock: bool = False) -> Appointment:
    """The appointment ``number`` names for this kiosk now, or the refusal that explains why not."""
    db, now, s = step.db, step.now, step.settings
    window = timedelta(seconds=s.appointment_attempts_window_s)
    refused = [at for at in step.shared.refused_numbers.get(kiosk.principal_id, []) if at > now - window]
    step.shared.refused_numbers[kiosk.principal_id] = refused
    if len(refused) >= s.appointment_attempts:
        raise Conflict("too many wrong reservation numbers from this kiosk: ask the staff",
                       {"reason": "locked", "retry_after_s": round((refused[0] + window - now).total_seconds())})
    k = await db.get(Kiosk, kiosk.principal_id)
    assert k is not None
    today = now.astimezone(JST).date()
    found = (await db.execute(select(Appointment).where(
        Appointment.municipality_id == k.branch.municipality_id, Appointment.number == number,
    ))).scalars().unique().all()
    a = next((x for x in found if x.day == today), None)
    if a is None:
        refused.append(now)
        if not found:
            raise NotFound("no appointment with this number", {"reason": "unknown"})
        other = _nearest(found, today)
        raise Conflict("this appointment is on another day", {"reason": "other_day", "day": other.day.isoformat(),
                                                              "starts_at": other.starts_at.isoformat()})
    if lock:
        await db.refresh(a, with_for_update=LOCK_APPOINTMENT)
    reason, details = _refusal(a, k, now, s.appointment_early_s, s.appointment_no_show_s)
    if reason is not None:
        refused.append(now)
        details = {"reason": reason, "starts_at": a.starts_at.isoformat(), **details}
        raise Conflict(f"appointment {reason.replace('_', ' ')}", details)
    return a


def _refusal(a: Appointment, k: Kiosk, now: datetime, early_s: float,
             no_show_s: float) -> tuple[str | None, dict[str, str]]:
    if a.branch_id != k.branch_id:
        return "other_branch", {"branch": a.branch.name_ja, "branch_en": a.branch.name_en}
    if a.state == "cancelled":
        return "cancelled", {}
    if a.state in ("served", "no_show"):
        return "closed", {}
    if a.state == "checked_in":
        return "checked_in", {}
    if now < a.starts_at - timedelta(seconds=early_s):
        return "too_early", {}
    if now >= a.starts_at + timedelta(seconds=no_show_s):
        return "too_late", {}
    return None, {}


def _nearest(found: Sequence[Appointment], today: date) -> Appointment:
    upcoming = sorted((x for x in found if x.day > today), key=lambda x: x.day)
    return upcoming[0] if upcoming else max(found, key=lambda x: x.day)


async def _on_duty(step: Step, staff_id: int) -> bool:
    s = await step.db.get(Staff, staff_id)
    return (s is not None and s.active and s.status in ON_DUTY
            and step.presence.is_connected(staff_peer(staff_id)))


async def appointment_timers(step: Step) -> None:
    """No-shows released; checked-in appointments follow their tickets; a due appointment whose specialist is not on
    duty goes to anyone eligible at once."""
    db, now, s = step.db, step.now, step.settings
    changed: list[Appointment] = []
    late = (await db.execute(select(Appointment).where(
        Appointment.state == "booked", Appointment.starts_at <= now - timedelta(seconds=s.appointment_no_show_s))
        .with_for_update(skip_locked=True, of=Appointment))).scalars().unique().all()
    for a in late:
        a.state, a.closed_at = "no_show", now
        step.audit("system", "appointment.no_show", f"appointment:{a.id}", starts_at=a.starts_at.isoformat())
        changed.append(a)
    followed = (await db.execute(select(Appointment, Ticket).join(Ticket, Appointment.ticket_id == Ticket.id).where(
        Appointment.state == "checked_in", Ticket.state.not_in(states.QUEUED))
        .with_for_update(skip_locked=True, of=Appointment))).unique().all()
    for a, t in followed:
        if t.state in SERVED:
            a.state, a.closed_at = "served", now
        elif now < a.starts_at + timedelta(seconds=s.appointment_no_show_s):
            a.state, a.checked_in_at, a.ticket_id = "booked", None, None  # may check in again
        else:
            a.state, a.closed_at = "no_show", now
        step.audit("system", f"appointment.{a.state}", f"appointment:{a.id}", ticket_id=t.id, ticket_state=t.state)
        changed.append(a)
    due = (await db.execute(select(Ticket).where(
        Ticket.state == "waiting", Ticket.due_at <= now, Ticket.preferred_staff_id.is_not(None))
        .with_for_update(skip_locked=True, of=Ticket))).scalars().unique().all()
    for t in due:
        if t.due_at is not None and t.preferred_staff_id is not None and not await _on_duty(step, t.preferred_staff_id):
            step.audit("system", "appointment.specialist_absent", f"ticket:{t.id}", staff_id=t.preferred_staff_id)
            t.preferred_staff_id, t.prefer_until = None, None
            step.outbox.requeue = True
    for a in changed:
        await push_appointment(step, a)
    if changed:
        step.outbox.requeue = True
