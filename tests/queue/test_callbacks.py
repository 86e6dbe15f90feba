"""Callbacks (折り返し電話, issue 12 item 4) — the queue alone on the manual clock (tests/queue/world.py): the bands
offered, a callback instead of a place in the queue, one claim winning, outcomes and retries, and who may see the
number. Whole outboxes are asserted, in order, reply first.

T0 is Monday 2026-12-07 09:00 in Japan. Demo seed: sato (Kitami; disability), suzuki (Kitami; guardianship),
takahashi (Bihoro; employment, disability), tanaka (Kitami supervisor), it (Kitami IT monitor).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from server.db.models import AuditEvent, Callback
from server.queue import callbacks, tickets
from server.queue.errors import Conflict, Forbidden, Invalid, NotFound
from signaling.principal import Principal
from signaling.protocol.messages import (
    CallbackBands,
    CallbackClaim,
    CallbackCreate,
    CallbackOutcomeSet,
    CallbackSnapshot,
    QueueSnapshot,
    TicketCreate,
    TicketUpdate,
)
from signaling.protocol.models import CallbackBandRef, CallbackOutcome
from signaling.protocol.phone import phone_problem
from signaling.protocol.replies import CallbackBandList, CallbackCreated, CallbackTask, CallbackTasks, TicketCreated
from tests.queue.test_engine import SETTINGS
from tests.queue.world import T0, World, world

MONDAY, TUESDAY = date(2026, 12, 7), date(2026, 12, 8)
PHONE = "0152721111"  # a Kitami fixed line, as typed on the keypad


@pytest.fixture
async def w(tmp_path: Path, backend: str):  # type: ignore[no-untyped-def]
    async with world(tmp_path, backend, **SETTINGS) as w:
        yield w


def ask(day: date = MONDAY, part: str = "pm", phone: str = PHONE, ticket_id: int | None = None,
        service: str = "disability") -> CallbackCreate:
    return CallbackCreate(service_code=service, phone=phone, band=CallbackBandRef(day=day, part=part),  # type: ignore[arg-type]
                          ticket_id=ticket_id)


async def bands(w: World, kiosk: Principal) -> list[tuple[date, str, int]]:
    reply = await w.run(callbacks.bands, kiosk, CallbackBands(service_code="disability"))
    assert isinstance(reply, CallbackBandList)
    w.take()
    return [(b.day, b.part, b.day_offset) for b in reply.bands]


async def audit_rows(w: World, prefix: str = "callback.") -> list[tuple[str, str, str, dict]]:  # type: ignore[type-arg]
    async with w.engine.maker() as db:
        rows = (await db.execute(select(AuditEvent).where(AuditEvent.action.startswith(prefix))
                                 .order_by(AuditEvent.seq))).scalars().all()
    return [(r.actor, r.action, r.subject, r.detail) for r in rows]


# ---------------------------------------------------------------- bands and numbers
async def test_the_bands_offered_follow_the_clock_and_the_working_week(w: World) -> None:
    kiosk = await w.kiosk()
    assert await bands(w, kiosk) == [(MONDAY, "am", 0), (MONDAY, "pm", 0), (TUESDAY, "am", 1), (TUESDAY, "pm", 1)]
    w.clock.advance(3 * 3600 - 1799)   # 11:30:01: under 30 minutes of the morning left
    assert await bands(w, kiosk) == [(MONDAY, "pm", 0), (TUESDAY, "am", 1), (TUESDAY, "pm", 1)]
    w.clock.advance(4 * 86400 + 6 * 3600)  # Friday 17:30: the next working day is Monday
    friday_next = [(MONDAY + timedelta(days=7), "am", 3), (MONDAY + timedelta(days=7), "pm", 3)]
    assert await bands(w, kiosk) == [(date(2026, 12, 14), p, 3) for p in ("am", "pm")] == friday_next
    with pytest.raises(NotFound):
        await w.run(callbacks.bands, kiosk, CallbackBands(service_code="nope"))


@pytest.mark.parametrize(("typed", "problem"), [
    ("0152721111", None), ("0152-72-1111", None), ("09012345678", None), ("080 1234 5678", None),
    ("07012345678", None), ("0312345678", None),
    ("015272111", "too_short"), ("090123456789", "too_long"), ("1152721111", "prefix"),
    ("05012345678", "prefix"), ("01527211111", "prefix"), ("0012345678", "prefix"), ("0901234567", "prefix"),
    ("0152７２1111", "not_digits"),
    ("", "not_digits"), ("+81152721111", "not_digits"),
])
def test_japanese_numbers_fixed_or_mobile(typed: str, problem: str | None) -> None:
    assert phone_problem(typed) == problem
    if problem is None:
        assert ask(phone=typed).phone == typed.replace("-", "").replace(" ", "")
    else:
        with pytest.raises(ValidationError):
            ask(phone=typed)


# ---------------------------------------------------------------- a callback instead of waiting
async def test_a_waiting_resident_asks_for_a_callback_instead(w: World) -> None:
    """sato is in a call; the second resident gives up the place for a callback, in one step: the reply, the kiosk
    told its ticket is cancelled, the task pushed to each Kitami handler connected, then the queue refreshed."""
    sato = await w.staff("sato", available=True)
    tanaka = await w.staff("tanaka")           # supervisor, signed in (away): sees every service
    takahashi = await w.staff("takahashi")     # Bihoro: never sees a Kitami resident's number
    k1, k2 = await w.kiosk(), await w.kiosk()
    first = await w.run(tickets.create_ticket, k1, TicketCreate(service_code="disability"))
    await w.run(tickets.accept, sato, first.ticket_id)
    second = await w.run(tickets.create_ticket, k2, TicketCreate(service_code="disability"))
    assert isinstance(second, TicketCreated) and second.position == 1
    w.take()

    reply = await w.run(callbacks.create, k2, ask(ticket_id=second.ticket_id))
    assert isinstance(reply, CallbackCreated)
    assert (reply.band.day, reply.band.part, reply.ticket_cancelled) == (MONDAY, "pm", second.ticket_id)
    assert reply.band.starts_at == T0 + timedelta(hours=4) and reply.band.ends_at == T0 + timedelta(hours=8)
    msgs = w.take_msgs()
    frames = [(p, type(m).__name__) for p, m in msgs]
    assert frames[:4] == [
        (k2.peer, "CallbackCreated"),
        (k2.peer, "TicketUpdate"),
        (sato.peer, "CallbackSnapshot"),
        (tanaka.peer, "CallbackSnapshot"),
    ]
    assert sorted(frames[4:]) == sorted([(s.peer, "QueueSnapshot") for s in (sato, takahashi, tanaka)])
    update = msgs[1][1]
    assert isinstance(update, TicketUpdate) and (update.ticket_id, update.state) == (second.ticket_id, "cancelled")
    for _, snap in msgs[2:4]:
        assert isinstance(snap, CallbackSnapshot)
        (item,) = snap.items
        assert (item.callback_id, item.phone, item.state, item.service_code, item.branch, item.attempts) == (
            reply.callback_id, PHONE, "open", "disability", "常呂総合支所", 0)
    assert all(isinstance(m, QueueSnapshot) and m.items == [] for _, m in msgs[4:])
    assert (await w.ticket(second.ticket_id)).state == "cancelled"
    assert await audit_rows(w) == [(k2.peer, "callback.create", f"callback:{reply.callback_id}",
                                    {"service": "disability", "band": "2026-12-07 pm",
                                     "ticket_cancelled": second.ticket_id})]


async def test_a_band_no_longer_offered_is_refused_and_the_place_kept(w: World) -> None:
    await w.staff("sato", available=True)
    kiosk = await w.kiosk()
    t = await w.run(tickets.create_ticket, kiosk, TicketCreate(service_code="disability"))
    w.take()
    w.clock.advance(3 * 3600)  # noon: the morning is over
    with pytest.raises(Invalid) as err:
        await w.run(callbacks.create, kiosk, ask(part="am", ticket_id=t.ticket_id))
    assert [b["part"] for b in err.value.details["bands"]] == ["pm", "am", "pm"]
    assert w.take() == []
    assert (await w.ticket(t.ticket_id)).state == "offered"  # nothing committed: the resident keeps the place
    other = await w.kiosk()
    with pytest.raises(NotFound):  # another kiosk's ticket: refused, and no callback either
        await w.run(callbacks.create, other, ask(ticket_id=t.ticket_id))
    async with w.engine.maker() as db:
        assert (await db.execute(select(Callback))).scalars().all() == []


async def test_nobody_on_duty_a_callback_alone(w: World) -> None:
    """No ticket at all (the kiosk was told nobody is on duty): the task is recorded and waits for Monday's
    handlers; nobody is connected, so nothing but the reply goes out."""
    kiosk = await w.kiosk()
    reply = await w.run(callbacks.create, kiosk, ask(day=TUESDAY, part="am", phone="090-1234-5678"))
    assert w.take() == [(kiosk.peer, "reply")]
    assert isinstance(reply, CallbackCreated) and reply.ticket_cancelled is None
    sato = await w.staff("sato")
    tasks = await w.run(callbacks.list_tasks, sato)
    assert isinstance(tasks, CallbackTasks)
    assert [(i.phone, i.band.day, i.band.part, i.band.day_offset) for i in tasks.items] == [
        ("09012345678", TUESDAY, "am", 1)]


# ---------------------------------------------------------------- claim, outcome, retry
async def test_one_claim_wins_outcomes_close_or_retry_and_are_audited(w: World) -> None:
    sato, tanaka = await w.staff("sato"), await w.staff("tanaka")
    kiosk = await w.kiosk()
    cid = (await w.run(callbacks.create, kiosk, ask())).callback_id
    w.take()

    claimed = await w.run(callbacks.claim, sato, CallbackClaim(callback_id=cid))
    assert isinstance(claimed, CallbackTask)
    assert (claimed.item.state, claimed.item.claimed_by, claimed.item.claimed_by_name) == (
        "claimed", sato.principal_id, "佐藤 花子")
    msgs = w.take_msgs()
    assert [(p, type(m).__name__) for p, m in msgs] == [
        (sato.peer, "CallbackTask"), (sato.peer, "CallbackSnapshot"), (tanaka.peer, "CallbackSnapshot")]
    assert [i.state for i in msgs[2][1].items] == ["claimed"]

    with pytest.raises(Conflict):
        await w.run(callbacks.claim, tanaka, CallbackClaim(callback_id=cid))
    with pytest.raises(Conflict):
        await w.run(callbacks.record_outcome, tanaka, CallbackOutcomeSet(callback_id=cid, outcome="reached"))
    assert w.take() == []

    outcomes: list[CallbackOutcome] = ["no_answer", "no_answer"]
    for n, (outcome, who, then) in enumerate(zip(outcomes, (sato, tanaka), (tanaka, sato), strict=True), start=1):
        r = await w.run(callbacks.record_outcome, who, CallbackOutcomeSet(callback_id=cid, outcome=outcome,
                                                                           note="留守電なし"))
        assert (r.item.state, r.item.attempts, r.item.outcome, r.item.claimed_by) == ("open", n, "no_answer", None)
        assert [(p, type(m).__name__) for p, m in w.take_msgs()] == [
            (who.peer, "CallbackTask"), (sato.peer, "CallbackSnapshot"), (tanaka.peer, "CallbackSnapshot")]
        await w.run(callbacks.claim, then, CallbackClaim(callback_id=cid))  # another try, by a colleague
        w.take()
    with pytest.raises(Conflict):  # sato holds the third try
        await w.run(callbacks.record_outcome, tanaka, CallbackOutcomeSet(callback_id=cid, outcome="resolved"))
    last = await w.run(callbacks.record_outcome, sato, CallbackOutcomeSet(callback_id=cid, outcome="no_answer"))
    assert (last.item.state, last.item.attempts) == ("done", 3)  # the third unanswered call closes it
    msgs = w.take_msgs()
    assert [m.items for _, m in msgs[1:]] == [[], []]  # gone from both lists
    with pytest.raises(Conflict):
        await w.run(callbacks.claim, sato, CallbackClaim(callback_id=cid))

    rows = await audit_rows(w)
    assert [(a, act) for a, act, _, _ in rows] == [
        (kiosk.peer, "callback.create"), (sato.peer, "callback.claim"),
        (sato.peer, "callback.outcome"), (tanaka.peer, "callback.claim"),
        (tanaka.peer, "callback.outcome"), (sato.peer, "callback.claim"), (sato.peer, "callback.outcome")]
    assert [d for _, act, _, d in rows if act == "callback.outcome"] == [
        {"outcome": "no_answer", "attempts": 1, "state": "open"},
        {"outcome": "no_answer", "attempts": 2, "state": "open"},
        {"outcome": "no_answer", "attempts": 3, "state": "done"}]
    assert not any(PHONE in str(d) or "留守電" in str(d) for *_, d in rows)  # neither number nor note


async def test_reached_closes_with_its_note(w: World) -> None:
    suzuki = await w.staff("suzuki")
    kiosk = await w.kiosk()
    cid = (await w.run(callbacks.create, kiosk, ask(service="guardianship"))).callback_id
    await w.run(callbacks.claim, suzuki, CallbackClaim(callback_id=cid))
    w.take()
    r = await w.run(callbacks.record_outcome, suzuki,
                    CallbackOutcomeSet(callback_id=cid, outcome="resolved", note="来週窓口で面談"))
    assert (r.item.state, r.item.outcome, r.item.note, r.item.attempts) == ("done", "resolved", "来週窓口で面談", 0)
    async with w.engine.maker() as db:
        cb = await db.get(Callback, cid)
        assert cb is not None and cb.closed_at == T0
    with pytest.raises(ValidationError):
        CallbackOutcomeSet(callback_id=cid, outcome="reached", note="x" * 201)
    with pytest.raises(ValidationError):
        CallbackOutcomeSet(callback_id=cid, outcome="maybe")  # type: ignore[arg-type]


# ---------------------------------------------------------------- who may read the number
async def test_only_the_residents_municipality_handles_it(w: World) -> None:
    takahashi = await w.staff("takahashi")   # Bihoro, disability: another municipality
    suzuki = await w.staff("suzuki")         # Kitami, guardianship only
    sato = await w.staff("sato")
    it = await w.staff("it")                 # IT monitor
    kiosk = await w.kiosk()                  # Kitami's Tokoro branch
    cid = (await w.run(callbacks.create, kiosk, ask())).callback_id
    msgs = w.take_msgs()
    # the push goes to Kitami's connected handlers only: suzuki's list is empty, takahashi and IT get nothing
    assert [(p, [i.callback_id for i in m.items]) for p, m in msgs[1:]] == [(sato.peer, [cid]), (suzuki.peer, [])]
    for who in (takahashi, suzuki):
        assert (await w.run(callbacks.list_tasks, who)).items == []
        with pytest.raises(NotFound):
            await w.run(callbacks.claim, who, CallbackClaim(callback_id=cid))
    with pytest.raises(Forbidden):
        await w.run(callbacks.list_tasks, it)
    with pytest.raises(Forbidden):
        await w.run(callbacks.claim, it, CallbackClaim(callback_id=cid))
    bihoro = await w.kiosk("bihoro")
    theirs = (await w.run(callbacks.create, bihoro, ask())).callback_id
    assert [i.callback_id for i in (await w.run(callbacks.list_tasks, takahashi)).items] == [theirs]
    assert [i.callback_id for i in (await w.run(callbacks.list_tasks, sato)).items] == [cid]
