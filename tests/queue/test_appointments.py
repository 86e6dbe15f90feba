"""Appointments in the queue (issue 12 item 3), alone on the manual clock (tests/queue/world.py): real engine, real
database (SQLite and PostgreSQL), whole outboxes asserted. An appointment's ticket is offered at its time — not before
— and then ahead of walk-ins; walk-ins' estimates hold its slot; a booking nobody checks in to is released as a no-show
by the engine's tick; a wrong check-in is explained and changes nothing.

Demo seed (server/db/seed.py): sato (Kitami specialist; disability), tanaka (Kitami supervisor; every service),
takahashi (Bihoro). T0 is 09:00 in Japan on Monday 7 December 2026."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server.db.models import Appointment, AuditEvent, Branch, CallSession, Note, Staff, Ticket
from server.queue import appointment_book, appointments, calls, presence, tickets
from server.queue.appointment_book import Booking
from server.queue.errors import Conflict, NotFound, QueueError
from signaling.principal import Principal
from signaling.protocol.messages import (
    AppointmentCheckIn,
    AppointmentLookup,
    Offer,
    SessionEnd,
    StatusSet,
    TicketCreate,
)
from signaling.protocol.models import AppointmentItem
from signaling.protocol.replies import AppointmentCheckedIn, AppointmentFound, TicketCreated
from tests.queue.test_engine import SETTINGS
from tests.queue.world import T0, World, world

NO_SHOW_S, EARLY_S, GRACE_S, HORIZON_S = 900.0, 3600.0, 300.0, 3600.0
HANDLE_S = SETTINGS["default_handle_time_s"]  # 600 s: a call with no history behind it


@pytest.fixture
async def w(tmp_path: Path, backend: str):  # type: ignore[no-untyped-def]
    async with world(tmp_path, backend, **SETTINGS, appointment_no_show_s=NO_SHOW_S, appointment_early_s=EARLY_S,
                     appointment_grace_s=GRACE_S, appointment_horizon_s=HORIZON_S) as w:
        yield w


async def book(w: World, at_s: float, *, staff: str | None = None, branch: str = "kitami-tokoro",
               service: str = "disability", minutes: int = 30) -> AppointmentItem:
    """tanaka books an appointment ``at_s`` seconds after T0."""
    tanaka = Principal("staff", await _id(w, "tanaka"), "supervisor", "田中 誠", None)
    staff_id = await _id(w, staff) if staff else None
    item = await w.engine.run(appointment_book.book, tanaka, Booking(
        branch_code=branch, service_code=service, starts_at=T0 + timedelta(seconds=at_s), duration_min=minutes,
        staff_id=staff_id))
    assert isinstance(item, AppointmentItem)
    return item


async def _id(w: World, username: str | None) -> int:
    async with w.engine.maker() as db:
        return int((await db.execute(select(Staff.id).where(Staff.username == username))).scalar_one())


async def check_in(w: World, kiosk: Principal, number: str) -> AppointmentCheckedIn:
    r = await w.run(appointments.check_in, kiosk, AppointmentCheckIn(number=number))
    assert isinstance(r, AppointmentCheckedIn)
    return r


async def walk_in(w: World, kiosk: Principal) -> TicketCreated:
    r = await w.run(tickets.create_ticket, kiosk, TicketCreate(service_code="disability"))
    assert isinstance(r, TicketCreated)
    return r


async def appointment(w: World, appointment_id: int) -> Appointment:
    async with w.engine.maker() as db:
        a = await db.get(Appointment, appointment_id)
        assert a is not None
        return a


def offers(msgs: list[tuple[str, Any]]) -> list[tuple[str, int]]:
    return [(p, m.ticket_id) for p, m in msgs if isinstance(m, Offer)]


async def end_call(w: World, staff: Principal) -> None:
    """``staff``'s call ends (if the silent-call rule has not ended it already) and they finish the wrap-up."""
    async with w.engine.maker() as db, db.begin():
        sess = (await db.execute(select(CallSession).where(
            CallSession.staff_id == staff.principal_id, CallSession.wrapup_done_at.is_(None)))).scalar_one()
        session_id, ended = sess.id, sess.ended_at is not None
        db.add(Note(session_id=session_id, municipality_id=sess.municipality_id, author_id=staff.principal_id,
                    category="相談", summary=""))
    if not ended:
        await w.run(calls.end_session, staff, SessionEnd(session_id=session_id))
    await w.run(calls.wrapup_done, staff, session_id)


