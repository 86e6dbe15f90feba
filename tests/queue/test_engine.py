"""The queue driven alone (tests/queue/world.py): real engine, real database, injected clock, recorded
outbox. Each test asserts the whole sequence of what goes on the wire, in order — reply first — and the
timers (offer timeout, decline hold, shared-pool tier, kiosk grace, silent calls) by advancing the clock."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from server.db.models import CallSession, Ticket
from server.queue import calls, tickets
from server.queue.errors import Conflict, NoSpecialist, NotFound
from signaling.protocol.messages import (
    CallMedia,
    CallStatsReport,
    SessionEnd,
    TicketCreate,
    TransferRequest,
)
from signaling.protocol.models import CallStats
from signaling.protocol.replies import Accepted, TicketCreated
from tests.queue.world import World, world

OFFER_S, GRACE_S, POOL_S, HOLD_S, MEDIA_S = 20.0, 60.0, 300.0, 120.0, 30.0
SETTINGS = dict(offer_timeout_s=OFFER_S, kiosk_grace_s=GRACE_S, shared_pool_after_s=POOL_S,
                decline_hold_s=HOLD_S, media_grace_s=MEDIA_S, default_handle_time_s=600.0)


@pytest.fixture
async def w(tmp_path: Path, backend: str):  # type: ignore[no-untyped-def]
    async with world(tmp_path, backend, **SETTINGS) as w:
        yield w


async def create(w: World, kiosk, service: str = "disability") -> TicketCreated:  # type: ignore[no-untyped-def]
    reply = await w.run(tickets.create_ticket, kiosk, TicketCreate(service_code=service))
    assert isinstance(reply, TicketCreated)
    return reply


async def test_the_reply_goes_first_then_the_offer_and_the_updates(w: World) -> None:
    sato = await w.staff("sato", available=True)
    kiosk = await w.kiosk()
    r = await create(w, kiosk)
    assert (r.position, r.estimated_wait_s) == (1, 0.0)  # a free specialist: honestly "now", never null
    assert w.take() == [
        (kiosk.peer, "reply"),
        (sato.peer, "offer"),
        (kiosk.peer, "ticket.update"),  # offered
        (sato.peer, "queue.snapshot"),
    ]
    assert (await w.ticket(r.ticket_id)).state == "offered"


async def test_accept_starts_the_call_for_both_after_the_reply(w: World) -> None:
    sato = await w.staff("sato", available=True)
    kiosk = await w.kiosk()
    r = await create(w, kiosk)
    w.take()
    acc = await w.run(tickets.accept, sato, r.ticket_id)
    assert isinstance(acc, Accepted) and acc.ticket_id == r.ticket_id
    assert w.take() == [
        (sato.peer, "reply"),
        (kiosk.peer, "ticket.update"),   # in_call
        (kiosk.peer, "session.start"),
        (sato.peer, "session.start"),
        (sato.peer, "queue.snapshot"),
    ]
    with pytest.raises(Conflict):  # the claim is single: a second accept fails, and nothing is sent
        await w.run(tickets.accept, sato, r.ticket_id)
    assert w.take() == []


async def test_unanswered_offer_goes_to_the_next_and_the_silent_one_is_set_away(w: World) -> None:
    sato = await w.staff("sato", available=True)
    await w.tick(1)
    tanaka = await w.staff("tanaka", available=True)  # idle for less time than sato
    kiosk = await w.kiosk()
    r = await create(w, kiosk)
    assert ((sato.peer, "offer") in w.take())
    await w.tick(OFFER_S - 1)
    assert [f for f in w.take() if f[1] != "ticket.update"] == []  # not yet
    await w.tick(1)
    assert w.take() == [
        (sato.peer, "offer.revoked"),
        (sato.peer, "status"),           # away, no_answer
        (tanaka.peer, "offer"),          # the kiosk is not told: still "offered", still next
        (sato.peer, "queue.snapshot"),
        (tanaka.peer, "queue.snapshot"),
    ]
    s = await w.staff_row(sato)
    assert (s.status, s.status_reason) == ("away", "no_answer")
    assert (await w.ticket(r.ticket_id)).offered_to_id == tanaka.principal_id


async def test_declines_hold_then_the_decliner_may_get_it_again(w: World) -> None:
    sato = await w.staff("sato", available=True)
    kiosk = await w.kiosk()
    r = await create(w, kiosk)
    w.take()
    await w.run(tickets.decline, sato, r.ticket_id)
    frames = w.take()
    assert frames[0] == (sato.peer, "reply") and (sato.peer, "offer") not in frames  # nobody else: it waits
    await w.tick(HOLD_S - 1)
    assert (sato.peer, "offer") not in w.take()
    await w.tick(1)
    assert (sato.peer, "offer") in w.take()  # everyone on duty said no once: nobody waits for ever


async def test_tiers_and_an_honest_wait_for_a_resident_of_another_town(w: World) -> None:
    """Bug found: an Oketo resident with only a Kitami specialist free was told 0 s ("soon") and waited
    the whole shared-pool delay."""
    sato = await w.staff("sato", available=True)  # Kitami
    oketo = await w.kiosk("oketo")
    r = await create(w, oketo)
    assert (r.position, r.estimated_wait_s) == (1, POOL_S)
    assert (sato.peer, "offer") not in w.take()
    await w.tick(100)  # the kiosk counts down by itself: nothing to correct
    assert w.take() == []
    await w.tick(POOL_S - 100 - 1)
    assert (sato.peer, "offer") not in w.take()
    await w.tick(1)
    assert (sato.peer, "offer") in w.take()


async def test_a_specialist_holding_an_offer_counts_and_busy_ones_free_up(w: World) -> None:
    sato = await w.staff("sato", available=True)
    k1, k2, k3 = await w.kiosk(), await w.kiosk(), await w.kiosk()
    r1 = await create(w, k1)
    r2 = await create(w, k2)
    assert (r1.estimated_wait_s, r2.position, r2.estimated_wait_s) == (0.0, 2, 600.0)  # not "450 s", not "now"
    acc = await w.run(tickets.accept, sato, r1.ticket_id)
    for _ in range(10):  # 200 s of a call whose media is reported on
        await w.run(calls.record_stats, sato, CallStatsReport(session_id=acc.session_id, stats=CallStats(fps=15)))
        await w.tick(20)
    r3 = await create(w, k3)
    assert (r3.position, r3.estimated_wait_s) == (2, 1000.0)  # the rest of sato's call, then k2's
    w.take()


async def test_transfer_keeps_the_arrival_time(w: World) -> None:
    sato = await w.staff("sato", available=True)
    k1 = await w.kiosk()
    r1 = await create(w, k1)
    acc = await w.run(tickets.accept, sato, r1.ticket_id)
    suzuki = await w.staff("suzuki", available=True)
    k2 = await w.kiosk()
    await w.tick(10)
    r2 = await create(w, k2, "guardianship")
    w.take()
    await w.run(tickets.decline, suzuki, r2.ticket_id)  # suzuki free again, t2 held from suzuki
    w.take()
    await w.run(calls.transfer, sato, TransferRequest(session_id=acc.session_id, service_code="guardianship"))
    frames = w.take()
    assert frames[:5] == [
        (sato.peer, "reply"),
        (k1.peer, "session.ended"),
        (sato.peer, "session.ended"),
        (sato.peer, "status"),            # wrap_up
        (k1.peer, "ticket.update"),       # waiting, reason transferred
    ]
    assert (suzuki.peer, "offer") in frames  # t1 (arrived first) goes to suzuki
    t1 = await w.ticket(r1.ticket_id)
    assert t1.state == "offered" and t1.offered_to_id == suzuki.principal_id and t1.transfer_count == 1


async def test_a_call_nobody_reports_on_is_ended_by_the_server(w: World) -> None:
    """Bug found: with both ends killed, the session, the ticket and the specialist stayed in a call for ever."""
    sato = await w.staff("sato", available=True)
    kiosk = await w.kiosk()
    r = await create(w, kiosk)
    acc = await w.run(tickets.accept, sato, r.ticket_id)
    await w.run(calls.record_stats, kiosk, CallStatsReport(session_id=acc.session_id, stats=CallStats(fps=15)))
    await w.tick(MEDIA_S - 1)
    await w.run(calls.record_stats, sato, CallStatsReport(session_id=acc.session_id, stats=CallStats(fps=15)))
    await w.tick(MEDIA_S - 1)
    assert (await w.ticket(r.ticket_id)).state == "in_call"  # reports keep it alive
    w.take()
    await w.disconnect(kiosk)
    await w.disconnect(sato)
    await w.tick(2)
    msgs = w.take_msgs()
    ended = [m for _, m in msgs if getattr(m, "type", "") == "session.ended"]
    assert [e.reason for e in ended] == ["kiosk_lost", "kiosk_lost"]
    assert (await w.ticket(r.ticket_id)).state == "wrap_up"
    assert (await w.staff_row(sato)).status == "wrap_up"


async def test_stats_reports_in_one_step_each_with_its_own_outcome(w: World) -> None:
    """The server records the call.stats reports of a moment in one step; a report from outside the call is
    refused on its own and the others are kept."""
    sato, suzuki = await w.staff("sato", available=True), await w.staff("suzuki")
    kiosk = await w.kiosk()
    r = await create(w, kiosk)
    acc = await w.run(tickets.accept, sato, r.ticket_id)
    sid = acc.session_id
    outcomes = await w.engine.run(calls.record_stats_batch, [
        (kiosk, CallStatsReport(session_id=sid, stats=CallStats(fps=10.0, frames_received=100))),
        (suzuki, CallStatsReport(session_id=sid, stats=CallStats(fps=1.0))),  # not in this call
        (sato, CallStatsReport(session_id=sid, stats=CallStats(fps=15.0))),
        (kiosk, CallStatsReport(session_id=sid, stats=CallStats(fps=20.0, frames_received=300))),
    ])
    assert [type(o).__name__ if o else None for o in outcomes] == [None, "NotFound", None, None]
    async with w.engine.maker() as db:
        quality = (await db.get(CallSession, sid)).quality  # type: ignore[union-attr]
    assert quality["kiosk"]["samples"] == 2 and quality["kiosk"]["fps_avg"] == 15.0
    assert quality["kiosk"]["frames_received"] == 300 and quality["staff"]["samples"] == 1


async def test_a_kiosk_back_after_the_call_ended_learns_how_it_ended(w: World) -> None:
    """Bug found: session.ended went only to connected clients, so kiosks stayed on the call screen."""
    sato = await w.staff("sato", available=True)
    kiosk = await w.kiosk()
    r = await create(w, kiosk)
    acc = await w.run(tickets.accept, sato, r.ticket_id)
    await w.disconnect(kiosk)
    await w.run(calls.end_session, sato, SessionEnd(session_id=acc.session_id))
    w.take()
    await w.connect(kiosk, resumed=True)
    msgs = [(p, m) for p, m in w.take_msgs() if p == kiosk.peer and hasattr(m, "type")]
    assert [(m.type, getattr(m, "state", None), getattr(m, "reason", None)) for _, m in msgs] == [
        ("ticket.update", "wrap_up", "resumed"), ("session.ended", None, "staff_hangup")]


async def test_a_queued_kiosk_keeps_its_place_through_the_grace_then_loses_it(w: World) -> None:
    tanaka = await w.staff("tanaka", available=True)
    k0, k1 = await w.kiosk(), await w.kiosk()
    r0 = await create(w, k0)
    acc = await w.run(tickets.accept, tanaka, r0.ticket_id)
    await w.run(calls.end_session, tanaka, SessionEnd(session_id=acc.session_id))  # wrap-up: on duty, not free
    r1 = await create(w, k1)
    assert (r1.position, r1.estimated_wait_s) == (1, 60.0)  # a typical wrap-up
    await w.disconnect(k1)
    await w.tick(GRACE_S - 1)
    w.take()
    await w.connect(k1)
    upd = [m for p, m in w.take_msgs() if p == k1.peer and getattr(m, "type", "") == "ticket.update"]
    assert [(u.state, u.position, u.reason) for u in upd] == [("waiting", 1, "resumed")]
    await w.disconnect(k1)
    await w.tick(GRACE_S - 1)
    assert (await w.ticket(r1.ticket_id)).state == "waiting"
    await w.tick(1)
    assert (await w.ticket(r1.ticket_id)).state == "abandoned"


async def test_nobody_on_duty_is_said_at_once_and_recorded(w: World) -> None:
    kiosk = await w.kiosk()
    with pytest.raises(NoSpecialist) as exc:
        await create(w, kiosk, "employment")
    assert exc.value.details["service_code"] == "employment" and exc.value.details["hours_ja"]
    async with w.engine.maker() as db:
        states = (await db.execute(select(Ticket.state))).scalars().all()
    assert states == ["no_specialist"]  # the demand is kept for the report
    with pytest.raises(NotFound):
        await w.run(tickets.cancel_ticket, kiosk, 999)


async def test_setup_time_is_the_specialists(w: World) -> None:
    sato = await w.staff("sato", available=True)
    kiosk = await w.kiosk()
    r = await create(w, kiosk)
    acc = await w.run(tickets.accept, sato, r.ticket_id)
    await w.tick(0.5)
    await w.run(calls.media_state, kiosk, CallMedia(session_id=acc.session_id, state="connected", setup_ms=5.0))
    async with w.engine.maker() as db:
        assert (await db.get(CallSession, acc.session_id)).setup_ms == 500.0  # type: ignore[union-attr]
    await w.run(calls.media_state, sato, CallMedia(session_id=acc.session_id, state="connected", setup_ms=420.0))
    async with w.engine.maker() as db:
        assert (await db.get(CallSession, acc.session_id)).setup_ms == 420.0  # type: ignore[union-attr]
