"""Connection exhaustion and log floods against a real server process started as an operator starts it
(``madoguchi server``), measured with real sockets (issue 10, hole 2).

- 1,100 idle sockets (each stops after the first byte of a request) from one attacker address while the server
  runs with ``ulimit -n 1024``: a kiosk still
  fetches its token, connects, and its resident reaches a specialist (the figure for the issue's note is
  printed as JSON).
- 1,000 failing connections write a bounded log (repeated lines are limited per call site).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.services.credentials import KioskCredential
from kiosk.services.server_api import device_token, enroll
from server.admin_ops import create_enrollment
from server.db.seed import DEMO_PASSWORD
from server.db.session import make_engine, make_sessionmaker
from signaling.client import SignalingClient
from signaling.protocol.messages import OfferAccept, ServerMessage, StatusSet, TicketCreate
from tests.cluster_support import seeded_settings
from tests.server_process import ServerProcess
from tests.support import WAIT_S, Inbox

ATTACKER = "127.0.0.2"  # the kiosk and the specialist connect from 127.0.0.1
IDLE_SOCKETS = 1100


@pytest.fixture(autouse=True)
def enough_files_here() -> None:
    """The attacking side (this process) needs more than 1,100 descriptors itself."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 8192) if hard != resource.RLIM_INFINITY else 8192
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


async def enrolled_kiosk(settings: Any, server_url: str) -> KioskCredential:
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as db, db.begin():
            kid, code = await create_enrollment(db, "bihoro", "flood test", "test")
    finally:
        await engine.dispose()
    return await enroll(server_url, kid, code)


async def online(url: str, token_fn: Any) -> tuple[SignalingClient, Inbox]:
    inbox = Inbox()

    async def on_message(msg: ServerMessage) -> None:
        inbox.queue.put_nowait(msg)

    client = SignalingClient(url, token_fn, on_message=on_message, backoff_max_s=1.0)
    await client.start()
    await client.wait_online(WAIT_S)
    return client, inbox


async def hold(n: int, port: int, first: bytes = b"") -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """``n`` sockets from the attacker's address that send ``first`` (e.g. one byte of a request head) and then
    nothing."""
    async def one() -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(ATTACKER, 0))
        except OSError:
            return None
        if first:
            writer.write(first)
        return reader, writer

    got = await asyncio.gather(*(one() for _ in range(n)))
    return [c for c in got if c is not None]


@contextlib.asynccontextmanager
async def closing(conns: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]) -> AsyncIterator[None]:
    try:
        yield
    finally:
        for _, w in conns:
            w.close()
        for _, w in conns:
            with contextlib.suppress(Exception):
                await w.wait_closed()


def _kind(answer: bytes | BaseException) -> str:
    if isinstance(answer, bytes):
        return answer[:12].decode(errors="replace")
    return type(answer).__name__