async def busy_sato_and_a_waiting_walk_in(w: World) -> tuple[Principal, Principal, TicketCreated, Principal]:
    """sato in a call with a first walk-in; a second walk-in waiting since T0+5; a kiosk for the appointment."""
    sato = await w.staff("sato", available=True)
    first = await walk_in(w, await w.kiosk())
    await w.run(tickets.accept, sato, first.ticket_id)
    await w.tick(5)
    walker = await w.kiosk()
    second = await walk_in(w, walker)
    resident = await w.kiosk()
    w.take()
    return sato, walker, second, resident


async def test_a_checked_in_appointment_waits_for_its_time_then_goes_ahead_of_walk_ins(w: World) -> None:
    a = await book(w, 300)
    sato, walker, second, resident = await busy_sato_and_a_waiting_walk_in(w)
    await w.tick(5)  # T0+10: the resident checks in, 290 s early
    r = await check_in(w, resident, a.number)
    assert (r.appointment_id, r.starts_at, r.position) == (a.appointment_id, a.starts_at, 1)
    assert r.estimated_wait_s == HANDLE_S - 10  # sato's call ends later than its time: first after it
    assert w.take() == [
        (resident.peer, "reply"),
        (sato.peer, "appointment.update"),   # checked in, on the day view of the municipality's consoles
        (resident.peer, "ticket.update"),    # waiting (the routing step found nobody free)
        (walker.peer, "ticket.update"),      # the walk-in who came first is second now
        (sato.peer, "queue.snapshot"),
    ]
    assert (await appointment(w, a.appointment_id)).state == "checked_in"
    t = await w.ticket(r.ticket_id)
    assert (t.due_at, t.state, t.preferred_staff_id) == (a.starts_at, "waiting", None)
    await w.tick(290)  # its time: due, but nobody is free
    assert offers(w.take_msgs()) == []
    await w.tick(1)
    tanaka = await w.staff("tanaka", available=True)  # free after its time: the appointment first
    msgs = w.take_msgs()
    assert offers(msgs) == [] and (await w.ticket(r.ticket_id)).state == "offered"  # offered in w.staff's steps
    assert (await w.ticket(r.ticket_id)).offered_to_id == tanaka.principal_id
    assert (await w.ticket(second.ticket_id)).state == "waiting"  # the walk-in who came first still waits
    await w.run(tickets.accept, tanaka, r.ticket_id)
    await w.tick(0)  # the timers: the appointment follows its ticket
    assert (await appointment(w, a.appointment_id)).state == "served"
    await end_call(w, sato)  # sato free again: the walk-in next
    assert offers(w.take_msgs()) == [(sato.peer, second.ticket_id)]


async def test_before_its_time_a_free_specialist_takes_the_walk_in_not_the_appointment(w: World) -> None:
    a = await book(w, 300)
    _sato, walker, second, resident = await busy_sato_and_a_waiting_walk_in(w)
    r = await check_in(w, resident, a.number)
    w.take()
    await w.tick(90)
    tanaka = await w.staff("tanaka")  # connected, then available 100 s after T0: before the appointment's time
    await w.run(presence.set_status, tanaka, StatusSet(status="available"))
    msgs = w.take_msgs()
    assert offers(msgs) == [(tanaka.peer, second.ticket_id)]
    assert [p for p, m in msgs if getattr(m, "type", "") == "ticket.update"][:1] == [walker.peer]
    assert (await w.ticket(r.ticket_id)).state == "waiting"
    await w.run(tickets.accept, tanaka, second.ticket_id)
    sato = _sato
    await w.tick(100)
    await end_call(w, sato)  # sato free at T0+195 s: nobody else waits, and the appointment is not due
    assert offers(w.take_msgs()) == [] and (await w.ticket(r.ticket_id)).state == "waiting"
    await w.tick(300 - 195 - 1)
    assert offers(w.take_msgs()) == []
    await w.tick(1)  # its time, on the engine's tick
    assert offers(w.take_msgs()) == [(sato.peer, r.ticket_id)]


async def test_the_booked_specialist_is_offered_it_first_when_on_duty_else_anyone_at_once(w: World) -> None:
    a = await book(w, 60, staff="sato")
    await w.staff("tanaka", available=True)  # idle longest
    await w.tick(1)
    sato = await w.staff("sato", available=True)
    resident = await w.kiosk()
    r = await check_in(w, resident, a.number)
    assert (await w.ticket(r.ticket_id)).preferred_staff_id == sato.principal_id
    w.take()
    await w.tick(59)
    assert offers(w.take_msgs()) == [(sato.peer, r.ticket_id)]


