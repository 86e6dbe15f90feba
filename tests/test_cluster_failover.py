"""Client failover (signaling/client.py): several server URLs, real uvicorn servers sharing one database
(and, as nodes of one cluster, one Redis); a stopped server sends its clients to the other; backoff is
capped exponential with full jitter."""

from __future__ import annotations

import asyncio
import random
import statistics
import uuid
from pathlib import Path

import httpx
import pytest

from server.db.seed import DEMO_PASSWORD
from server.run import RunningServer, start_server
from signaling.client import ConnState, SignalingClient, backoff_delay, http_base
from tests.cluster_support import drop_prefix, redis_url, seeded_settings
from tests.support import WAIT_S


class Watch:
    """A client's states, each with the URL it was on, and 'wait until online at this URL'."""

    def __init__(self) -> None:
        self.client: SignalingClient | None = None
        self.seen: asyncio.Queue[tuple[ConnState, str]] = asyncio.Queue()
        self.history: list[tuple[ConnState, str]] = []

    def __call__(self, state: ConnState) -> None:
        assert self.client is not None
        self.seen.put_nowait((state, self.client.url))

    async def online_at(self, url: str, timeout: float = WAIT_S) -> None:
        # WAIT_S, not less: going online includes a sign-in (argon2) on the server tried, seconds on a loaded
        # machine (a loaded CI run failed here with a 10 s limit)
        async with asyncio.timeout(timeout):
            while True:
                item = await self.seen.get()
                self.history.append(item)
                if item == ("online", url):
                    return


async def staff_client(urls: list[str], watch: Watch, username: str = "takahashi") -> SignalingClient:
    async def token() -> str:  # from the server about to be tried, as the kiosk and console must
        async with httpx.AsyncClient(base_url=client.http_url, timeout=WAIT_S) as http:
            r = await http.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
            r.raise_for_status()
            return str(r.json()["access_token"])

    client = SignalingClient(urls, token, on_state=watch)
    watch.client = client
    await client.start()
    return client


@pytest.mark.parametrize("nodes", ["shared-db", "redis-cluster"])
async def test_a_stopped_server_sends_its_clients_to_the_other(tmp_path: Path, nodes: str) -> None:
    settings = await seeded_settings(tmp_path)
    if nodes == "redis-cluster":
        settings = settings.model_copy(update={"redis_url": redis_url(), "redis_prefix": f"t-{uuid.uuid4().hex[:12]}:"})
    settings_a, settings_b = (settings.model_copy(update={"node_id": n}) for n in ("a", "b"))  # one process
    a, b = await start_server(settings_a), await start_server(settings_b)
    servers: list[RunningServer] = [a, b]
    watch = Watch()
    client = await staff_client([a.ws_url, b.ws_url], watch)
    try:
        await watch.online_at(a.ws_url)
        await a.stop()
        await watch.online_at(b.ws_url)
        assert client.connects == 2 and client.http_url == b.http_url
        a = await start_server(settings_a, port=a.port)  # a comes back; b goes down: back to a
        servers.append(a)
        await b.stop()
        await watch.online_at(a.ws_url)
        assert client.connects == 3
        assert [s for s, _ in watch.history if s == "closed"] == []
    finally:
        await client.close()
        for srv in servers:
            await srv.stop()
        if settings.redis_url:
            await drop_prefix(settings.redis_url, settings.redis_prefix)


async def test_an_unreachable_first_url_is_skipped(tmp_path: Path, unused_tcp_port: int) -> None:
    settings = await seeded_settings(tmp_path)
    b = await start_server(settings)
    dead = f"ws://127.0.0.1:{unused_tcp_port}/ws"
    watch = Watch()
    client = await staff_client([dead, b.ws_url], watch)
    try:
        await watch.online_at(b.ws_url)
        assert client.connects == 1
        assert "ConnectError" in client.last_error or "refused" in client.last_error.lower()
    finally:
        await client.close()
        await b.stop()


async def test_a_client_comes_back_after_an_outage_of_its_only_server(tmp_path: Path) -> None:
    settings = await seeded_settings(tmp_path)
    srv = await start_server(settings)
    watch = Watch()
    client = SignalingClient(srv.ws_url, lambda: _login(srv.http_url), on_state=watch)  # one URL, as before
    watch.client = client
    await client.start()
    try:
        await watch.online_at(srv.ws_url)
        await srv.stop()
        async with asyncio.timeout(WAIT_S):
            while (await watch.seen.get())[0] != "offline":
                pass
        srv = await start_server(settings, port=srv.port)
        await watch.online_at(srv.ws_url)
        assert client.connects == 2
    finally:
        await client.close()
        await srv.stop()


async def _login(base: str) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=WAIT_S) as http:
        r = await http.post("/api/auth/login", json={"username": "sato", "password": DEMO_PASSWORD})
        r.raise_for_status()
        return str(r.json()["access_token"])


def test_backoff_is_capped_exponential_with_full_jitter() -> None:
    rng = random.Random(7)
    base, cap = 0.5, 2.0
    first = [backoff_delay(0, base, cap, rng) for _ in range(2000)]
    later = [backoff_delay(n, base, cap, rng) for n in (2, 5, 40, 10_000) for _ in range(2000)]
    assert max(first) <= base and max(later) <= cap
    # a crowd spreads over the whole window, not around one instant (plain exponential backoff would)
    assert min(first) < 0.05 * base and max(first) > 0.95 * base
    assert min(later) < 0.05 * cap and max(later) > 0.95 * cap
    assert statistics.mean(later) == pytest.approx(cap / 2, rel=0.05)
    assert [backoff_delay(1, base, cap, rng) <= 1.0 for _ in range(100)] == [True] * 100


def test_http_base_of_a_ws_url() -> None:
    assert http_base("ws://127.0.0.1:8400/ws") == "http://127.0.0.1:8400"
    assert http_base("wss://madoguchi.example.jp/city/ws") == "https://madoguchi.example.jp/city"
    async def no_token() -> str:
        raise AssertionError("never connects")

    client = SignalingClient(["ws://a:1/ws", "ws://b:2/ws"], no_token)
    assert client.url == "ws://a:1/ws" and client.http_url == "http://a:1"
    with pytest.raises(ValueError):
        SignalingClient([], no_token)
