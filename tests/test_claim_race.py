"""Two consoles can never both get the same ticket (DESIGN §4): the claim is one conditional UPDATE.

Every round, two eligible specialists send ``offer.accept`` for the same ticket at the same moment;
exactly one must win, the other gets ``conflict``, and the ticket has exactly one call session.
Runs on SQLite and, with MADOGUCHI_TEST_PG_URL, on PostgreSQL.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from server.db.models import CallSession, Ticket
from server.run import start_server
from signaling.client import RequestFailed
from signaling.protocol.messages import OfferAccept, SessionEnd, TicketCreate, WrapupDone
from tests.support import Env, make_settings
from tests.test_routing import Party, world

ROUNDS = 50


async def race(a: Party, b: Party, tid: int) -> tuple[Party, int]:
    """Both accept at once; return the winner and its session id."""
    results = await asyncio.gather(a.client.request(OfferAccept(ticket_id=tid)),
                                   b.client.request(OfferAccept(ticket_id=tid)), return_exceptions=True)
    wins = [(p, r) for p, r in zip((a, b), results, strict=True) if isinstance(r, dict)]
    losses = [r for r in results if isinstance(r, RequestFailed)]
    assert len(wins) == 1 and len(losses) == 1, results
    assert losses[0].code == "conflict", losses[0]
    winner, data = wins[0]
    assert data["ticket_id"] == tid
    return winner, int(data["session_id"])


async def reset(http: httpx.AsyncClient, winner: Party, sid: int) -> None:
    """End the call, write the note, finish wrap-up: the winner is available again."""
    await winner.req(SessionEnd(session_id=sid))
    r = await http.put(f"/api/sessions/{sid}/note", json={"category": "race"},
                       headers={"Authorization": f"Bearer {winner.token}"})
    assert r.status_code == 200, r.text
    await winner.req(WrapupDone(session_id=sid))


async def check_one_session_per_ticket(env: Env, tickets: list[int]) -> None:
    async with env.ctx.maker() as db:
        rows = (await db.execute(
            select(CallSession.ticket_id, func.count()).group_by(CallSession.ticket_id))).all()
        counts = {int(tid): int(n) for tid, n in rows}
        states = set((await db.execute(select(Ticket.state).where(Ticket.id.in_(tickets)))).scalars().all())
    assert counts == {tid: 1 for tid in tickets}
    assert states == {"done"}


def started_tickets(p: Party) -> set[int]:
    p.inbox.drain()
    return {m.ticket_id for m in p.inbox.seen if m.type == "session.start"}


async def test_two_consoles_accept_the_same_ticket(tmp_path: Path, backend: str) -> None:
    async with world(tmp_path, backend) as w, httpx.AsyncClient(base_url=w.env.url) as http:
        sato = await w.staff("sato", available=True)
        tanaka = await w.staff("tanaka", available=True)
        # oketo: both may serve it (shared pool) but routing offers it to nobody for 300 s, so the ticket is
        # plainly waiting and both consoles race for it; kitami: it is offered to one, and the other one races
        oketo, kitami = await w.kiosk("oketo"), await w.kiosk("kitami-tokoro")
        tickets: list[int] = []
        wins = {sato.id: 0, tanaka.id: 0}
        for i in range(ROUNDS):
            kiosk = oketo if i % 2 == 0 else kitami
            tid = (await kiosk.req(TicketCreate(service_code="disability")))["ticket_id"]
            expected = (await w.ticket(tid)).state
            assert expected == ("waiting" if kiosk is oketo else "offered")
            first, second = (sato, tanaka) if i % 4 < 2 else (tanaka, sato)  # both orders of sending
            winner, sid = await race(first, second, tid)
            wins[winner.id] += 1
            tickets.append(tid)
            await kiosk.inbox.next("session.start", session_id=sid)
            await reset(http, winner, sid)
        await check_one_session_per_ticket(w.env, tickets)
        s_started, t_started = started_tickets(sato), started_tickets(tanaka)
        assert s_started | t_started == set(tickets) and not s_started & t_started
        assert all(n > 0 for n in wins.values()), wins  # both consoles did win some rounds


async def test_double_click_on_one_console(tmp_path: Path, backend: str) -> None:
    async with world(tmp_path, backend) as w:
        sato = await w.staff("sato", available=True)
        kiosk = await w.kiosk()
        tid = (await kiosk.req(TicketCreate(service_code="disability")))["ticket_id"]
        results: list[Any] = await asyncio.gather(*(sato.client.request(OfferAccept(ticket_id=tid))
                                                    for _ in range(3)), return_exceptions=True)
        assert sum(isinstance(r, dict) for r in results) == 1, results
        assert all(r.code == "conflict" for r in results if isinstance(r, RequestFailed))
        async with w.env.ctx.maker() as db:
            n = (await db.execute(select(func.count()).where(CallSession.ticket_id == tid))).scalar_one()
        assert n == 1


async def test_two_nodes_on_one_database(tmp_path: Path, backend: str) -> None:
    """No shared in-process lock: the two consoles talk to two server processes' worth of state (two
    uvicorn servers, two engines) and only the database decides who wins."""
    rounds = ROUNDS // 2
    async with world(tmp_path, backend) as w, httpx.AsyncClient(base_url=w.env.url) as http:
        node_b = await start_server(make_settings(tmp_path, backend, secret_key=w.env.settings.secret_key))
        try:
            sato = await w.staff("sato", available=True)               # on node A
            env_b = Env(server=node_b, settings=w.env.settings, app=None)
            tanaka = await w.staff("tanaka", available=True, node=env_b)  # on node B
            oketo = await w.kiosk("oketo")
            tickets = []
            for i in range(rounds):
                tid = (await oketo.req(TicketCreate(service_code="disability")))["ticket_id"]
                first, second = (sato, tanaka) if i % 2 else (tanaka, sato)
                winner, sid = await race(first, second, tid)
                tickets.append(tid)
                await reset(http, winner, sid)
            await check_one_session_per_ticket(w.env, tickets)
        finally:
            for c in env_b.clients:
                await c.close()
            await node_b.stop()
