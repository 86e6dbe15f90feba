"""The connection guard (server/edge/guard.py) with real sockets against a real server: slowloris and idle
sockets are closed at the request deadline, caps per client address and per node refuse with 429/503 (HTTP
and the WebSocket upgrade alike), and a refused or closed socket gives its place back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.asyncio.client import connect

from server.log_limit import RepeatLimiter
from signaling.protocol.version import SUBPROTOCOL
from tests.support import WAIT_S, Env, ManualClock, eventually, make_settings, server_env

DEADLINE_S = 1.0


@pytest.fixture
async def guarded(tmp_path: Path) -> AsyncIterator[Env]:
    settings = make_settings(tmp_path, "sqlite", request_deadline_s=DEADLINE_S)
    async with server_env(settings) as e:
        yield e


async def raw(env: Env, source: str = "127.0.0.1") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", env.server.port, local_addr=(source, 0))


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sent until it closed the socket (a test that waits past WAIT_S fails)."""
    got = b""
    async with asyncio.timeout(WAIT_S):
        with contextlib.suppress(ConnectionResetError):
            while chunk := await reader.read(4096):
                got += chunk
    return got


async def test_idle_and_incomplete_requests_are_closed_at_the_deadline(guarded: Env) -> None:
    """Each kind of stalled connection is closed by the server, and not before its deadline: a timer of
    deadline - 0.5 s started before the sockets opened fires first (server and test share this loop's clock)."""
    order: list[str] = []
    asyncio.get_running_loop().call_later(DEADLINE_S - 0.5, order.append, "timer")
    idle = await raw(guarded)                                      # connects, sends nothing
    head = await raw(guarded)                                      # half a request head, never finished
    head[1].write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    body = await raw(guarded)                                      # a whole head, a body that never ends
    body[1].write(b"POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100\r\n\r\n{\"username\":")
    slow = await raw(guarded)                                      # slowloris: a byte now and then, forever
    pacer = httpx.AsyncClient(base_url=guarded.url)
    drip = asyncio.create_task(_drip(slow[1], b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-a: b\r\n" * 500,
                                     pacer))
    for reader, _ in (idle, head, body, slow):
        await closed_by_server(reader)
        order.append("closed")
    drip.cancel()
    await pacer.aclose()
    for _, writer in (idle, head, body, slow):
        writer.close()
    assert order == ["timer", "closed", "closed", "closed", "closed"]
    assert guarded.server.guard.timed_out >= 4
    await eventually(lambda: not guarded.server.guard.open, what="all places given back")


async def _drip(writer: asyncio.StreamWriter, data: bytes, pacer: httpx.AsyncClient) -> None:
    """The attack itself: one byte per round trip of a real request to the same server, so bytes keep coming
    (within any per-read timeout) while the request head is never finished before the deadline."""
    with contextlib.suppress(ConnectionError, httpx.HTTPError):
        for i in range(len(data)):
            writer.write(data[i:i + 1])
            await writer.drain()
            await pacer.get("/healthz")


async def test_complete_requests_and_keep_alive_are_served(guarded: Env) -> None:
    reader, writer = await raw(guarded)
    for _ in range(3):  # one connection, three requests: each has its own deadline from the last response
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        status = await asyncio.wait_for(reader.readline(), WAIT_S)
        assert status.startswith(b"HTTP/1.1 200"), status
        await asyncio.wait_for(reader.readuntil(b'{"status":"ok"}'), WAIT_S)
    writer.close()
    await writer.wait_closed()
    # a WebSocket outlives the request deadline (it has its own limits: auth within 5 s, pings)
    token = await guarded.issued_token("takahashi")
    async with connect(guarded.server.ws_url, subprotocols=[SUBPROTOCOL]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "auth", "id": "a", "token": token}))
        assert '"welcome"' in str(await ws.recv())
        for _ in range(2):  # two request deadlines go by: each idle socket opened now is closed at its deadline
            idle_reader, idle_writer = await raw(guarded)
            await closed_by_server(idle_reader)
            idle_writer.close()
        await ws.send('{"type": "ping", "id": "p"}')
        async with asyncio.timeout(WAIT_S):
            while '"pong"' not in str(await ws.recv()):
                pass


