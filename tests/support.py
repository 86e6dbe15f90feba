"""Test helpers: a real server with a real database, staff logins and enrolled kiosks."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import websockets
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection, connect

from server.admin_catalog import set_outside_supervision
from server.admin_ops import create_enrollment
from server.context import AppContext
from server.db.base import utcnow
from server.db.models import Branch, CallSession, Note, Service, Staff, Ticket
from server.db.seed import DEMO_PASSWORD, seed_demo
from server.queue.clock import Clock
from server.run import RunningServer, start_server
from server.settings import Settings
from server.signing_key import new_signing_key
from signaling.client import SignalingClient
from signaling.protocol.messages import ServerMessage
from signaling.protocol.version import SUBPROTOCOL

T = TypeVar("T")

# How long a test waits for a state it expects. Generous on purpose: CI runs beside other work on 2 cores; a state
# that never comes fails all the same, only later. MADOGUCHI_TEST_WAIT_S changes it for a whole run.
WAIT_S = float(os.environ.get("MADOGUCHI_TEST_WAIT_S", "30"))


async def eventually(pred: Callable[[], T | Awaitable[T]], *, timeout: float = WAIT_S, what: str = "",
                     step: float = 0.02, changed: asyncio.Condition | asyncio.Event | None = None) -> T:
    """Wait until ``pred()`` (plain or async) is truthy and return that value; fail after ``timeout`` seconds.

    The suite's one helper for waiting on state. With ``changed`` (a Condition notified, or an Event set, by
    whatever changes the state) it checks again only when told, without polling; otherwise every ``step``.
    Where there is an event of its own to await (a message in an :class:`Inbox`, a future), await that
    instead. It never asserts how long something took: a test states what must happen, in what order, not when.
    """
    label = what or getattr(pred, "__qualname__", repr(pred))
    try:
        async with asyncio.timeout(timeout):
            if isinstance(changed, asyncio.Condition):
                async with changed:
                    return await changed.wait_for(pred)  # type: ignore[arg-type,return-value]
            while True:
                value = pred()
                if inspect.isawaitable(value):
                    value = await value
                if value:
                    return value  # type: ignore[return-value]
                if changed is None:
                    await asyncio.sleep(step)
                else:
                    changed.clear()  # nothing runs between the check and here: no change is missed
                    await changed.wait()
    except TimeoutError:
        raise AssertionError(f"not reached within {timeout:g} s: {label}") from None


class ManualClock:
    """A monotonic clock for code that takes ``clock: Callable[[], float]`` (the kiosk controller, the GC policy):
    a test advances it instead of sleeping."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> float:
        self.t += seconds
        return self.t


async def reset_pg(url: str) -> None:
    import asyncpg  # only with PostgreSQL

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


def make_settings(tmp: Path, backend: str = "sqlite", **overrides: Any) -> Settings:
    if backend == "pg":
        url = os.environ["MADOGUCHI_TEST_PG_URL"]
    else:
        url = f"sqlite+aiosqlite:///{tmp / 'madoguchi.db'}"
    base: dict[str, Any] = dict(database_url=url, port=0, secret_key=new_signing_key(),  # a fresh key per server
                                offer_timeout_s=5.0, kiosk_grace_s=3.0, log_json=False,
                                # argon2 at normal priority: on the shared test machine (load ~20 on 2 cores) one
                                # check took 6 s at nice 10 and 23 s at 19 behind other suites, past the clients'
                                # timeouts (bench/login_flood.py measures the production default)
                                hash_nice=0,
                                # the server's silent-call rule is tested on a manual clock (tests/queue); calls in
                                # real-server tests often carry no media reports and must not end by it on a slow
                                # machine
                                media_grace_s=600.0)
    base.update(overrides)
    return Settings(**base)