async def test_a_booked_specialist_not_on_duty_at_its_time_is_not_waited_for(w: World) -> None:
    b = await book(w, 120, staff="sato")  # sato never signs in today
    tanaka = await w.staff("tanaka", available=True)
    await w.tick(10)
    r = await check_in(w, await w.kiosk(), b.number)
    assert (await w.ticket(r.ticket_id)).preferred_staff_id == await _id(w, "sato")  # early: kept until its time
    w.take()
    await w.tick(109)
    assert offers(w.take_msgs()) == []
    await w.tick(1)  # its time: sato is not on duty, so tanaka at once (not after the grace)
    assert offers(w.take_msgs()) == [(tanaka.peer, r.ticket_id)]
    assert (await w.ticket(r.ticket_id)).preferred_staff_id is None
    async with w.engine.maker() as db:
        absent = (await db.execute(select(AuditEvent).where(AuditEvent.action == "appointment.specialist_absent"))
                  ).scalars().all()
        assert [e.subject for e in absent] == [f"ticket:{r.ticket_id}"]


async def test_a_walk_ins_estimate_holds_the_slot_of_an_appointment_due_within_the_horizon(w: World) -> None:
    sato = await w.staff("sato", available=True)
    first = await walk_in(w, await w.kiosk())
    await w.run(tickets.accept, sato, first.ticket_id)  # sato free again at T0 + 600 s (a typical call)
    alone = await walk_in(w, await w.kiosk())
    assert alone.estimated_wait_s == HANDLE_S
    await w.run(tickets.cancel_ticket, *(await _kiosk_of(w, alone.ticket_id)), alone.ticket_id)
    far = await book(w, HORIZON_S + 60, staff="sato", minutes=30)  # beyond the horizon: no effect
    assert (await walk_in(w, await w.kiosk())).estimated_wait_s == HANDLE_S
    await _cancel_waiting(w)
    near = await book(w, 300, staff="sato", minutes=30)  # sato's slot at T0+300 s: it comes first when sato is free
    walker = await w.kiosk()
    r = await walk_in(w, walker)
    assert r.estimated_wait_s == HANDLE_S + 30 * 60
    assert r.position == 1  # a slot is not a place in the queue: nobody with a ticket is ahead
    # checked in: the same wait, and now the appointment is the one ahead
    resident = await w.kiosk()
    c = await check_in(w, resident, near.number)
    assert (c.position, c.estimated_wait_s) == (1, HANDLE_S)
    assert [m.position for p, m in w.take_msgs() if p == walker.peer and getattr(m, "type", "") == "ticket.update"] \
        == [2]
    # cancelled: the walk-in's wait goes back
    assert far.state == "booked"


async def _kiosk_of(w: World, ticket_id: int) -> tuple[Principal]:
    t = await w.ticket(ticket_id)
    return (Principal("kiosk", t.kiosk_id, "kiosk"),)


async def _cancel_waiting(w: World) -> None:
    async with w.engine.maker() as db:
        waiting = (await db.execute(select(Ticket).where(Ticket.state == "waiting"))).scalars().all()
    for t in waiting:
        await w.run(tickets.cancel_ticket, Principal("kiosk", t.kiosk_id, "kiosk"), t.id)
    w.take()


async def test_a_booking_nobody_checks_in_to_is_released_as_a_no_show_on_the_tick(w: World) -> None:
    sato = await w.staff("sato", available=True)
    a = await book(w, 300)
    assert w.take() == [(sato.peer, "appointment.update"), (sato.peer, "queue.snapshot")]
    await w.tick(300 + NO_SHOW_S - 1)
    assert (await appointment(w, a.appointment_id)).state == "booked"
    w.take()
    await w.tick(1)
    assert w.take() == [(sato.peer, "appointment.update"), (sato.peer, "queue.snapshot")]
    released = await appointment(w, a.appointment_id)
    assert (released.state, released.closed_at) == ("no_show", w.clock.now())
    async with w.engine.maker() as db:
        (e,) = (await db.execute(select(AuditEvent).where(AuditEvent.action == "appointment.no_show"))).scalars()
        assert e.subject == f"appointment:{a.appointment_id}" and a.number not in str(e.detail)
    with pytest.raises(Conflict) as refused:
        await w.run(appointments.check_in, await w.kiosk(), AppointmentCheckIn(number=a.number))
    assert refused.value.details["reason"] == "closed"


async def test_a_resident_who_leaves_the_queue_may_check_in_again_until_the_no_show_limit(w: World) -> None:
    await w.staff("sato", available=True)
    a = await book(w, 300)
    resident = await w.kiosk()
    r = await check_in(w, resident, a.number)
    await w.run(tickets.cancel_ticket, resident, r.ticket_id)
    await w.tick(0)
    assert (await appointment(w, a.appointment_id)).state == "booked"
    again = await check_in(w, resident, a.number)
    assert again.ticket_id != r.ticket_id


