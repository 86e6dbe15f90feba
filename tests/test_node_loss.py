"""Node loss (DESIGN §7): two server processes on one PostgreSQL and one Redis; one is killed with SIGKILL
while kiosks wait and calls are live (and, in the last test, while a real-media call runs across the two
nodes). Every client comes back on the survivor, every waiting ticket keeps
its place and order, the live calls go on and end normally with complete session rows, and an offer that
was pending on the dead node rings again. Scaled to what two cores hold beside the test itself:
20 waiting kiosks and 3 live calls (signaling only: media is peer to peer and never touches a node)."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from kiosk.controller import KioskController
from kiosk.services import credentials
from kiosk.services.server_api import enroll
from kiosk.settings import KioskSettings
from server.admin_ops import create_enrollment
from server.db.models import CallSession, Ticket
from server.db.seed import DEMO_PASSWORD
from server.db.session import make_engine, make_sessionmaker
from server.settings import Settings
from signaling.client import RequestFailed, SignalingClient
from signaling.observer import wait_for
from signaling.protocol.messages import (
    CallStatsReport,
    OfferAccept,
    ServerMessage,
    SessionEnd,
    StatusSet,
    TicketCreate,
)
from signaling.protocol.models import CallStats
from staff_console.controller import StaffController
from staff_console.settings import ConsoleSettings
from tests.cluster_support import redis_url, seeded_settings
from tests.integration.calls import SMALL
from tests.server_process import ServerProcess
from tests.support import WAIT_S, Inbox, eventually

WAITING, CALLS = 20, 3


@pytest.fixture
def need_pg(backend: str) -> None:
    if backend != "pg":
        pytest.skip("several nodes share PostgreSQL (SQLite is the one-node embedded default)")


class Node(ServerProcess):
    """One server node of a region, started as an operator starts it (tests.server_process), sharing the
    database and Redis with the others."""

    def __init__(self, settings: Settings, node_id: str, tmp: Path) -> None:
        super().__init__(settings, tmp, MADOGUCHI_REDIS_URL=settings.redis_url,
                         MADOGUCHI_REDIS_PREFIX=settings.redis_prefix, MADOGUCHI_NODE_ID=node_id,
                         MADOGUCHI_KIOSK_GRACE_S=str(settings.kiosk_grace_s))
        self.node_id = node_id

    @property
    def http(self) -> str:
        return self.url

    @property
    def ws(self) -> str:
        return self.ws_url

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


class Region:
    def __init__(self, settings: Settings, nodes: list[Node]) -> None:
        self.settings, self.nodes = settings, nodes
        self.engine = make_engine(settings.database_url)
        self.maker = make_sessionmaker(self.engine)
        self.clients: list[SignalingClient] = []
        self.changed = asyncio.Event()  # some client's connection state changed

    async def until_all(self, pred: Callable[[SignalingClient], bool], timeout: float = WAIT_S) -> None:
        await eventually(lambda: all(pred(c) for c in self.clients), timeout=timeout, changed=self.changed,
                         what="every client")

    async def _online(self, path: str, body: dict[str, Any]) -> tuple[SignalingClient, Inbox]:
        """A client of every node; its token comes from ``path`` on the node it is about to try."""
        inbox = Inbox()
        holder: list[SignalingClient] = []

        async def token() -> str:
            async with httpx.AsyncClient(base_url=holder[0].http_url) as http:
                r = await http.post(path, json=body)
                r.raise_for_status()
                return str(r.json()["access_token"])

        async def on_message(msg: ServerMessage) -> None:
            inbox.queue.put_nowait(msg)

        c = SignalingClient([n.ws for n in self.nodes], token, on_message=on_message,
                            on_state=lambda _: self.changed.set())
        holder.append(c)
        self.clients.append(c)
        await c.start()
        await c.wait_online(WAIT_S)
        return c, inbox

    async def kiosk(self, branch: str = "bihoro") -> tuple[SignalingClient, Inbox]:
        async with self.maker() as db, db.begin():
            kid, code = await create_enrollment(db, branch, "", "test")
        async with httpx.AsyncClient(base_url=self.nodes[0].http) as http:
            r = await http.post("/api/kiosk/enroll", json={"kiosk_id": kid, "code": code})
            r.raise_for_status()
            secret = r.json()["secret"]
        return await self._online("/api/kiosk/token", {"kiosk_id": kid, "secret": secret})

    async def staff(self, username: str) -> tuple[SignalingClient, Inbox]:
        return await self._online("/api/auth/login", {"username": username, "password": DEMO_PASSWORD})

    async def tickets(self) -> dict[int, Ticket]:
        async with self.maker() as db:
            return {t.id: t for t in (await db.execute(select(Ticket))).scalars().unique().all()}

    async def sessions(self) -> list[CallSession]:
        async with self.maker() as db:
            return list((await db.execute(select(CallSession).order_by(CallSession.id))).scalars().unique().all())


@asynccontextmanager
async def region(tmp_path: Path, **overrides: Any) -> AsyncIterator[Region]:
    settings = await seeded_settings(tmp_path, "pg", redis_url=redis_url(),
                                     redis_prefix=f"t-{uuid.uuid4().hex[:12]}:", **overrides)
    nodes = [Node(settings, "a", tmp_path), Node(settings, "b", tmp_path)]
    r = Region(settings, nodes)
    try:
        for n in nodes:
            await n.ready()
        yield r
    finally:
        for c in r.clients:
            await c.close()
        for n in nodes:
            n.stop()
        await r.engine.dispose()


@pytest.mark.usefixtures("need_pg")
async def test_killing_a_node_loses_no_ticket_place_or_call(tmp_path: Path) -> None:
    async with region(tmp_path, offer_timeout_s=120.0, kiosk_grace_s=60.0) as r:
        a, b = r.nodes
        # three live calls: the Kitami, Bihoro and guardianship specialists each serve a resident
        calls: list[tuple[SignalingClient, Inbox, SignalingClient, Inbox, int]] = []
        for user, branch, service in (("takahashi", "bihoro", "employment"), ("sato", "kitami-tokoro", "disability"),
                                      ("suzuki", "kitami-tokoro", "guardianship")):
            st, s_in = await r.staff(user)
            await st.request(StatusSet(status="available"))
            k, k_in = await r.kiosk(branch)
            t = (await k.request(TicketCreate(service_code=service)))["ticket_id"]
            await s_in.next("offer", ticket_id=t, timeout=WAIT_S)
            sid = (await st.request(OfferAccept(ticket_id=t)))["session_id"]
            await k_in.next("session.start", session_id=sid, timeout=WAIT_S)
            calls.append((k, k_in, st, s_in, sid))
        # twenty Kitami residents waiting for general help, then the supervisor comes on duty: one offer rings
        waiting = [await r.kiosk("kitami-tokoro") for _ in range(WAITING)]
        tids = [(await k.request(TicketCreate(service_code="general")))["ticket_id"] for k, _ in waiting]
        tanaka, ta_in = await r.staff("tanaka")
        await tanaka.request(StatusSet(status="available"))
        offer = await ta_in.next("offer", timeout=WAIT_S)
        assert offer.ticket_id == tids[0]
        before = await r.tickets()
        order_before = sorted(tids, key=lambda t: (before[t].arrival_at, t))
        assert all(c.url == a.ws for c in r.clients)  # everyone is on node A

        killed = time.monotonic()
        a.kill()
        # every client is back, on B
        await r.until_all(lambda c: c.state == "online" and c.url == b.ws, timeout=WAIT_S)
        back_s = time.monotonic() - killed
        print(f"\nnode loss: {len(r.clients)} clients back on the survivor {back_s:.2f} s after SIGKILL")
        # the offer that rang on the dead node rings again: re-sent on the reconnect, or — if the survivor
        # declared the node lost first — routed again once the console is back on duty (as the real console
        # restores the status its specialist chose)
        try:
            await tanaka.request(StatusSet(status="available"))
        except RequestFailed as exc:
            assert exc.code == "conflict"  # still "offered": the offer was re-sent
        again = await ta_in.next("offer", ticket_id=tids[0], timeout=WAIT_S)
        assert again.ticket_id == tids[0]
        # the calls go on: stats reach the survivor; then each ends normally
        for k, _, st, _, sid in calls:
            await k.request(CallStatsReport(session_id=sid, stats=CallStats(fps=15.0, frames_received=900)))
            await st.request(CallStatsReport(session_id=sid, stats=CallStats(fps=15.0, frames_received=900)))
        for _, k_in, st, _, sid in calls:
            await st.request(SessionEnd(session_id=sid))
            assert (await k_in.next("session.ended", session_id=sid, timeout=WAIT_S)).reason == "staff_hangup"
        sessions = {s.id: s for s in await r.sessions()}
        for *_, sid in calls:
            s = sessions[sid]
            assert s.end_reason == "staff_hangup" and s.ended_at is not None and s.media_seen_at is not None
            assert all("left_at" in p for p in s.participants) and s.quality["kiosk"]["samples"] >= 1
        # every waiting ticket kept its place and its order
        after = await r.tickets()
        assert [after[t].state for t in tids[1:]] == ["waiting"] * (WAITING - 1)
        assert after[tids[0]].state in ("offered", "waiting")
        assert sorted(tids, key=lambda t: (after[t].arrival_at, t)) == order_before
        assert all(after[t].disconnected_at is None for t in tids)  # all reconnected within the grace


@pytest.mark.usefixtures("need_pg")
async def test_a_real_media_call_outlives_the_node_its_kiosk_was_on(tmp_path: Path) -> None:
    """Real aiortc media between a real kiosk on node A and a real console on node B; node A is killed (SIGKILL).
    The media never stops (the same peer connection keeps receiving frames both ways), the kiosk comes back on B,
    the call ends normally from the kiosk, and its session row is complete."""
    async with region(tmp_path, offer_timeout_s=120.0, kiosk_grace_s=60.0) as r:
        a, b = r.nodes
        async with r.maker() as db, db.begin():
            kid, code = await create_enrollment(db, "bihoro", "", "test")
        cred = await enroll(a.http, kid, code)
        ks = KioskSettings(server_url=f"{a.http},{b.http}", credential_file=tmp_path / "kiosk.json",  # type: ignore[arg-type]
                           **SMALL)
        credentials.save(ks.credential_file, cred)
        kiosk = KioskController(ks, cred)
        console = StaffController(ConsoleSettings(server_url=f"{b.http},{a.http}", **SMALL))  # type: ignore[arg-type]
        try:
            await kiosk.start()
            await kiosk.client.wait_online(WAIT_S)
            await console.login("takahashi", DEMO_PASSWORD)
            assert console.client is not None
            await console.client.wait_online(WAIT_S)
            assert kiosk.client.url == a.ws and console.client.url == b.ws  # one call across two nodes
            assert await console.set_available()
            offer = asyncio.ensure_future(wait_for(console, "offer", WAIT_S))
            kiosk.begin()
            assert await kiosk.request_service("employment", [])
            await offer
            connected = asyncio.ensure_future(wait_for(console, "call_status", WAIT_S,
                                                       lambda d: d["status"] == "connected"))
            assert await console.accept()
            await connected
            k_link, c_link = kiosk.mesh.link(), console.mesh.link()  # type: ignore[union-attr]
            assert k_link is not None and c_link is not None
            await eventually(lambda: k_link.call.video_frames_received > 10 and c_link.call.video_frames_received > 10,
                             what="media both ways")
            sid = console.call.session_id  # type: ignore[union-attr]

            a.kill()
            k_frames, c_frames = k_link.call.video_frames_received, c_link.call.video_frames_received
            await eventually(lambda: kiosk.client.state == "online" and kiosk.client.url == b.ws,
                             what="the kiosk back on node B")
            await eventually(lambda: k_link.call.video_frames_received > k_frames + 30
                             and c_link.call.video_frames_received > c_frames + 30, what="media went on")
            assert kiosk.mesh.link() is k_link and console.mesh.link() is c_link  # type: ignore[union-attr]
            assert kiosk.screen == "in_call" and console.call is not None and not console.call.ended

            ended = asyncio.ensure_future(wait_for(console, "call_ended", WAIT_S))
            await kiosk.hang_up()
            assert (await ended)["reason"] == "resident_hangup"
        finally:
            await kiosk.stop()
            await console.stop()
        (s,) = [s for s in await r.sessions() if s.id == sid]
        assert s.end_reason == "resident_hangup" and s.ended_at is not None and s.media_connected_at is not None
        assert all("left_at" in p for p in s.participants)