@dataclass
class Env:
    server: RunningServer
    settings: Settings
    app: Any
    clients: list[SignalingClient] = field(default_factory=list)
    parts: list[Any] = field(default_factory=list)  # kiosk and console controllers: stopped before the server
    tls: ssl.SSLContext | None = None  # verifies the server when it serves HTTPS (tests/integration/test_call_tls.py)

    def track(self, part: Any) -> None:
        """A program part (anything with ``async stop()``) that the end of the server stops first: one left
        running would go on reconnecting to the stopped server, and the test's loop would end in the middle of
        one of its connects."""
        self.parts.append(part)

    @property
    def ctx(self) -> AppContext:
        return self.app.state.ctx  # type: ignore[no-any-return]

    @property
    def url(self) -> str:
        return self.server.http_url

    async def staff_token(self, username: str, password: str = DEMO_PASSWORD) -> str:
        async with httpx.AsyncClient(base_url=self.url, verify=self.tls or True, timeout=WAIT_S) as http:
            r = await http.post("/api/auth/login", json={"username": username, "password": password})
            r.raise_for_status()
            return str(r.json()["access_token"])

    async def issued_token(self, username: str) -> str:
        """A staff access token made with the server's own key, as a login would make it (no argon2, no login
        limits: for tests that read an endpoint many times)."""
        from sqlalchemy import select

        from server.auth import issue_token
        from server.db.models import Staff

        async with self.ctx.maker() as db:
            s = (await db.execute(select(Staff).where(Staff.username == username))).scalar_one()
        return issue_token(self.settings.secret_key, "staff", s.id, s.role, 600, ver=s.token_version)

    async def enroll_kiosk(self, branch: str = "bihoro") -> tuple[int, str]:
        async with self.ctx.maker() as db, db.begin():
            kid, code = await create_enrollment(db, branch, "", "test")
        async with httpx.AsyncClient(base_url=self.url, verify=self.tls or True, timeout=WAIT_S) as http:
            r = await http.post("/api/kiosk/enroll", json={"kiosk_id": kid, "code": code})
            r.raise_for_status()
            return kid, str(r.json()["secret"])

    async def kiosk_token(self, kiosk_id: int, secret: str) -> str:
        async with httpx.AsyncClient(base_url=self.url, verify=self.tls or True, timeout=WAIT_S) as http:
            r = await http.post("/api/kiosk/token", json={"kiosk_id": kiosk_id, "secret": secret})
            r.raise_for_status()
            return str(r.json()["access_token"])

    async def client(self, token_fn: Any, inbox: asyncio.Queue[ServerMessage] | None = None) -> SignalingClient:
        async def on_message(msg: ServerMessage) -> None:
            if inbox is not None:
                inbox.put_nowait(msg)

        c = SignalingClient(self.server.ws_url, token_fn, on_message=on_message, backoff_max_s=1.0, tls=self.tls)
        await c.start()
        await c.wait_online(WAIT_S)
        self.clients.append(c)
        return c

    async def staff_client(self, username: str) -> tuple[SignalingClient, Inbox]:
        inbox = Inbox()

        async def tok() -> str:
            return await self.staff_token(username)

        return await self.client(tok, inbox.queue), inbox

    async def kiosk_client(self, branch: str = "bihoro") -> tuple[SignalingClient, Inbox]:
        kid, secret = await self.enroll_kiosk(branch)
        inbox = Inbox()

        async def tok() -> str:
            return await self.kiosk_token(kid, secret)

        return await self.client(tok, inbox.queue), inbox


async def allow_outside_supervision(env: Env, municipality: str = "bihoro") -> None:
    """The seed's one supervisor (tanaka) is Kitami's: listening in to a Bihoro call needs Bihoro's consent
    (``municipality.outside_supervision``, off by default)."""
    async with env.ctx.maker() as db, db.begin():
        await set_outside_supervision(db, municipality, True, "test")