@pytest.mark.parametrize(("case", "reason"), [
    ("unknown", "unknown"), ("other_municipality", "unknown"), ("other_branch", "other_branch"),
    ("other_day", "other_day"), ("too_early", "too_early"), ("too_late", "too_late"), ("cancelled", "cancelled"),
    ("checked_in", "checked_in"),
])
async def test_a_check_in_that_cannot_be_taken_is_explained_and_changes_nothing(w: World, case: str,
                                                                               reason: str) -> None:
    await w.staff("sato", available=True)
    async with w.engine.maker() as db, db.begin():  # a second branch of Kitami
        kitami = (await db.execute(select(Branch).where(Branch.code == "kitami-tokoro"))).scalar_one()
        db.add(Branch(municipality_id=kitami.municipality_id, code="kitami-rubeshibe", name_ja="留辺蘂総合支所",
                      name_en="Rubeshibe Branch"))
    at = {"other_day": 86400.0 + 600, "too_early": EARLY_S + 60}.get(case, 600.0)
    a = await book(w, at, branch="kitami-rubeshibe" if case == "other_branch" else "kitami-tokoro")
    kiosk = await w.kiosk("bihoro" if case == "other_municipality" else "kitami-tokoro")
    number = "000000" if a.number != "000000" else "000001"
    if case != "unknown":
        number = a.number
    if case == "too_late":
        w.clock.advance(600 + NO_SHOW_S)  # no tick ran: still booked, but too late
    if case == "cancelled":
        await w.engine.run(appointment_book.cancel, Principal("staff", await _id(w, "tanaka"), "supervisor"),
                           a.appointment_id)
    if case == "checked_in":
        await check_in(w, await w.kiosk(), a.number)
    w.take()
    for msg in (AppointmentLookup(number=number), AppointmentCheckIn(number=number)):
        with pytest.raises(QueueError) as refused:
            await w.run(appointments.lookup if isinstance(msg, AppointmentLookup) else appointments.check_in,
                        kiosk, msg)
        assert isinstance(refused.value, NotFound if reason == "unknown" else Conflict)
        assert refused.value.details["reason"] == reason
        assert w.take() == []  # nothing sent
    if reason == "other_branch":
        assert refused.value.details["branch"] == "留辺蘂総合支所"
    if reason == "other_day":
        assert refused.value.details["day"] == "2026-12-08"
    async with w.engine.maker() as db:
        assert (await db.execute(select(Ticket).where(Ticket.kiosk_id == kiosk.principal_id))).first() is None


async def test_the_lookup_shows_the_appointment_and_a_check_in_after_its_time_is_offered_at_once(w: World) -> None:
    a = await book(w, 120)
    _sato, _walker, second, resident = await busy_sato_and_a_waiting_walk_in(w)
    found = await w.run(appointments.lookup, resident, AppointmentLookup(number=a.number))
    assert isinstance(found, AppointmentFound)
    assert (found.service_code, found.starts_at, found.early, found.branch) == ("disability", a.starts_at, True,
                                                                                 "常呂総合支所")
    await w.tick(200)  # 80 s late, well inside the no-show limit
    tanaka = await w.staff("tanaka")
    r = await check_in(w, resident, a.number)
    w.take()
    await w.run(presence.set_status, tanaka, StatusSet(status="available"))
    assert offers(w.take_msgs()) == [(tanaka.peer, r.ticket_id)]  # ahead of the walk-in waiting since T0+5
    assert (await w.ticket(second.ticket_id)).state == "waiting"


async def test_a_kiosk_that_keeps_typing_wrong_numbers_is_refused_for_a_while(w: World) -> None:
    await w.staff("sato", available=True)
    a = await book(w, 600)
    kiosk, other = await w.kiosk(), await w.kiosk()
    wrong = [f"{n:06d}" for n in range(20) if f"{n:06d}" != a.number][:10]
    for number in wrong:
        with pytest.raises(NotFound):
            await w.run(appointments.lookup, kiosk, AppointmentLookup(number=number))
    with pytest.raises(Conflict) as locked:  # the right number too, now
        await w.run(appointments.lookup, kiosk, AppointmentLookup(number=a.number))
    assert locked.value.details == {"reason": "locked", "retry_after_s": 600}
    assert w.take() == []
    found = await w.run(appointments.lookup, other, AppointmentLookup(number=a.number))  # another kiosk: its own count
    assert isinstance(found, AppointmentFound)
    await w.tick(599)
    with pytest.raises(Conflict):
        await w.run(appointments.lookup, kiosk, AppointmentLookup(number=a.number))
    await w.tick(1)  # the first wrong number has left the window
    assert isinstance(await w.run(appointments.lookup, kiosk, AppointmentLookup(number=a.number)), AppointmentFound)
