"""Booking and cancelling appointments (issue 12 item 3), for staff: specialists and supervisors of the municipality
book a slot — a service at one of its branches at a time, optionally with a specialist and under a case — and may
cancel one that nobody has checked in to. Each booking gets a reservation number (予約番号): six random digits,
unique within the municipality and the day (Japan time), which the resident types at the kiosk. The REST routes
(server/api/routes/appointments.py) run these as queue steps, so the change reaches every connected colleague
(``appointment.update``) and the walk-ins' estimates at once. Audited (never the reservation number)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from server.case_records import find_case
from server.db.models import Appointment, Branch, Municipality, Service, Staff
from server.queue.errors import Conflict, Forbidden, Invalid, NotFound
from server.queue.routing import TicketView, could_ever_serve
from server.queue.step import Step
from server.queue.views import CALL_ROLES, staff_peer, staff_view
from signaling.principal import Principal
from signaling.protocol.messages import AppointmentUpdate
from signaling.protocol.models import JST, RESERVATION_DIGITS, AppointmentItem

OPEN_STATES = ("booked", "checked_in")
MAX_AHEAD = timedelta(days=366)
LOCK_APPOINTMENT = {"of": Appointment}


@dataclass(frozen=True)
class Booking:
    branch_code: str
    service_code: str
    starts_at: datetime
    duration_min: int
    staff_id: int | None = None
    case_number: str | None = None


async def book(step: Step, staff: Principal, req: Booking) -> AppointmentItem:
    db, now = step.db, step.now
    me = await booker(step, staff)
    branch = (await db.execute(select(Branch).where(Branch.code == req.branch_code))).scalar_one_or_none()
    if branch is None or branch.municipality_id != me.municipality_id:
        raise NotFound("no such branch in your municipality")
    service = (await db.execute(select(Service).where(Service.code == req.service_code))).scalar_one_or_none()
    if service is None:
        raise NotFound(f"unknown service {req.service_code!r}")
    if req.starts_at <= now:
        raise Invalid("an appointment must start in the future")
    if req.starts_at - now > MAX_AHEAD:
        raise Invalid("an appointment may be booked up to a year ahead")
    ends_at = req.starts_at + timedelta(minutes=req.duration_min)
    if req.staff_id is not None:
        await _check_specialist(step, req, me, service, branch, ends_at)
    case_id = None
    if req.case_number is not None:
        case = await find_case(db, me.municipality, req.case_number)
        if case is None:
            raise NotFound("no such case in your municipality")
        case_id = case.id
    day = req.starts_at.astimezone(JST).date()
    a = Appointment(municipality_id=me.municipality_id, branch_id=branch.id, branch=branch, service_id=service.id,
                    service=service, day=day, starts_at=req.starts_at, duration_min=req.duration_min,
                    staff_id=req.staff_id, case_id=case_id, number=await _new_number(step, me.municipality, day),
                    state="booked", created_by_id=me.id, created_at=now)
    db.add(a)
    await db.flush()
    await db.refresh(a)
    step.audit(staff.peer, "appointment.book", f"appointment:{a.id}", branch=branch.code, service=service.code,
               starts_at=req.starts_at.isoformat(), duration_min=req.duration_min, staff_id=req.staff_id,
               case_id=case_id)
    await push_appointment(step, a)
    step.outbox.requeue = True  # a slot within the horizon changes the walk-ins' estimates
    return item_of(a)


async def cancel(step: Step, staff: Principal, appointment_id: int) -> AppointmentItem:
    me = await booker(step, staff)
    a = await step.db.get(Appointment, appointment_id, with_for_update=LOCK_APPOINTMENT)
    if a is None or a.municipality_id != me.municipality_id:
        raise NotFound("no such appointment in your municipality")
    if a.state == "checked_in":
        raise Conflict("the resident has checked in and is in the queue: serve them, or cancel the ticket")
    if a.state != "booked":
        raise Conflict(f"this appointment is {a.state}")
    a.state, a.closed_at = "cancelled", step.now
    step.audit(staff.peer, "appointment.cancel", f"appointment:{a.id}")
    await push_appointment(step, a)
    step.outbox.requeue = True
    return item_of(a)


async def booker(step: Step, staff: Principal) -> Staff:
    me = await step.db.get(Staff, staff.principal_id)
    if me is None or not me.active or me.role not in CALL_ROLES:
        raise Forbidden("only specialists and supervisors book appointments")
    return me


async def _check_specialist(step: Step, req: Booking, me: Staff, service: Service, branch: Branch,
                            ends_at: datetime) -> None:
    s = await step.db.get(Staff, req.staff_id)
    if s is None or not s.active or s.role not in CALL_ROLES:
        raise NotFound("no such specialist")
    probe = TicketView(id=0, service_id=service.id, municipality_id=branch.municipality_id, needs=frozenset(),
                       priority=0, arrival_at=step.now, shared_service=service.shared)
    if not could_ever_serve(probe, staff_view(s)):
        raise Invalid(f"{s.display_name} does not serve {service.code} for this municipality")
    others = (await step.db.execute(select(Appointment).where(
        Appointment.staff_id == s.id, Appointment.state.in_(OPEN_STATES),
        Appointment.starts_at < ends_at, Appointment.starts_at > req.starts_at - timedelta(hours=24),
    ))).scalars().unique().all()
    for o in others:
        if o.starts_at + timedelta(minutes=o.duration_min) > req.starts_at:
            raise Conflict(f"{s.display_name} has another appointment then", {"appointment_id": o.id})


async def _new_number(step: Step, municipality: Municipality, day: date) -> str:
    """Six random digits not yet used in the municipality on that day (the unique constraint backs this up)."""
    for _ in range(50):
        number = f"{secrets.randbelow(10 ** RESERVATION_DIGITS):0{RESERVATION_DIGITS}d}"
        taken = (await step.db.execute(select(Appointment.id).where(
            Appointment.municipality_id == municipality.id, Appointment.day == day, Appointment.number == number,
        ))).first()
        if taken is None:
            return number
    raise Conflict("no free reservation number for that day: try again")


def item_of(a: Appointment) -> AppointmentItem:
    return AppointmentItem(
        appointment_id=a.id, number=a.number, day=a.day, starts_at=a.starts_at, duration_min=a.duration_min,
        branch=a.branch.name_ja, branch_code=a.branch.code, service_code=a.service.code, staff_id=a.staff_id,
        staff_name=a.staff.display_name if a.staff is not None else "",
        case_number=a.case.number if a.case is not None else None, state=a.state,  # type: ignore[arg-type]
        checked_in_at=a.checked_in_at, ticket_id=a.ticket_id)


async def push_appointment(step: Step, a: Appointment) -> None:
    """``appointment.update`` to each connected specialist and supervisor of the appointment's municipality."""
    staff = (await step.db.execute(select(Staff.id).where(
        Staff.municipality_id == a.municipality_id, Staff.active, Staff.role.in_(CALL_ROLES)).order_by(Staff.id)
    )).scalars().all()
    item = item_of(a)
    for sid in staff:
        if step.presence.is_connected(staff_peer(sid)):
            step.send(staff_peer(sid), AppointmentUpdate(item=item))