class Inbox:
    """Messages pushed by the server, with 'wait for the next one of this type'."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[ServerMessage] = asyncio.Queue()
        self.seen: list[ServerMessage] = []

    async def next(self, typ: str, timeout: float = WAIT_S, **match: Any) -> Any:
        async def find() -> ServerMessage:
            while True:
                msg = await self.queue.get()
                self.seen.append(msg)
                if msg.type == typ and all(getattr(msg, k, None) == v for k, v in match.items()):
                    return msg

        return await asyncio.wait_for(find(), timeout)

    def drain(self) -> list[ServerMessage]:
        out = []
        while not self.queue.empty():
            out.append(self.queue.get_nowait())
        self.seen.extend(out)
        return out


@asynccontextmanager
async def server_env(settings: Settings, seed: bool = True, tls: ssl.SSLContext | None = None,
                     clock: Clock | None = None, reset: bool = True) -> AsyncIterator[Env]:
    """A real server; on PostgreSQL the schema is emptied first unless ``reset`` is off (a second server on the
    same data, e.g. under another database role)."""
    if reset and settings.database_url.startswith("postgresql"):
        await reset_pg(settings.database_url)
    srv = await start_server(settings, clock=clock)
    app = srv.server.config.loaded_app
    while hasattr(app, "app"):  # unwrap uvicorn's middleware wrappers
        app = app.app
    env = Env(server=srv, settings=settings, app=app, tls=tls)
    if seed:
        async with env.ctx.maker() as db, db.begin():
            await seed_demo(db)
    try:
        yield env
    finally:
        try:
            for part in env.parts:
                await part.stop()
            for c in env.clients:
                await c.close()
        finally:
            await srv.stop()


async def finished_session(env: Env, branch_code: str, service_code: str, username: str,
                           note_category: str | None = None) -> int:
    """A finished call of ``username`` at ``branch_code``, as the queue would have recorded it (with a note of
    ``note_category`` if given); returns the session id."""
    kiosk_id, _ = await env.enroll_kiosk(branch_code)
    async with env.ctx.maker() as db, db.begin():
        staff = (await db.execute(select(Staff).where(Staff.username == username))).scalar_one()
        branch = (await db.execute(select(Branch).where(Branch.code == branch_code))).scalar_one()
        service = (await db.execute(select(Service).where(Service.code == service_code))).scalar_one()
        now = utcnow()
        ticket = Ticket(kiosk_id=kiosk_id, branch_id=branch.id, municipality_id=branch.municipality_id,
                        service_id=service.id, state="done", created_at=now, ended_at=now)
        db.add(ticket)
        await db.flush()
        sess = CallSession(ticket_id=ticket.id, kiosk_id=kiosk_id, staff_id=staff.id, branch_id=branch.id,
                           municipality_id=branch.municipality_id, service_id=service.id, ticket_created_at=now,
                           accepted_at=now, ended_at=now, end_reason="resident_hangup")
        db.add(sess)
        await db.flush()
        if note_category is not None:
            db.add(Note(session_id=sess.id, municipality_id=branch.municipality_id, author_id=staff.id,
                        category=note_category, summary="相談の内容"))
        return int(sess.id)


# ---------------------------------------------------------------- raw WebSockets (the edge of /ws)


@asynccontextmanager
async def raw_ws(env: Env, token: str | None = None, **kw: Any) -> AsyncIterator[ClientConnection]:
    """A raw socket; with a token it is authenticated (welcome checked) before it is yielded."""
    args: dict[str, Any] = dict(subprotocols=[SUBPROTOCOL], compression=None, max_size=None, open_timeout=WAIT_S,
                                ping_interval=None)
    args.update(kw)
    async with connect(env.server.ws_url, **args) as ws:
        if token is not None:
            await ws.send(json.dumps({"type": "auth", "id": "auth-1", "token": token}))
            welcome = await recv_json(ws)
            assert welcome["type"] == "welcome", welcome
        yield ws


async def recv_json(ws: ClientConnection, wait_s: float = WAIT_S) -> dict[str, Any]:
    raw = await asyncio.wait_for(ws.recv(), wait_s)
    obj = json.loads(raw)
    assert isinstance(obj, dict)
    return obj


async def closed_with(ws: ClientConnection, wait_s: float = WAIT_S) -> tuple[int | None, list[dict[str, Any]]]:
    """Read until the server closes; return its close code and the frames it sent before."""
    frames: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(wait_s):
            while True:
                frames.append(json.loads(await ws.recv()))
    except websockets.ConnectionClosed as exc:
        return (exc.rcvd.code if exc.rcvd is not None else None), frames
    raise AssertionError("unreachable")
