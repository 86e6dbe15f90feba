"""Needs inform, never exclude (issue 12, DESIGN §4), and priority — the queue alone on the manual clock
(tests/queue/world.py), asserting what goes on the wire and in which order.

Demo seed (server/db/seed.py): sato (Kitami; disability, general; written, large_text), suzuki (Kitami;
guardianship, general; written), takahashi (Bihoro; employment, disability; sign_language, written), tanaka
(Kitami supervisor; every service; written). Nobody has ``supporter``; nobody in employment has
``large_text``: before this change those residents were told "nobody on duty" with all four available.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select, update

from server.db.models import AuditEvent, Staff
from server.queue import priority, tickets
from server.queue.errors import Conflict, NoSpecialist, NotFound
from signaling.principal import Principal
from signaling.protocol.messages import Offer, SessionStart, TicketCreate, TicketPriority, TicketUpdate
from signaling.protocol.models import Need
from signaling.protocol.replies import PriorityChanged, TicketCreated
from tests.queue.test_engine import POOL_S, SETTINGS
from tests.queue.world import World, world

SERVICE_STAFF = {"disability": {"sato", "takahashi", "tanaka"}, "guardianship": {"suzuki", "tanaka"},
                 "employment": {"takahashi", "tanaka"}}


@pytest.fixture
async def w(tmp_path: Path, backend: str):  # type: ignore[no-untyped-def]
    async with world(tmp_path, backend, **SETTINGS) as w:
        yield w


async def create(w: World, kiosk: Principal, service: str = "disability", needs: tuple[Need, ...] = (),
                 language: str = "ja") -> TicketCreated:
    msg = TicketCreate(service_code=service, needs=list(needs), language=language)  # type: ignore[arg-type]
    reply = await w.run(tickets.create_ticket, kiosk, msg)
    assert isinstance(reply, TicketCreated)
    return reply


async def available(w: World, *names: str) -> dict[str, Principal]:
    """These specialists go available in this order, one second apart (the first is idle longest)."""
    out = {}
    for name in names:
        out[name] = await w.staff(name, available=True)
        await w.tick(1)
    w.take()
    return out


def offers(msgs: list[tuple[str, Any]]) -> list[tuple[str, Offer]]:
    return [(p, m) for p, m in msgs if isinstance(m, Offer)]


def the_offer(w: World) -> tuple[str, Offer]:
    (peer, offer), = offers(w.take_msgs())
    return peer, offer


async def set_languages(w: World, username: str, languages: list[str]) -> None:
    async with w.engine.maker() as db, db.begin():
        await db.execute(update(Staff).where(Staff.username == username).values(languages=languages))


# ---------------------------------------------------------------- never turned away
@pytest.mark.parametrize(("service", "need", "branch"), [
    ("disability", "supporter", "kitami-tokoro"),
    ("guardianship", "supporter", "kitami-tokoro"),
    ("employment", "supporter", "bihoro"),
    ("employment", "large_text", "bihoro"),
])
async def test_the_four_turned_away_are_served(w: World, service: str, need: Need, branch: str) -> None:
    """The four cases of issue 12 (they fail before this change: NoSpecialist). All four demo specialists
    are available; the resident is placed, and the offer, showing the need, goes out at once."""
    staff = await available(w, "sato", "suzuki", "takahashi", "tanaka")
    kiosk = await w.kiosk(branch)
    r = await create(w, kiosk, service, (need,))
    assert (r.position, r.estimated_wait_s, r.unmet_needs) == (1, 0.0, [])
    msgs = w.take_msgs()
    (peer, offer), = offers(msgs)
    assert msgs[:2] == [(kiosk.peer, r), (peer, offer)]  # the reply first, then the offer
    assert peer in {staff[n].peer for n in SERVICE_STAFF[service]}
    assert (offer.needs, offer.unmet_needs, offer.written) == ([need], [], False)
    assert (await w.ticket(r.ticket_id)).state == "offered"


async def test_nobody_on_duty_means_nobody_for_the_service(w: World) -> None:
    await available(w, "sato")  # disability and general only
    kiosk = await w.kiosk()
    for needs in [(), ("sign_language",), ("large_text", "supporter")]:
        with pytest.raises(NoSpecialist):
            await create(w, kiosk, "employment", needs)  # type: ignore[arg-type]
    r = await create(w, kiosk, "disability", ("supporter", "sign_language"))
    # served all the same; nobody on duty signs, so the kiosk is told the call will be written
    assert (r.position, r.estimated_wait_s, r.unmet_needs) == (1, 0.0, ["sign_language"])


# ---------------------------------------------------------------- preference among those free now
async def test_the_skill_beats_the_idle_order_among_those_free(w: World) -> None:
    staff = await available(w, "tanaka", "sato")  # tanaka idle longest
    k1, k2 = await w.kiosk(), await w.kiosk()
    await create(w, k1, "disability", ("large_text",))
    assert the_offer(w)[0] == staff["sato"].peer     # sato has large text
    await create(w, k2, "disability")
    assert the_offer(w)[0] == staff["tanaka"].peer   # no needs: the idle order, as before


async def test_nobody_free_has_it_whoever_can_answers_at_once(w: World) -> None:
    staff = await available(w, "tanaka")
    busy = await w.kiosk()
    first = await create(w, busy)
    w.take()
    await w.run(tickets.accept, staff["tanaka"], first.ticket_id)
    sato = (await available(w, "sato"))["sato"]
    kiosk = await w.kiosk()
    await create(w, kiosk, "disability", ("supporter",))  # nobody has it at all
    assert the_offer(w)[0] == sato.peer


async def test_the_residents_language_is_preferred(w: World) -> None:
    await set_languages(w, "tanaka", ["ja", "en"])
    staff = await available(w, "sato", "tanaka")  # sato idle longest
    k1, k2 = await w.kiosk(), await w.kiosk()
    await create(w, k1, "disability", language="en")
    peer, offer = the_offer(w)
    assert peer == staff["tanaka"].peer and offer.language == "en"
    await create(w, k2, "disability", language="ja")
    assert the_offer(w)[0] == staff["sato"].peer


async def test_a_skilled_specialist_is_kept_for_the_resident_who_needs_them(w: World) -> None:
    """Two residents wait for disability — the first without needs, the second for large text — and sato
    (large text, idle longest) and tanaka come free in the same step: the first resident gets tanaka, so
    that sato is there for the second (in idle order alone it would be the other way round)."""
    staff = await available(w, "sato", "tanaka")
    away = {staff["sato"].peer, staff["tanaka"].peer}
    w.sink.connected -= away                              # both on duty, momentarily unreachable
    k1, k2 = await w.kiosk(), await w.kiosk()
    r1 = await create(w, k1)
    r2 = await create(w, k2, "disability", ("large_text",))
    w.take()
    w.sink.connected |= away
    await w.tick(0)
    got = {p: o.ticket_id for p, o in offers(w.take_msgs())}
    assert got == {staff["tanaka"].peer: r1.ticket_id, staff["sato"].peer: r2.ticket_id}


# ---------------------------------------------------------------- a need that requires a skill
async def test_sign_language_without_a_signer_opens_a_written_call(w: World) -> None:
    staff = await available(w, "suzuki", "tanaka")  # guardianship; neither signs
    kiosk = await w.kiosk()
    r = await create(w, kiosk, "guardianship", ("sign_language",))
    assert r.unmet_needs == ["sign_language"]
    peer, offer = the_offer(w)
    assert peer == staff["suzuki"].peer
    assert (offer.needs, offer.unmet_needs, offer.written) == (["sign_language"], ["sign_language"], True)
    await w.run(tickets.accept, staff["suzuki"], r.ticket_id)
    msgs = w.take_msgs()
    starts = [(p, m) for p, m in msgs if isinstance(m, SessionStart)]
    assert [p for p, _ in starts] == [kiosk.peer, staff["suzuki"].peer]
    for _, m in starts:
        assert (m.needs, m.unmet_needs, m.written) == (["sign_language"], ["sign_language"], True)


async def test_a_signer_of_the_shared_pool_answers_at_once(w: World) -> None:
    """Tier rule for a required skill: takahashi (Bihoro, signs) is in the shared pool for a Kitami resident,
    yet answers at once, before sato at home would answer in writing; the estimate says so."""
    staff = await available(w, "sato", "takahashi")
    kiosk = await w.kiosk()
    r = await create(w, kiosk, "disability", ("sign_language",))
    assert (r.estimated_wait_s, r.unmet_needs) == (0.0, [])
    peer, offer = the_offer(w)
    assert peer == staff["takahashi"].peer and (offer.unmet_needs, offer.written) == ([], False)
    k2 = await w.kiosk()
    await create(w, k2, "disability", ("large_text",))   # other needs keep the tiers: sato, at home
    assert the_offer(w)[0] == staff["sato"].peer


async def test_a_busy_signer_is_not_waited_for(w: World) -> None:
    staff = await available(w, "takahashi")
    bihoro = await w.kiosk("bihoro")
    first = await create(w, bihoro)
    w.take()
    await w.run(tickets.accept, staff["takahashi"], first.ticket_id)
    sato = (await available(w, "sato"))["sato"]
    kiosk = await w.kiosk()
    r = await create(w, kiosk, "disability", ("sign_language",))
    assert (r.estimated_wait_s, r.unmet_needs) == (0.0, [])   # a signer is on duty, but busy
    peer, offer = the_offer(w)
    assert peer == sato.peer and (offer.unmet_needs, offer.written) == (["sign_language"], True)


# ---------------------------------------------------------------- priority
async def test_priority_reorders_the_queue_and_the_estimates_and_is_audited(w: World) -> None:
    sato = (await available(w, "sato"))["sato"]
    tanaka = await w.staff("tanaka")   # supervisor, signed in (away): sees the whole queue
    k1, k2, k3 = await w.kiosk(), await w.kiosk(), await w.kiosk()
    r1, r2, r3 = await create(w, k1), await create(w, k2), await create(w, k3)
    assert [(r.position, r.estimated_wait_s) for r in (r2, r3)] == [(2, 600.0), (3, 1200.0)]
    w.take()
    reply = await w.run(priority.set_priority, tanaka, TicketPriority(ticket_id=r3.ticket_id, priority=2))
    assert reply == PriorityChanged(ticket_id=r3.ticket_id, priority=2)
    msgs = w.take_msgs()
    frames = [(p, type(m).__name__) for p, m in msgs]
    assert frames[:3] == [
        (tanaka.peer, "PriorityChanged"),
        (k3.peer, "TicketUpdate"),          # next after the offered one: 600 s
        (k2.peer, "TicketUpdate"),          # one place back: 1200 s
    ]                                       # (k1's offer is not touched: it is not told anything)
    assert sorted(frames[3:]) == sorted([(sato.peer, "QueueSnapshot"), (tanaka.peer, "QueueSnapshot")])
    updates = {p: (m.position, m.estimated_wait_s) for p, m in msgs if isinstance(m, TicketUpdate)}
    assert updates == {k3.peer: (2, 600.0), k2.peer: (3, 1200.0)}
    snap = next(m for p, m in msgs if p == tanaka.peer and type(m).__name__ == "QueueSnapshot")
    assert [(i.ticket_id, i.priority) for i in snap.items] == [(r3.ticket_id, 2), (r1.ticket_id, 0),
                                                               (r2.ticket_id, 0)]
    # the same priority again changes nothing and says nothing more
    await w.run(priority.set_priority, tanaka, TicketPriority(ticket_id=r3.ticket_id, priority=2))
    assert [type(m).__name__ for _, m in w.take_msgs()] == ["PriorityChanged"]
    async with w.engine.maker() as db:
        rows = (await db.execute(select(AuditEvent).where(AuditEvent.action == "ticket.priority"))).scalars().all()
    assert [(r.actor, r.subject, r.detail) for r in rows] == [
        (tanaka.peer, f"ticket:{r3.ticket_id}", {"before": 0, "after": 2})]
    # when sato is free, the raised ticket is next
    await w.run(tickets.decline, sato, r1.ticket_id)
    await w.tick(0)
    assert (await w.ticket(r3.ticket_id)).offered_to_id == sato.principal_id


async def test_who_may_set_priority_and_on_what(w: World) -> None:
    sato = (await available(w, "sato"))["sato"]
    suzuki = await w.staff("suzuki")     # guardianship: a disability ticket is not in their queue
    kiosk = await w.kiosk()
    r = await create(w, kiosk)
    w.take()
    with pytest.raises(NotFound):
        await w.run(priority.set_priority, suzuki, TicketPriority(ticket_id=r.ticket_id, priority=1))
    with pytest.raises(NotFound):
        await w.run(priority.set_priority, sato, TicketPriority(ticket_id=999, priority=1))
    assert (await w.run(priority.set_priority, sato, TicketPriority(ticket_id=r.ticket_id, priority=1))).priority == 1
    await w.run(tickets.accept, sato, r.ticket_id)
    w.take()
    with pytest.raises(Conflict):        # in a call: no longer queued
        await w.run(priority.set_priority, sato, TicketPriority(ticket_id=r.ticket_id, priority=0))
    assert w.take() == []
    for bad in (-1, 3, "high"):
        with pytest.raises(ValidationError):
            TicketPriority(ticket_id=r.ticket_id, priority=bad)  # type: ignore[arg-type]


async def test_the_tier_wait_still_applies_to_other_needs(w: World) -> None:
    """Only a required skill skips the shared-pool wait: an Oketo resident asking for large text waits the
    tier for sato (Kitami), and is told so."""
    await available(w, "sato")
    oketo = await w.kiosk("oketo")
    r = await create(w, oketo, "disability", ("large_text",))
    assert (r.position, r.estimated_wait_s) == (1, POOL_S)


async def test_the_re_sync_of_a_call_keeps_its_needs_and_mode(w: World) -> None:
    """A console or kiosk that comes back during a written call is told the needs and the mode again (the
    console's re-sync used to carry no needs at all)."""
    staff = await available(w, "suzuki")
    kiosk = await w.kiosk()
    r = await create(w, kiosk, "guardianship", ("sign_language",), language="en")
    await w.run(tickets.accept, staff["suzuki"], r.ticket_id)
    w.take()
    for who in (staff["suzuki"], kiosk):
        await w.disconnect(who)
        await w.connect(who, resumed=True)
        (start,) = [m for p, m in w.take_msgs() if p == who.peer and isinstance(m, SessionStart)]
        assert (start.needs, start.language, start.unmet_needs, start.written) == (
            ["sign_language"], "en", ["sign_language"], True)