@pytest.fixture
async def capped(tmp_path: Path) -> AsyncIterator[Env]:
    """Caps of 5 per address and 8 in all; a request deadline long enough that idle sockets stay while counted."""
    settings = make_settings(tmp_path, "sqlite", request_deadline_s=WAIT_S * 4, max_connections_per_client=5,
                             max_connections=8)
    async with server_env(settings) as e:
        yield e


async def test_caps_per_client_and_per_node(capped: Env) -> None:
    guarded = capped
    guard = guarded.server.guard
    held = [await raw(guarded, "127.0.0.1") for _ in range(5)]     # this address's cap
    await eventually(lambda: guard.per_client.get("127.0.0.1") == 5, what="five sockets counted")
    other = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with httpx.AsyncClient(base_url=guarded.url, transport=other) as http2:
        assert (await http2.get("/healthz")).status_code == 200    # another address is not affected
    async with httpx.AsyncClient(base_url=guarded.url) as http:
        r = await http.get("/healthz")
        assert r.status_code == 429 and "too many connections" in r.text
        with pytest.raises(websockets.InvalidStatus) as info:      # the WebSocket upgrade too
            async with connect(guarded.server.ws_url, subprotocols=[SUBPROTOCOL]):  # type: ignore[list-item]
                pass
        assert info.value.response.status_code == 429
        await eventually(lambda: "127.0.0.2" not in guard.per_client, what="the other address's socket closed")
        held += [await raw(guarded, "127.0.0.3") for _ in range(3)]  # the node's cap (8) is reached
        await eventually(lambda: len(guard.open) == 8, what="eight sockets counted")
        async with httpx.AsyncClient(base_url=guarded.url,
                                     transport=httpx.AsyncHTTPTransport(local_address="127.0.0.4")) as http4:
            r = await http4.get("/healthz")
            assert r.status_code == 503 and "retry later" in r.text
        assert guard.refused[429] >= 2 and guard.refused[503] >= 1
        for _, w in held:
            w.close()
            with contextlib.suppress(ConnectionError):
                await w.wait_closed()
        await eventually(lambda: not guard.open, what="closed sockets give their places back")
        assert (await http.get("/healthz")).status_code == 200


async def test_a_refused_socket_that_sends_nothing_is_answered_and_forgotten(capped: Env) -> None:
    """Over the cap, a socket that never sends a request still gets its 429 (after a short linger, so that a
    request that does come is read first and the close sends FIN, not RST) and leaves no count behind."""
    guard = capped.server.guard
    held = [await raw(capped, "127.0.0.1") for _ in range(5)]
    await eventually(lambda: guard.per_client.get("127.0.0.1") == 5, what="five sockets counted")
    silent_reader, silent_writer = await raw(capped, "127.0.0.1")
    answer = await asyncio.wait_for(silent_reader.read(), WAIT_S)  # the server answers, then closes (EOF)
    assert answer.startswith(b"HTTP/1.1 429") and b"retry-after: 5" in answer
    assert guard.lingering == 0 and guard.per_client["127.0.0.1"] == 5 and len(guard.open) == 5
    for _, w in [*held, (silent_reader, silent_writer)]:
        w.close()
        with contextlib.suppress(ConnectionError):
            await w.wait_closed()
    await eventually(lambda: not guard.open, what="closed sockets give their places back")


def test_repeated_log_lines_are_limited_per_call_site() -> None:
    clock = ManualClock()
    limiter = RepeatLimiter(limit=3, window_s=60.0, clock=clock)
    log = logging.getLogger("madoguchi.test.flood")

    def record(line: int, msg: str = "refused %s") -> logging.LogRecord:
        return log.makeRecord(log.name, logging.WARNING, "x.py", line, msg, ("1.2.3.4",), None)

    assert [limiter.filter(record(10)) for _ in range(1000)].count(True) == 3
    assert limiter.filter(record(11))                 # another call site has its own allowance
    clock.advance(59.9)
    assert not limiter.filter(record(10))
    clock.advance(0.1)                                # a new window: the next line says how many were dropped
    again = record(10)
    assert limiter.filter(again) and again.suppressed == 998  # type: ignore[attr-defined]
    assert limiter.suppressed_total == 998
    info = [log.makeRecord(log.name, logging.INFO, "x.py", 12, "GET /healthz 200", (), None) for _ in range(100)]
    assert all(limiter.filter(r) for r in info)  # the request log (INFO) is the record of traffic: never limited
