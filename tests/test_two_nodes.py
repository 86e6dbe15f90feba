"""Two server nodes on one PostgreSQL and one Redis (DESIGN §7): a kiosk on node A and consoles on node B
call, relay SDP, transfer, invite and supervise exactly as on one node; the monitor of either node shows
the whole region."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from server.run import start_server
from signaling.protocol.messages import (
    InviteAnswer,
    InviteRequest,
    OfferAccept,
    RtcAnswer,
    RtcOffer,
    SessionJoin,
    StatusSet,
    TicketCreate,
    TransferRequest,
)
from tests.cluster_support import redis_url, seeded_settings
from tests.support import Env, allow_outside_supervision

pytestmark = pytest.mark.usefixtures("need_pg")
SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


@pytest.fixture
def need_pg(backend: str) -> None:
    if backend != "pg":
        pytest.skip("several nodes share PostgreSQL (SQLite is the one-node embedded default)")


@asynccontextmanager
async def two_nodes(tmp_path: Path, **overrides: Any) -> AsyncIterator[tuple[Env, Env]]:
    settings = await seeded_settings(tmp_path, "pg", redis_url=redis_url(),
                                     redis_prefix=f"t-{uuid.uuid4().hex[:12]}:", **overrides)
    envs: list[Env] = []
    try:
        for node in ("a", "b"):
            s = settings.model_copy(update={"node_id": node})
            srv = await start_server(s)
            app = srv.server.config.loaded_app
            while hasattr(app, "app"):
                app = app.app
            envs.append(Env(server=srv, settings=s, app=app))
        yield envs[0], envs[1]
    finally:
        for e in envs:
            for c in e.clients:
                await c.close()
        for e in reversed(envs):
            await e.server.stop()


async def test_a_call_across_two_nodes(tmp_path: Path) -> None:
    async with two_nodes(tmp_path) as (a, b):
        kiosk, k_in = await a.kiosk_client("bihoro")
        taka, t_in = await b.staff_client("takahashi")
        await taka.request(StatusSet(status="available"))
        created = await kiosk.request(TicketCreate(service_code="employment"))
        offer = await t_in.next("offer", ticket_id=created["ticket_id"])   # routed by A, delivered by B
        acc = await taka.request(OfferAccept(ticket_id=offer.ticket_id))
        sid = acc["session_id"]
        start_k = await k_in.next("session.start", session_id=sid)
        start_t = await t_in.next("session.start", session_id=sid)
        assert start_t.offer_to == [start_k.you]
        # SDP relay between the nodes, both ways
        await taka.request(RtcOffer(session_id=sid, to=start_k.you, sdp=SDP))
        relayed = await k_in.next("rtc.offer", session_id=sid)
        assert relayed.sender == start_t.you
        await kiosk.request(RtcAnswer(session_id=sid, to=start_t.you, sdp=SDP))
        await t_in.next("rtc.answer", session_id=sid)
        # the region's monitor on either node sees both ends connected
        for env in (a, b):
            view = await env.ctx.delivery.presence()
            assert view.is_connected(start_k.you) and view.is_connected(start_t.you)
        # a colleague on node A is invited by the specialist on B and joins; a supervisor on B listens in
        sato, s_in = await a.staff_client("sato")
        await taka.request(InviteRequest(session_id=sid, staff_id=sato.welcome.principal_id))  # type: ignore[union-attr]
        await s_in.next("invite", session_id=sid)
        await sato.request(InviteAnswer(session_id=sid, accept=True))
        await s_in.next("session.start", session_id=sid)
        joined = await k_in.next("participant.joined", session_id=sid)
        assert joined.participant.role == "third_party"
        await allow_outside_supervision(b)  # tanaka is Kitami's supervisor; the call is Bihoro's
        tanaka, sup_in = await b.staff_client("tanaka")
        await tanaka.request(SessionJoin(session_id=sid))
        sup_start = await sup_in.next("session.start", session_id=sid)
        assert sup_start.receive_only
        await tanaka.request(RtcOffer(session_id=sid, to=start_k.you, sdp=SDP))   # B → A relay for a joiner
        await k_in.next("rtc.offer", session_id=sid, sender=sup_start.you)
        # transfer from B to another service; the kiosk on A is told, then the call ends normally
        await taka.request(TransferRequest(session_id=sid, service_code="disability"))
        ended = await k_in.next("session.ended", session_id=sid)
        assert ended.reason == "transferred"
        await k_in.next("ticket.update", ticket_id=created["ticket_id"], state="waiting")
        await t_in.next("session.ended", session_id=sid, wrap_up=True)
        await s_in.next("session.ended", session_id=sid)
        await sup_in.next("session.ended", session_id=sid)


async def test_a_kiosk_revoked_on_one_node_is_closed_on_the_other(tmp_path: Path) -> None:
    async with two_nodes(tmp_path) as (a, b):
        kiosk, _ = await a.kiosk_client("bihoro")
        assert kiosk.welcome is not None
        closed = asyncio.Event()
        kiosk.on_state = lambda state: closed.set() if state == "closed" else None
        await b.ctx.delivery.disconnect(kiosk.welcome.peer, 4001, "kiosk revoked")
        await asyncio.wait_for(closed.wait(), 10)
        assert kiosk.stop_reason == "revoked"