async def test_kiosk_gets_in_past_1100_idle_sockets_with_ulimit_1024(tmp_path: Path) -> None:
    settings = await seeded_settings(tmp_path)
    with ServerProcess(settings, tmp_path, nofile=1024) as srv:
        await srv.ready()
        cred = await enrolled_kiosk(settings, srv.url)
        t0 = time.monotonic()
        # each sends the first byte of a request head and nothing more (a socket that sends nothing at all is
        # the same threat, but in a burst the kernel answers part of them with SYN cookies, and a cookie
        # connection whose last handshake packet meets a full accept queue is lost without a trace: the
        # client believes it is connected, the server never saw it. Seen in a loaded CI run: 104 of 1,100.
        # A byte of data is retransmitted until the server takes the connection, so every socket counts.)
        attack = await hold(IDLE_SOCKETS, srv.port, first=b"G")
        t_held = time.monotonic()
        async with closing(attack):
            async def kiosk_token() -> str:
                return await device_token(srv.url, cred)

            kiosk, k_in = await online(srv.ws_url, kiosk_token)
            t_kiosk = time.monotonic()

            async def staff_token() -> str:
                import httpx

                async with httpx.AsyncClient(base_url=srv.url, timeout=WAIT_S) as http:
                    r = await http.post("/api/auth/login", json={"username": "takahashi", "password": DEMO_PASSWORD})
                    r.raise_for_status()
                    return str(r.json()["access_token"])

            staff, s_in = await online(srv.ws_url, staff_token)
            try:
                await staff.request(StatusSet(status="available"))
                ticket = (await kiosk.request(TicketCreate(service_code="employment")))["ticket_id"]
                await s_in.next("offer", ticket_id=ticket)
                sid = (await staff.request(OfferAccept(ticket_id=ticket)))["session_id"]
                await k_in.next("session.start", session_id=sid)
                t_call = time.monotonic()
            finally:
                await kiosk.close()
                await staff.close()
            # what the attacker's sockets got meanwhile: refused at once (429), or held until the deadline
            answers = await asyncio.gather(*(asyncio.wait_for(r.read(), WAIT_S) for r, _ in attack),
                                           return_exceptions=True)
        refused = sum(1 for a in answers if isinstance(a, bytes) and a.startswith(b"HTTP/1.1 429"))
        # in a flood the guard answers and closes at once, before reading the socket's byte: the kernel then
        # resets it (RST) and the 429 may be lost with it — still refused at once (seen: 56 of 844 under load)
        reset = sum(1 for a in answers if isinstance(a, ConnectionResetError))
        dropped = sum(1 for a in answers if isinstance(a, bytes) and a == b"")
        figure = {"figure": "kiosk past 1,100 idle sockets, server ulimit -n 1024",
                  "idle_sockets_opened": len(attack), "refused_429": refused, "refused_reset": reset,
                  "held_then_closed": dropped,
                  "other": len(answers) - refused - reset - dropped,
                  "other_kinds": dict(Counter(_kind(a) for a in answers if not isinstance(a, ConnectionResetError)
                                              and not (isinstance(a, bytes) and (
                                                  a == b"" or a.startswith(b"HTTP/1.1 429"))))),
                  "open_s": round(t_held - t0, 3), "kiosk_token_and_welcome_s": round(t_kiosk - t_held, 3),
                  "resident_reached_specialist_s": round(t_call - t_held, 3)}
        print(json.dumps(figure))
        assert len(attack) == IDLE_SOCKETS
        assert refused + reset >= IDLE_SOCKETS - 256 - 10 and refused + reset + dropped == IDLE_SOCKETS, figure
        log = srv.log_text()
        assert "out of system resource" not in log and "Too many open files" not in log
        assert len(log.splitlines()) < 200, len(log.splitlines())


async def test_failing_connections_make_a_bounded_log(tmp_path: Path) -> None:
    """1,000 connections that each fail (a request uvicorn cannot parse, a refusal at the cap): before, one or
    more lines each; now at most MADOGUCHI_LOG_REPEAT_LIMIT per call site and window."""
    settings = await seeded_settings(tmp_path)
    with ServerProcess(settings, tmp_path, MADOGUCHI_MAX_CONNECTIONS_PER_CLIENT="20") as srv:
        await srv.ready()
        before = len(srv.log_text().splitlines())
        sem = asyncio.Semaphore(50)

        async def garbage() -> None:
            async with sem:
                r, w = await asyncio.open_connection("127.0.0.1", srv.port)
                w.write(b"\x16\x03\x01 not http at all\r\n\r\n")  # e.g. a TLS hello to the plain port
                with contextlib.suppress(ConnectionError):
                    await asyncio.wait_for(r.read(), WAIT_S)
                w.close()
                with contextlib.suppress(ConnectionError):
                    await w.wait_closed()

        await asyncio.gather(*(garbage() for _ in range(1000)))
        # and 100 over the per-client cap: refused, each logged by the guard
        held = await hold(20, srv.port)
        async with closing(held):
            over = await hold(100, srv.port)
            async with closing(over):
                await asyncio.gather(*(asyncio.wait_for(r.read(), WAIT_S) for r, _ in over),
                                     return_exceptions=True)
        lines = srv.log_text().splitlines()[before:]
        parsed = [json.loads(x) for x in lines if x.startswith("{")]
        invalid = [p for p in parsed if "Invalid HTTP request" in p["msg"]]
        refusals = [p for p in parsed if p["msg"].startswith("refused a connection")]
        assert 1 <= len(invalid) <= 10 and 1 <= len(refusals) <= 10, (len(invalid), len(refusals))
        assert len(lines) <= 40, lines[:50]
