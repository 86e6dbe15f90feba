"""「支所の職員を呼ぶ」 (issue 12 item 6) — the queue alone on the manual clock: who is told, the resident's place
untouched, one answer, no spamming, audited. Whole outboxes asserted, reply first."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from server.db.models import AuditEvent
from server.queue import branch_calls, tickets
from server.queue.errors import Conflict, Forbidden, NotFound
from signaling.protocol.messages import BranchAck, BranchCall, BranchCalled, BranchCallState, TicketCreate
from signaling.protocol.replies import BranchCallAcked, BranchCallPlaced
from tests.queue.test_engine import SETTINGS
from tests.queue.world import T0, World, world


@pytest.fixture
async def w(tmp_path: Path, backend: str):  # type: ignore[no-untyped-def]
    async with world(tmp_path, backend, **SETTINGS, branch_call_min_interval_s=60.0) as w:
        yield w


async def test_the_branchs_staff_are_told_and_the_place_is_kept(w: World) -> None:
    takahashi = await w.staff("takahashi", available=True)   # Bihoro
    sato = await w.staff("sato")                             # Kitami: another municipality, never told
    await w.staff("it")                                      # IT: not a call role, never told
    busy, kiosk = await w.kiosk("bihoro"), await w.kiosk("bihoro")
    first = await w.run(tickets.create_ticket, busy, TicketCreate(service_code="employment"))
    await w.run(tickets.accept, takahashi, first.ticket_id)
    mine = await w.run(tickets.create_ticket, kiosk, TicketCreate(service_code="employment"))
    w.take()
    before = await w.ticket(mine.ticket_id)

    placed = await w.run(branch_calls.call, kiosk, BranchCall())
    assert placed == BranchCallPlaced(call_id=placed.call_id, recipients=1)
    msgs = w.take_msgs()
    assert [(p, type(m).__name__) for p, m in msgs] == [(kiosk.peer, "BranchCallPlaced"),
                                                        (takahashi.peer, "BranchCalled")]
    called = msgs[1][1]
    assert isinstance(called, BranchCalled)
    assert (called.call_id, called.branch, called.municipality, called.at) == (
        placed.call_id, "美幌町役場 窓口", "美幌町", T0)
    after = await w.ticket(mine.ticket_id)   # the place at headquarters is not touched
    assert (after.state, after.arrival_at, after.priority) == (before.state, before.arrival_at, before.priority)

    again = await w.run(branch_calls.call, kiosk, BranchCall())   # a second press: nobody told again
    assert (again.call_id, again.repeated) == (placed.call_id, True)
    assert w.take() == [(kiosk.peer, "reply")]

    with pytest.raises(NotFound):
        await w.run(branch_calls.ack, sato, BranchAck(call_id=placed.call_id))
    it = await w.staff("it")
    with pytest.raises(Forbidden):
        await w.run(branch_calls.ack, it, BranchAck(call_id=placed.call_id))
    acked = await w.run(branch_calls.ack, takahashi, BranchAck(call_id=placed.call_id))
    assert acked == BranchCallAcked(call_id=placed.call_id)
    msgs = w.take_msgs()
    assert [(p, type(m).__name__) for p, m in msgs] == [(takahashi.peer, "BranchCallAcked"),
                                                        (kiosk.peer, "BranchCallState")]
    assert isinstance(msgs[1][1], BranchCallState) and msgs[1][1].state == "acknowledged"
    with pytest.raises(Conflict):
        await w.run(branch_calls.ack, takahashi, BranchAck(call_id=placed.call_id))

    # no spamming: answered, so a new call only after the interval on the server's clock
    await w.tick(30)
    w.take()
    with pytest.raises(Conflict) as soon:
        await w.run(branch_calls.call, kiosk, BranchCall())
    assert soon.value.details == {"retry_after_s": 30.0}
    assert w.take() == []
    await w.tick(30)
    w.take()
    later = await w.run(branch_calls.call, kiosk, BranchCall())
    assert later.call_id != placed.call_id and later.recipients == 1

    async with w.engine.maker() as db:
        rows = (await db.execute(select(AuditEvent).where(AuditEvent.action.startswith("branch."))
                                 .order_by(AuditEvent.seq))).scalars().all()
    assert [(r.actor, r.action, r.subject, r.detail) for r in rows] == [
        (kiosk.peer, "branch.call", f"branch_call:{placed.call_id}", {"recipients": 1}),
        (takahashi.peer, "branch.ack", f"branch_call:{placed.call_id}", {}),
        (kiosk.peer, "branch.call", f"branch_call:{later.call_id}", {"recipients": 1})]


async def test_two_answer_one_wins_and_the_other_notice_is_put_away(w: World) -> None:
    sato, suzuki = await w.staff("sato"), await w.staff("suzuki")   # Kitami staff, both online
    kiosk = await w.kiosk("kitami-tokoro")
    placed = await w.run(branch_calls.call, kiosk, BranchCall())
    assert sorted(p for p, _ in w.take()[1:]) == sorted([sato.peer, suzuki.peer])
    await w.run(branch_calls.ack, suzuki, BranchAck(call_id=placed.call_id))
    assert w.take() == [(suzuki.peer, "reply"), (kiosk.peer, "branch.call_state"), (sato.peer, "branch.call_state")]
    with pytest.raises(Conflict):
        await w.run(branch_calls.ack, sato, BranchAck(call_id=placed.call_id))


async def test_nobody_online_the_kiosk_is_told(w: World) -> None:
    kiosk = await w.kiosk("oketo")
    placed = await w.run(branch_calls.call, kiosk, BranchCall())
    assert (placed.recipients, placed.repeated) == (0, False)
    assert w.take() == [(kiosk.peer, "reply")]
    await w.tick(61)   # an unanswered call may be rung again after the interval
    w.take()
    assert (await w.run(branch_calls.call, kiosk, BranchCall())).call_id != placed.call_id
