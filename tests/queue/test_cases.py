"""Continuity (issue 12 item 2): a ticket that carries a case number prefers the case's last specialist for
``case_prefer_wait_s``, then anyone eligible — the queue alone on the manual clock (tests/queue/world.py), real
database, whole outboxes asserted. An unknown number, or one of another municipality, never turns the resident
away: the ticket is a walk-in and the reply says the number was not found.

Demo seed: sato (Kitami; disability), tanaka (Kitami supervisor; every service), takahashi (Bihoro; employment,
disability)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from server.case_records import open_case
from server.db.models import AuditEvent, Branch, CallSession, Kiosk, Municipality, Service, Staff, Ticket
from server.queue import tickets
from signaling.principal import Principal
from signaling.protocol.messages import Offer, TicketCreate
from signaling.protocol.replies import TicketCreated
from tests.queue.test_engine import SETTINGS
from tests.queue.test_needs import available
from tests.queue.world import T0, World, world

PREFER_S = 120.0


@pytest.fixture
async def w(tmp_path: Path, backend: str):  # type: ignore[no-untyped-def]
    async with world(tmp_path, backend, **SETTINGS, case_prefer_wait_s=PREFER_S) as w:
        yield w


async def a_case(w: World, served_by: str, municipality: str = "kitami", branch: str = "kitami-tokoro") -> str:
    """A case of ``municipality`` whose last call (a day ago) was with ``served_by``; its number."""
    async with w.engine.maker() as db, db.begin():
        muni = (await db.execute(select(Municipality).where(Municipality.code == municipality))).scalar_one()
        staff = (await db.execute(select(Staff).where(Staff.username == served_by))).scalar_one()
        b = (await db.execute(select(Branch).where(Branch.code == branch))).scalar_one()
        service = (await db.execute(select(Service).where(Service.code == "disability"))).scalar_one()
        case = await open_case(db, muni, staff, T0 - timedelta(days=30), name="山田 太郎", contact="0152-72-1111")
        k = Kiosk(branch_id=b.id, name="earlier", credential_hash="x")
        db.add(k)
        await db.flush()
        then = T0 - timedelta(days=1)
        t = Ticket(kiosk_id=k.id, branch_id=b.id, municipality_id=muni.id, service_id=service.id, state="done",
                   arrival_at=then, created_at=then, ended_at=then, case_id=case.id)
        db.add(t)
        await db.flush()
        db.add(CallSession(ticket_id=t.id, kiosk_id=k.id, staff_id=staff.id, branch_id=b.id, municipality_id=muni.id,
                           service_id=service.id, ticket_created_at=then, accepted_at=then, ended_at=then,
                           end_reason="resident_hangup", case_id=case.id))
        return case.number


async def create(w: World, kiosk: Principal, case_number: str | None) -> TicketCreated:
    reply = await w.run(tickets.create_ticket, kiosk,
                        TicketCreate(service_code="disability", case_number=case_number))
    assert isinstance(reply, TicketCreated)
    return reply


def offers(w: World) -> list[tuple[str, Offer]]:
    return [(p, m) for p, m in w.take_msgs() if isinstance(m, Offer)]


async def test_the_cases_last_specialist_is_offered_first_although_another_is_idle_longer(w: World) -> None:
    number = await a_case(w, "sato")
    assert number == "KIT-2026-0001"  # the prefix of 北見市 (kitami), the year in Japan, the first serial
    staff = await available(w, "tanaka", "sato")  # tanaka idle longest
    kiosk = await w.kiosk()
    r = await create(w, kiosk, "2026-0001")  # typed on the keypad without the prefix: the kiosk's municipality
    msgs = w.take_msgs()
    assert r.case_found is True and r.position == 1
    first_two = [(p, type(m).__name__) for p, m in msgs][:2]
    assert first_two == [(kiosk.peer, "TicketCreated"), (staff["sato"].peer, "Offer")]
    assert [m.case_number for p, m in msgs if isinstance(m, Offer)] == ["KIT-2026-0001"]
    t = await w.ticket(r.ticket_id)
    assert (t.preferred_staff_id, t.prefer_until) == (staff["sato"].principal_id, T0 + timedelta(seconds=2 + PREFER_S))
    # accepted: the call is under the case
    await w.run(tickets.accept, staff["sato"], r.ticket_id)
    async with w.engine.maker() as db:
        sess = (await db.execute(select(CallSession).where(CallSession.ticket_id == r.ticket_id))).scalar_one()
        assert sess.case_id == t.case_id is not None
        created = (await db.execute(select(AuditEvent).where(AuditEvent.action == "ticket.create"))).scalar_one()
        assert created.detail["case_id"] == t.case_id and "山田" not in str(created.detail)
    # the same resident without the number: the idle order, as before
    w.take()
    other = await w.kiosk()
    await create(w, other, None)
    assert [p for p, _ in offers(w)] == [staff["tanaka"].peer]


async def test_a_busy_last_specialist_is_waited_for_until_the_wait_ends_then_anyone(w: World) -> None:
    number = await a_case(w, "sato")
    sato = (await available(w, "sato"))["sato"]
    first = await create(w, await w.kiosk(), None)
    await w.run(tickets.accept, sato, first.ticket_id)  # sato is in a call (on duty, not free)
    tanaka = (await available(w, "tanaka"))["tanaka"]
    kiosk = await w.kiosk()
    r = await create(w, kiosk, number)
    assert r.case_found is True
    assert offers(w) == []  # tanaka is free but the resident waits for sato
    created = w.clock.now()
    await w.tick(PREFER_S - 1)
    assert offers(w) == [] and (await w.ticket(r.ticket_id)).state == "waiting"
    await w.tick(1)  # the wait is over: anyone eligible
    assert w.clock.now() == created + timedelta(seconds=PREFER_S)
    (peer, offer), = offers(w)
    assert (peer, offer.case_number) == (tanaka.peer, number)


async def test_the_last_specialist_who_declines_lets_anyone_answer_at_once(w: World) -> None:
    number = await a_case(w, "sato")
    staff = await available(w, "tanaka", "sato")
    kiosk = await w.kiosk()
    r = await create(w, kiosk, number)
    assert [p for p, _ in offers(w)] == [staff["sato"].peer]
    await w.run(tickets.decline, staff["sato"], r.ticket_id)
    assert [p for p, _ in offers(w)] == [staff["tanaka"].peer]


async def test_the_last_specialist_who_does_not_answer_lets_anyone_answer_at_once(w: World) -> None:
    number = await a_case(w, "sato")
    staff = await available(w, "tanaka", "sato")
    r = await create(w, await w.kiosk(), number)
    assert [p for p, _ in offers(w)] == [staff["sato"].peer]
    await w.tick(SETTINGS["offer_timeout_s"] - 1)
    assert offers(w) == []
    await w.tick(1)  # the offer times out well inside the preference: sato is set away, tanaka gets it now
    assert [p for p, _ in offers(w)] == [staff["tanaka"].peer]
    t = await w.ticket(r.ticket_id)
    assert (t.preferred_staff_id, t.prefer_until) == (None, None)


async def test_a_last_specialist_off_duty_is_not_waited_for(w: World) -> None:
    number = await a_case(w, "sato")  # sato is not signed in
    tanaka = (await available(w, "tanaka"))["tanaka"]
    r = await create(w, await w.kiosk(), number)
    assert r.case_found is True
    assert [p for p, _ in offers(w)] == [tanaka.peer]
    assert (await w.ticket(r.ticket_id)).preferred_staff_id is None


@pytest.mark.parametrize(("typed", "branch"), [
    ("KIT-2026-0001", "bihoro"),   # a Kitami case typed at a Bihoro kiosk: another municipality's number
    ("2026-0001", "bihoro"),       # no prefix: Bihoro's own serial 1, which does not exist
    ("KIT-2026-0002", "kitami-tokoro"),  # unknown in Kitami
    ("BIH-2026-0001", "kitami-tokoro"),  # another prefix at a Kitami kiosk
])
async def test_a_number_not_found_is_served_as_a_walk_in(w: World, typed: str, branch: str) -> None:
    await a_case(w, "takahashi")  # KIT-2026-0001, last served by takahashi (Bihoro, in the shared pool)
    staff = await available(w, "takahashi", "sato", "tanaka")
    kiosk = await w.kiosk(branch)
    r = await create(w, kiosk, typed)
    assert r.case_found is False and r.position == 1
    t = await w.ticket(r.ticket_id)
    assert (t.case_id, t.preferred_staff_id, t.state) == (None, None, "offered")
    (peer, offer), = offers(w)
    assert offer.case_number is None
    own = {"bihoro": "takahashi", "kitami-tokoro": "sato"}[branch]  # the resident's own town, idle longest
    assert peer == staff[own].peer


async def test_the_preferred_specialist_of_the_shared_pool_answers_without_the_tier_wait(w: World) -> None:
    number = await a_case(w, "takahashi")  # a Kitami case last served by Bihoro's takahashi
    staff = await available(w, "tanaka", "takahashi")
    r = await create(w, await w.kiosk(), number)
    assert [p for p, _ in offers(w)] == [staff["takahashi"].peer]
    assert r.case_found is True


@pytest.mark.parametrize("typed", ["KIT-26-1", "abc", "KITA-2026-0001", "２０２６００４２", "2026-1"])
def test_a_malformed_number_is_refused_on_the_wire(typed: str) -> None:
    with pytest.raises(ValidationError):
        TicketCreate(service_code="disability", case_number=typed)
    assert TicketCreate(service_code="disability", case_number="kit 2026 0042").case_number == "KIT-2026-0042"
    assert TicketCreate(service_code="disability", case_number="20260042").case_number == "2026-0042"
