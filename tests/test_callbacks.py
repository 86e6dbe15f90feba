"""折り返し電話 end to end on a real server (issue 12 item 4): a kiosk client asks for a callback, the Bihoro
specialist's console gets it pushed with the number, claims it and records outcomes; who else may read the number
(nobody of another municipality, not IT, not the monitor — which counts); bad requests are refused with a clear
error and lose nothing. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from server.db.models import AuditEvent, Ticket
from server.monitor.snapshot import build_snapshot
from signaling.client import RequestFailed
from signaling.protocol.messages import (
    CallbackBands,
    CallbackClaim,
    CallbackCreate,
    CallbackList,
    CallbackOutcomeSet,
    CallbackSnapshot,
    StatusSet,
    TicketCreate,
)
from signaling.protocol.models import CallbackBandRef
from signaling.protocol.replies import CallbackBandList, CallbackCreated, CallbackTask, CallbackTasks, TicketCreated
from tests.support import Env

PHONE = "0152731234"


async def test_a_kiosk_asks_and_the_municipalitys_console_calls_back(env: Env) -> None:
    takahashi, inbox = await env.staff_client("takahashi")   # Bihoro; employment, disability
    sato, sato_inbox = await env.staff_client("sato")        # Kitami; disability: another municipality
    kiosk, _ = await env.kiosk_client("bihoro")
    bands = await kiosk.ask(CallbackBands(service_code="disability"))
    assert isinstance(bands, CallbackBandList) and len(bands.bands) >= 2  # at least the next working day's two
    band = bands.bands[0]

    created = await kiosk.ask(CallbackCreate(service_code="disability", phone="0152-73-1234",
                                             band=CallbackBandRef(day=band.day, part=band.part)))
    assert isinstance(created, CallbackCreated) and created.band == band and created.ticket_cancelled is None
    snap = await inbox.next("callback.snapshot")
    assert isinstance(snap, CallbackSnapshot)
    (item,) = snap.items
    assert (item.callback_id, item.phone, item.branch, item.municipality, item.state) == (
        created.callback_id, PHONE, "美幌町役場 窓口", "美幌町", "open")

    # Kitami's specialist is told nothing and cannot take it; IT cannot even ask
    assert (await sato.ask(CallbackList())) == CallbackTasks(items=[])
    with pytest.raises(RequestFailed) as refused:
        await sato.ask(CallbackClaim(callback_id=item.callback_id))
    assert refused.value.code == "not_found"
    it, _ = await env.staff_client("it")
    with pytest.raises(RequestFailed) as forbidden:
        await it.ask(CallbackList())
    assert forbidden.value.code == "forbidden"
    # the monitor counts it, and its snapshot holds no number
    snapshot = await build_snapshot(env.ctx)
    assert snapshot.counts.callbacks == 1
    assert [q.callbacks for q in snapshot.queues if q.service_code == "disability"] == [1]
    assert PHONE not in snapshot.model_dump_json()

    claimed = await takahashi.ask(CallbackClaim(callback_id=item.callback_id))
    assert isinstance(claimed, CallbackTask) and claimed.item.claimed_by_name == "高橋 美咲"
    await inbox.next("callback.snapshot", items=[claimed.item])
    again = await takahashi.ask(CallbackOutcomeSet(callback_id=item.callback_id, outcome="no_answer", note="留守"))
    assert isinstance(again, CallbackTask) and (again.item.state, again.item.attempts) == ("open", 1)
    await takahashi.ask(CallbackClaim(callback_id=item.callback_id))
    done = await takahashi.ask(CallbackOutcomeSet(callback_id=item.callback_id, outcome="reached",
                                                  note="来週キオスクで面談"))
    assert isinstance(done, CallbackTask) and (done.item.state, done.item.outcome) == ("done", "reached")
    await inbox.next("callback.snapshot", items=[])
    assert (await build_snapshot(env.ctx)).counts.callbacks == 0
    assert not [m for m in sato_inbox.drain() if m.type == "callback.snapshot"]
    async with env.ctx.maker() as db:
        actions = (await db.execute(select(AuditEvent.action, AuditEvent.detail)
                                    .where(AuditEvent.action.startswith("callback.")).order_by(AuditEvent.seq))).all()
    assert [a for a, _ in actions] == ["callback.create", "callback.claim", "callback.outcome", "callback.claim",
                                       "callback.outcome"]
    assert not any(PHONE in str(d) or "面談" in str(d) for _, d in actions)


async def test_bad_requests_are_refused_clearly_and_lose_nothing(env: Env) -> None:
    takahashi, _ = await env.staff_client("takahashi")
    await takahashi.ask(StatusSet(status="available"))
    ahead, _ = await env.kiosk_client("bihoro")
    await ahead.ask(TicketCreate(service_code="employment"))   # offered to takahashi, who does not answer
    kiosk, _ = await env.kiosk_client("bihoro")
    ticket = await kiosk.ask(TicketCreate(service_code="employment"))
    assert isinstance(ticket, TicketCreated) and ticket.position == 2
    bands = await kiosk.ask(CallbackBands(service_code="employment"))
    assert isinstance(bands, CallbackBandList)
    band = CallbackBandRef(day=bands.bands[0].day, part=bands.bands[0].part)

    for bad, why in ((dict(phone="0901234567"), "not a Japanese fixed or mobile number"),  # 10 digits from 090
                     (dict(phone="12345"), "not a Japanese fixed or mobile number"),
                     (dict(band=CallbackBandRef(day=date(2020, 1, 6), part="am")), "not offered now"),
                     (dict(band=CallbackBandRef.model_construct(day=band.day, part="night")), "part"),
                     (dict(service_code="nope"), "unknown service")):
        fields = {"type": "callback.create", "id": "x1", "service_code": "employment", "phone": PHONE,
                  "band": band, "ticket_id": ticket.ticket_id, **bad}
        with pytest.raises(RequestFailed) as err:
            await kiosk.request(CallbackCreate.model_construct(**fields))  # sent unvalidated: the server checks
        assert err.value.code in ("invalid_message", "not_found") and why in err.value.message, err.value.message
    async with env.ctx.maker() as db:
        t = await db.get(Ticket, ticket.ticket_id)
        assert t is not None and t.state == "waiting"               # still in the queue
    with pytest.raises(RequestFailed) as staff_only:
        await takahashi.ask(CallbackCreate(service_code="employment", phone=PHONE, band=band))
    assert staff_only.value.code == "forbidden"
    with pytest.raises(RequestFailed) as kiosk_only:
        await kiosk.ask(CallbackList())
    assert kiosk_only.value.code == "forbidden"

    ok = await kiosk.ask(CallbackCreate(service_code="employment", phone=PHONE, band=band,
                                        ticket_id=ticket.ticket_id))
    assert isinstance(ok, CallbackCreated) and ok.ticket_cancelled == ticket.ticket_id
    async with env.ctx.maker() as db:
        t = await db.get(Ticket, ticket.ticket_id)
        assert t is not None and t.state == "cancelled"
