"""Signaling load: N authenticated idle sockets + relay latency, our server node against a bare relay.

Prints one JSON object on stdout (progress goes to stderr). For each target,
in this order, each in its own processes:

* ``bare``: bench/bare_relay.py, a FastAPI echo/relay with no protocol logic,
  under uvicorn with the WebSocket settings read from ``server.run.uvicorn_config``;
* ``ours``: the Madoguchi server (``server.run.uvicorn_config`` on a temp SQLite
  file, demo seed + N bench kiosks + bench specialists, prepared in a separate
  process so that the server's RSS starts clean).

Then:

1. a *holder* process opens N WebSockets with the ``websockets`` asyncio client
   (100 handshakes in flight), authenticates each (``auth`` → ``welcome``) and
   keeps them idle. Every (N/100)-th socket also sends one ``ping`` right after
   its welcome, as a kiosk sends ``kiosk.state``: ``first_message_after_welcome``
   says how long it waited for the reply, or how the server closed it. The
   server may still be working after the last welcome (ours sends the welcome
   before on_connect's DB work): we wait until its CPU is idle
   (``backlog_after_last_welcome_s``), then RSS (``/proc/<pid>/status``
   VmRSS) before/after gives bytes per connection;
2. while the N sockets are held, a *prober* process measures, open loop, each
   phase started on an idle server:
   * ``ping``: 1,000 msg/s ``ping`` → ``pong`` spread over 50 extra sockets
     (20/s each, under the 50/s per-socket limit), the hub's whole
     parse/validate/authorise/reply path; the bare relay echoes the frame;
   * ``relay``: a true relay. Ours: 20 real call sessions (specialist goes
     available, kiosk ``ticket.create``, specialist ``offer.accept``), then
     each specialist sends ``rtc.offer`` (3 kB SDP) to its kiosk and the kiosk
     answers ``rtc.answer`` at once: 500 offers + 500 answers = 1,000 relayed
     msg/s (25/s per socket). A *hop* is one relay (sender's send → peer's
     receive, one clock, one process); the round trip is two hops. The bare
     relay forwards the same frames to the named peer (and sends no ack);
3. the holder drops all sockets and the time the server needs to settle
   (CPU back to idle) is reported as ``disconnect_drain``.

The server runs pinned to CPU 0, the load generators on the other CPUs
(``--no-pin`` to turn off); the prober runs with its GC off. Server GC pauses
are recorded per phase (``server_gc``: collections and pause ms per
generation). ``send_lag`` is how late the prober itself sent: when it is high
the machine was busy and the tail is not all the server's. ``--breakdown``
times our per-connection steps in-process; ``--py-spy`` profiles each phase;
``--server-gc-freeze`` calls ``gc.freeze()`` in both servers once the N
sockets are up (an experiment, see bench/README.md).

Goal reported against (not enforced): 10,000 authenticated connections at
≤ 2x the bare relay's memory per connection, p99 < 5 ms at 1,000 msg/s.

    .venv/bin/python bench/signaling_load.py            # N = 10,000 (about 7 min here)
    .venv/bin/python bench/signaling_load.py --quick    # N = 500, 5 s phases (about 1.5 min)
    .venv/bin/python bench/signaling_load.py --n 2000 --only ours --breakdown --keep-logs
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import queue
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
TOKEN_TTL_S = 3 * 3600
CLK_TCK = os.sysconf("SC_CLK_TCK")
GOAL_CONNECTIONS = 10_000
GOAL_MEMORY_RATIO = 2.0
GOAL_P99_MS = 5.0


def log(msg: str) -> None:
    print(f"[signaling_load {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def emit(obj: dict[str, Any]) -> None:
    """Child processes talk to the orchestrator in JSON lines on stdout."""
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------- small helpers
def raise_nofile(need: int) -> dict[str, Any]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    now, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return {"soft_before": soft, "soft": now, "hard": hard, "needed": need, "sufficient": now >= need}


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def loadavg() -> list[float]:
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def summarize(samples: list[float]) -> dict[str, Any]:
    """Latency samples in seconds → ms percentiles (nearest rank)."""
    if not samples:
        return {"count": 0}
    xs = sorted(samples)
    n = len(xs)

    def pct(p: float) -> float:
        return round(xs[min(n - 1, max(0, math.ceil(p / 100 * n) - 1))] * 1000, 3)

    return {"count": n, "p50_ms": pct(50), "p90_ms": pct(90), "p99_ms": pct(99), "p999_ms": pct(99.9),
            "max_ms": round(xs[-1] * 1000, 3), "mean_ms": round(statistics.fmean(xs) * 1000, 3)}


def by_second(points: list[tuple[float, float]], t0: float) -> dict[str, list[float]]:
    """Latency per second of the phase (by send time): shows a backlog building up or a stall."""
    buckets: dict[int, list[float]] = {}
    for t_sent, lat in points:
        buckets.setdefault(max(0, int(t_sent - t0)), []).append(lat)
    keys = range(max(buckets) + 1) if buckets else range(0)
    p50 = [summarize(buckets.get(k, [])).get("p50_ms", -1.0) for k in keys]
    p99 = [summarize(buckets.get(k, [])).get("p99_ms", -1.0) for k in keys]
    return {"p50_ms": p50, "p99_ms": p99}


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 2)


def orphan_watchdog(parent_pid: int) -> None:
    """Children exit by themselves if the orchestrator disappears (even on SIGKILL)."""
    from bench.bare_relay import exit_with_parent

    exit_with_parent(parent_pid)


def make_sdp(kind: str, seq: int, size: int) -> str:
    head = f"v=0\r\no=- {seq} 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
    line = f"a=x-bench-{kind}:" + "0123456789abcdef" * 4 + "\r\n"
    body = line * max(0, (size - len(head)) // len(line) + 1)
    return (head + body)[:max(size, len(head))]


def sdp_seq(sdp: str) -> int:
    return int(sdp.split(" ", 2)[1])


# ---------------------------------------------------------------- ours: prepare the database
def prepare_ours(a: argparse.Namespace) -> None:
    """Migrate, seed the demo data, add bench kiosks (with a credential) and bench specialists."""
    from sqlalchemy import insert, select

    from server.auth import hash_secret
    from server.db.base import utcnow
    from server.db.models import Branch, Kiosk, Municipality, Service, Staff
    from server.db.seed import seed_demo
    from server.db.session import make_engine, make_sessionmaker
    from server.migrate import upgrade

    url = f"sqlite+aiosqlite:///{a.db}"
    upgrade(url)

    async def run() -> dict[str, Any]:
        engine = make_engine(url)
        maker = make_sessionmaker(engine)
        cred = hash_secret("bench-kiosk-secret")  # once: the ws handler only needs a credential on the row
        async with maker() as db, db.begin():
            await seed_demo(db)
            branches = (await db.execute(select(Branch).order_by(Branch.id))).scalars().unique().all()
            tokoro = next(b for b in branches if b.code == "kitami-tokoro")
            kitami = (await db.execute(
                select(Municipality).where(Municipality.code == "kitami"))).scalar_one()
            general = (await db.execute(select(Service).where(Service.code == "general"))).scalar_one()
            rows: list[dict[str, Any]] = []
            for i in range(a.n):
                rows.append({"name": f"bench-idle-{i}", "branch_id": branches[i % len(branches)].id})
            for i in range(a.probe):
                rows.append({"name": f"bench-ping-{i}", "branch_id": branches[i % len(branches)].id})
            for i in range(a.pairs):
                rows.append({"name": f"bench-relay-{i}", "branch_id": tokoro.id})
            now = utcnow()
            for r in rows:
                r.update(credential_hash=cred, enrolled_at=now, app_version="", screen="idle")
            await db.execute(insert(Kiosk), rows)
            pw = hash_secret("bench-staff-password")
            for i in range(a.pairs):
                db.add(Staff(username=f"bench-spec-{i}", display_name=f"Bench {i}", municipality_id=kitami.id,
                             role="specialist", password_hash=pw, capabilities=[], skills=[general]))
        async with maker() as db:
            kiosks = {name: kid for kid, name in (await db.execute(
                select(Kiosk.id, Kiosk.name).where(Kiosk.name.like("bench-%")))).all()}
            staff = {name: sid for sid, name in (await db.execute(
                select(Staff.id, Staff.username).where(Staff.username.like("bench-spec-%")))).all()}
        await engine.dispose()
        return {
            "idle_kiosks": [kiosks[f"bench-idle-{i}"] for i in range(a.n)],
            "ping_kiosks": [kiosks[f"bench-ping-{i}"] for i in range(a.probe)],
            "relay_kiosks": [kiosks[f"bench-relay-{i}"] for i in range(a.pairs)],
            "relay_staff": [staff[f"bench-spec-{i}"] for i in range(a.pairs)],
        }

    ids = asyncio.run(run())
    Path(a.out).write_text(json.dumps(ids))


def serve_ours(a: argparse.Namespace) -> None:
    """The real server node: server.run.uvicorn_config, whose lifespan runs the (no-op) migrations."""
    orphan_watchdog(a.parent_pid)
    raise_nofile(0)
    import uvicorn

    from server.logging_setup import setup_logging
    from server.run import uvicorn_config

    setup_logging("WARNING", json_lines=False)
    if a.gc_stats:
        from bench.bare_relay import install_gc_stats

        install_gc_stats(a.gc_stats)
    uvicorn.Server(uvicorn_config(ours_settings(a.db), port=a.port)).run()


def ours_settings(db: str) -> Any:
    from server.settings import Settings

    return Settings(database_url=f"sqlite+aiosqlite:///{db}", host="127.0.0.1", port=0, secret_key=SECRET,
                    log_json=False, log_level="WARNING", allowed_origins=[], ice_servers=[], turn_secret="",
                    redis_url="", max_connections_per_client=0)  # every simulated client is on 127.0.0.1


def peers_and_tokens(mode: str, kind: str, ids: list[int]) -> list[tuple[str, str]]:
    """(token, peer) pairs; the bare relay takes the peer name as its token."""
    out = []
    if mode == "ours":
        from server.auth import issue_token

        role = "kiosk" if kind == "kiosk" else "specialist"
        for i in ids:
            out.append((issue_token(SECRET, kind, i, role, TOKEN_TTL_S), f"{kind}:{i}"))  # type: ignore[arg-type]
    else:
        out = [(f"{kind}:{i}", f"{kind}:{i}") for i in ids]
    return out


async def ws_connect(url: str, client_ping: float) -> Any:
    from websockets.asyncio.client import connect

    from signaling.protocol.version import MAX_FRAME_BYTES, SUBPROTOCOL

    return await connect(url, subprotocols=[SUBPROTOCOL], max_size=MAX_FRAME_BYTES,  # type: ignore[list-item]
                         compression=None, open_timeout=60, close_timeout=1,
                         ping_interval=client_ping or None, ping_timeout=(client_ping * 2) or None)


async def authenticate(ws: Any, token: str, ref: str, wait_s: float = 60.0) -> dict[str, Any]:
    await ws.send(json.dumps({"type": "auth", "id": ref, "token": token}))
    first = json.loads(await asyncio.wait_for(ws.recv(), wait_s))
    if first.get("type") != "welcome":
        raise RuntimeError(f"auth refused: {first.get('code')}: {first.get('message')}")
    return first  # type: ignore[no-any-return]


# ---------------------------------------------------------------- holder: N idle sockets
def load_ids(a: argparse.Namespace) -> dict[str, list[int]]:
    if a.mode == "ours":
        return json.loads(Path(a.ids).read_text())  # type: ignore[no-any-return]
    return {  # the bare relay: any names will do
        "idle_kiosks": list(range(a.n)),
        "ping_kiosks": list(range(10**6, 10**6 + a.probe)),
        "relay_kiosks": list(range(2 * 10**6, 2 * 10**6 + a.pairs)),
        "relay_staff": list(range(3 * 10**6, 3 * 10**6 + a.pairs)),
    }


async def hold(a: argparse.Namespace, ids_all: dict[str, list[int]]) -> None:
    orphan_watchdog(a.parent_pid)
    limits = raise_nofile(a.n + 64)
    ids = ids_all["idle_kiosks"][: a.n]
    creds = peers_and_tokens(a.mode, "kiosk", ids)
    sem = asyncio.Semaphore(a.concurrency)
    conns: list[Any] = []
    handshake: list[float] = []
    errors: Counter[str] = Counter()
    closed: Counter[str] = Counter()
    pushes: Counter[str] = Counter()
    drains: set[asyncio.Task[None]] = set()

    async def drain(ws: Any) -> None:
        with contextlib.suppress(Exception):
            async for raw in ws:
                with contextlib.suppress(Exception):
                    pushes[str(json.loads(raw).get("type"))] += 1
        closed[str(ws.close_code)] += 1

    deaf: list[float] = []  # welcome → first pong, on every k-th socket
    deaf_outcome: Counter[str] = Counter()
    last_welcome = [0.0]
    every = max(1, a.n // 100)

    async def first_pong(ws: Any, peer: str) -> None:
        t_welcome = time.perf_counter()
        mid = f"first-{peer}"
        try:
            await ws.send(json.dumps({"type": "ping", "id": mid}))
            while True:
                obj = json.loads(await asyncio.wait_for(ws.recv(), a.connect_timeout))
                if mid in (obj.get("ref"), obj.get("id")):
                    deaf.append(time.perf_counter() - t_welcome)
                    deaf_outcome["answered"] += 1
                    break
        except TimeoutError:
            deaf_outcome["no answer"] += 1
        except Exception:
            deaf_outcome[f"closed by server {ws.close_code}"] += 1

    async def one(i: int, token: str, peer: str) -> None:
        ws = await connect_one(token, peer)
        if ws is None:
            return
        if i % every == 0:
            await first_pong(ws, peer)
        drains.add(asyncio.create_task(drain(ws)))

    async def connect_one(token: str, peer: str) -> Any:
        async with sem:
            t0 = time.perf_counter()
            try:
                ws = await ws_connect(a.url, a.client_ping)
            except Exception as exc:
                errors[f"connect:{type(exc).__name__}"] += 1
                return None
            try:
                await authenticate(ws, token, f"auth-{peer}")
            except Exception as exc:
                errors[f"auth:{type(exc).__name__}:{str(exc)[:80]}"] += 1
                ws.transport.abort()
                return None
            now = time.perf_counter()
            handshake.append(now - t0)
            last_welcome[0] = max(last_welcome[0], now)
            conns.append(ws)
            return ws

    t0 = time.perf_counter()
    tasks = [asyncio.create_task(one(i, t, p)) for i, (t, p) in enumerate(creds)]
    _, pending = await asyncio.wait(tasks, timeout=a.connect_timeout)
    for task in pending:
        task.cancel()
    gc.collect()
    gc.freeze()  # our N sockets are long-lived: keep the holder's full collections (CPU bursts) short
    since_last_welcome = time.perf_counter() - last_welcome[0] if last_welcome[0] else 0.0
    wall = (last_welcome[0] or time.perf_counter()) - t0
    emit({"event": "connected", "ok": len(conns), "failed": sum(errors.values()) + len(pending),
          "timed_out": len(pending), "errors": dict(errors), "wall_s": round(wall, 2),
          "rate_per_s": round(len(conns) / wall, 1) if wall else None, "handshake": summarize(handshake),
          "first_message_after_welcome": {
              "sockets": sum(deaf_outcome.values()), "every_kth": every, "outcome": dict(deaf_outcome),
              "welcome_to_reply": summarize(deaf)}, "since_last_welcome_s": round(since_last_welcome, 2),
          "nofile": limits})
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + a.max_s
    while time.monotonic() < deadline:
        try:
            line = await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.readline),
                                          deadline - time.monotonic())
        except TimeoutError:
            break
        cmd = line.strip()
        if cmd == "status":
            emit({"event": "status", "open": sum(1 for ws in conns if ws.close_code is None),
                  "closed_codes": dict(closed), "pushes": dict(pushes)})
        elif cmd in ("close", ""):
            break
    for ws in conns:  # abrupt, like a network drop: the server sees N disconnects at once
        ws.transport.abort()
    emit({"event": "closed"})
    os._exit(0)  # skip waiting for N drain tasks and executor threads


# ---------------------------------------------------------------- prober: latency under load
class ProbeConn:
    def __init__(self, ws: Any, peer: str) -> None:
        self.ws = ws
        self.peer = peer
        self.requests: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.handler: Callable[[ProbeConn, dict[str, Any], float], Awaitable[None]] | None = None
        self.counts: Counter[str] = Counter()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                t = time.perf_counter()
                obj = json.loads(raw)
                typ = obj.get("type")
                key = obj.get("ref") or obj.get("id")  # ours answers with a ref; the bare relay echoes the id
                if key in self.requests:
                    self.requests.pop(key).set_result(obj)
                    continue
                self.counts[typ if typ != "error" else f"error:{obj.get('code')}"] += 1
                if self.handler is not None:
                    await self.handler(self, obj, t)

    async def request(self, frame: dict[str, Any], wait_s: float = 15.0) -> dict[str, Any]:
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.requests[frame["id"]] = fut
        await self.ws.send(json.dumps(frame))
        reply = await asyncio.wait_for(fut, wait_s)
        if reply.get("type") == "error":
            raise RuntimeError(f"{frame['type']} refused: {reply.get('code')}: {reply.get('message')}")
        return reply


async def barrier(name: str) -> None:
    """Tell the orchestrator we are ready for ``name`` and wait for its go (it waits for an idle server)."""
    emit({"event": "ready", "phase": name})
    loop = asyncio.get_running_loop()
    line = await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.readline), 900)
    if line.strip() != "go":
        raise SystemExit(f"no go for {name}: {line!r}")


async def warm_up(conns: list[ProbeConn]) -> float:
    """One ping per socket, answered: the socket's read loop runs (ours starts it after on_connect)."""
    t0 = time.perf_counter()
    await asyncio.gather(*(c.request({"type": "ping", "id": f"warm-{c.peer}"}, 600) for c in conns))
    return round(time.perf_counter() - t0, 3)


async def probe_open(a: argparse.Namespace, token: str, peer: str) -> ProbeConn:
    ws = await ws_connect(a.url, 0)
    await authenticate(ws, token, f"auth-{peer}", 30)
    return ProbeConn(ws, peer)


async def paced(n_conns: int, rate: float, duration: float,
                send: Callable[[int, int], Awaitable[None]]) -> tuple[int, list[float]]:
    """Open loop: connection i sends its k-th message at t0 + (i + k*n)/rate, whatever the replies do."""
    interval = n_conns / rate
    t0 = time.perf_counter() + 0.2
    end = t0 + duration
    lags: list[float] = []
    sent = [0]

    async def one(i: int) -> None:
        k = 0
        while True:
            target = t0 + i / rate + k * interval
            if target >= end:
                return
            delay = target - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            lags.append(max(0.0, time.perf_counter() - target))
            await send(i, k)
            sent[0] += 1
            k += 1

    await asyncio.gather(*(one(i) for i in range(n_conns)))
    return sent[0], lags


async def probe(a: argparse.Namespace, ids: dict[str, list[int]]) -> None:
    orphan_watchdog(a.parent_pid)
    raise_nofile(a.probe + 2 * a.pairs + 64)
    out: dict[str, Any] = {"event": "result"}

    # ---- ping → pong
    pingers = [await probe_open(a, t, p) for t, p in peers_and_tokens(a.mode, "kiosk", ids["ping_kiosks"])]
    out["ping_warm_up_s"] = await warm_up(pingers)
    await barrier("ping")
    sent_at: dict[str, float] = {}
    rtts: list[float] = []
    ping_points: list[tuple[float, float]] = []

    async def on_pong(c: ProbeConn, obj: dict[str, Any], t: float) -> None:
        typ = obj.get("type")
        key = obj.get("ref") if typ == "pong" else obj.get("id") if typ == "ping" else None  # bare: echo
        t_sent = sent_at.pop(key, None) if key else None
        if t_sent is not None:
            rtts.append(t - t_sent)
            ping_points.append((t_sent, t - t_sent))

    for c in pingers:
        c.handler = on_pong

    async def send_ping(i: int, k: int) -> None:
        mid = f"p{i}.{k}"
        sent_at[mid] = time.perf_counter()
        await pingers[i].ws.send(json.dumps({"type": "ping", "id": mid}))

    gc.collect()
    gc.freeze()  # the prober's own GC pauses would show up as latency: keep them out of the measurement
    gc.disable()
    emit({"event": "phase", "phase": "ping", "state": "start"})
    t_phase = time.perf_counter()
    n_sent, lags = await paced(len(pingers), a.rate, a.duration, send_ping)
    emit({"event": "phase", "phase": "ping", "state": "end"})
    for _ in range(40):
        if not sent_at:
            break
        await asyncio.sleep(0.05)
    gc.enable()
    out["ping"] = {"sent": n_sent, "lost": len(sent_at), "connections": len(pingers),
                   "rate_per_conn": round(a.rate / len(pingers), 1), "rtt": summarize(rtts),
                   "rtt_by_second": by_second(ping_points, t_phase),
                   "send_lag": summarize(lags),
                   "other_frames": dict(sum((c.counts for c in pingers), Counter()))}

    # ---- true relay: rtc.offer / rtc.answer between the two members of a call room
    pairs: list[tuple[ProbeConn, ProbeConn, int]] = []
    staff_creds = peers_and_tokens(a.mode, "staff", ids["relay_staff"])
    kiosk_creds = peers_and_tokens(a.mode, "kiosk", ids["relay_kiosks"])
    t_setup = time.perf_counter()
    try:
        for i, ((st, sp), (kt, kp)) in enumerate(zip(staff_creds, kiosk_creds, strict=True)):
            staff = await probe_open(a, st, sp)
            if a.mode == "ours":
                await staff.request({"type": "status.set", "id": f"st{i}", "status": "available"})
            kiosk = await probe_open(a, kt, kp)
            session_id = 0
            if a.mode == "ours":
                r = await kiosk.request({"type": "ticket.create", "id": f"tc{i}", "service_code": "general"})
                r = await staff.request({"type": "offer.accept", "id": f"oa{i}",
                                         "ticket_id": r["data"]["ticket_id"]})
                session_id = int(r["data"]["session_id"])
            pairs.append((staff, kiosk, session_id))
        out["relay_warm_up_s"] = await warm_up([c for p in pairs for c in p[:2]])
        out["relay_setup"] = {"pairs": len(pairs), "seconds": round(time.perf_counter() - t_setup, 2),
                              "how": "status.set available → ticket.create → offer.accept (real sessions)"
                              if a.mode == "ours" else "peers named in the auth frame"}
    except Exception as exc:
        out["relay_setup"] = {"error": f"{type(exc).__name__}: {exc}", "pairs": len(pairs)}
    if pairs:
        await barrier("relay")
        offer_at: dict[int, float] = {}
        answer_at: dict[int, float] = {}
        hop_offer: list[float] = []
        hop_answer: list[float] = []
        round_trip: list[float] = []
        hop_points: list[tuple[float, float]] = []
        sdp_answer = make_sdp("answer", 0, a.sdp_bytes)

        async def kiosk_side(c: ProbeConn, obj: dict[str, Any], t: float) -> None:
            if obj.get("type") != "rtc.offer":
                return
            seq = sdp_seq(obj["sdp"])
            t_sent = offer_at.get(seq)
            if t_sent is None:
                return
            hop_offer.append(t - t_sent)
            hop_points.append((t_sent, t - t_sent))
            staff_peer, session_id = c.relay_to  # type: ignore[attr-defined]
            answer_at[seq] = time.perf_counter()
            await c.ws.send(json.dumps({"type": "rtc.answer", "id": f"a{seq}", "session_id": session_id,
                                        "to": staff_peer, "sdp": sdp_answer.replace(" 0 ", f" {seq} ", 1)}))

        async def staff_side(c: ProbeConn, obj: dict[str, Any], t: float) -> None:
            if obj.get("type") != "rtc.answer":
                return
            seq = sdp_seq(obj["sdp"])
            t_ans, t_off = answer_at.pop(seq, None), offer_at.pop(seq, None)
            if t_ans is not None and t_off is not None:
                hop_answer.append(t - t_ans)
                round_trip.append(t - t_off)

        for staff, kiosk, session_id in pairs:
            staff.handler, kiosk.handler = staff_side, kiosk_side
            kiosk.relay_to = (staff.peer, session_id)  # type: ignore[attr-defined]
        sdp_offer = make_sdp("offer", 0, a.sdp_bytes)

        async def send_offer(i: int, k: int) -> None:
            staff, kiosk, session_id = pairs[i]
            seq = i * 1_000_000 + k + 1
            frame = json.dumps({"type": "rtc.offer", "id": f"o{seq}", "session_id": session_id,
                                "to": kiosk.peer, "sdp": sdp_offer.replace(" 0 ", f" {seq} ", 1)})
            offer_at[seq] = time.perf_counter()
            await staff.ws.send(frame)

        gc.collect()
        gc.freeze()
        gc.disable()
        emit({"event": "phase", "phase": "relay", "state": "start"})
        t_phase = time.perf_counter()
        n_offers, lags = await paced(len(pairs), a.rate / 2, a.duration, send_offer)
        emit({"event": "phase", "phase": "relay", "state": "end"})
        for _ in range(40):
            if not offer_at:
                break
            await asyncio.sleep(0.05)
        gc.enable()
        others: Counter[str] = Counter()
        for staff, kiosk, _ in pairs:
            others.update(staff.counts)
            others.update(kiosk.counts)
        out["relay"] = {
            "offers_sent": n_offers, "answers_sent": len(hop_offer), "lost_round_trips": len(offer_at),
            "relayed_msgs_per_s": a.rate, "pairs": len(pairs), "sdp_bytes": a.sdp_bytes,
            "rate_per_conn": round(a.rate / 2 / len(pairs), 1),
            "hop": summarize(hop_offer + hop_answer), "hop_offer": summarize(hop_offer),
            "hop_answer": summarize(hop_answer), "round_trip": summarize(round_trip),
            "hop_offer_by_second": by_second(hop_points, t_phase),
            "send_lag": summarize(lags), "other_frames": dict(others),
        }
    emit(out)
    for c in pingers + [c for p in pairs for c in p[:2]]:
        c.ws.transport.abort()
    os._exit(0)


# ---------------------------------------------------------------- breakdown: what one connection costs us
async def breakdown(a: argparse.Namespace, ids: dict[str, list[int]]) -> None:
    """Time the server's per-connection and per-message steps in-process, one at a time (no load).

    Uses the real wiring (create_app's lifespan, so its 0.5 s tick runs alongside) on the prepared
    database. The resume-token scan is timed at ``--n`` tokens, as with N kiosks connected.
    """
    from server.app import create_app
    from server.auth import decode_token, issue_token
    from server.queue import presence, queue_views
    from signaling.hub import Connection
    from signaling.protocol.codec import dump, parse_client
    from signaling.protocol.messages import Ack, Auth, Pong, RtcOfferRelay

    settings = ours_settings(a.db)
    app = create_app(settings)
    out: dict[str, Any] = {"event": "breakdown", "iterations": a.iterations}

    class NullTransport:
        async def send_text(self, data: str) -> None:
            return None

        async def receive_text(self) -> str:
            return ""

        async def close(self, code: int = 1000, reason: str = "") -> None:
            return None

    async def timed(name: str, fn: Callable[[int], Awaitable[Any]], n: int) -> None:
        w0, c0 = time.perf_counter(), time.process_time()
        for i in range(n):
            await fn(i)
        out[name] = {"wall_ms": round((time.perf_counter() - w0) / n * 1000, 3),
                     "cpu_ms": round((time.process_time() - c0) / n * 1000, 3)}

    async with app.router.lifespan_context(app):
        ctx = app.state.ctx
        handler = ctx.hub.handler
        kiosks = ids["idle_kiosks"][: a.iterations]
        n = len(kiosks)
        tokens = [issue_token(SECRET, "kiosk", k, "kiosk", TOKEN_TTL_S) for k in kiosks]
        principals: dict[int, Any] = {}

        async def authenticate(i: int) -> None:
            principals[i], _ = await handler.authenticate(Auth(token=tokens[i]))

        async def decode(i: int) -> None:
            decode_token(SECRET, tokens[i])

        engine = ctx.engine

        async def connected(i: int) -> None:
            await engine.run(presence.kiosk_connected, principals[i], "", False)

        async def broadcast(i: int) -> None:
            await engine.run(lambda step: queue_views.push_queue(step, consoles=False))

        async def handle_times(i: int) -> None:
            async with ctx.maker() as db:
                await queue_views.handle_times(db)

        async def disconnected(i: int) -> None:
            await engine.run(presence.kiosk_disconnected, principals[i])

        async def tick(i: int) -> None:
            await engine.tick()

        # a storm through the hub itself (no uvicorn, no websockets): n sign-ins, 100 in flight, as the holder
        # does; the catalog cache is cleared first, as after a change on this node
        class StormTransport:
            def __init__(self, auth: str) -> None:
                self.auth: str | None = auth
                self.welcomed, self.gone = asyncio.Event(), asyncio.Event()

            async def receive_text(self) -> str:
                if self.auth is not None:
                    text, self.auth = self.auth, None
                    return text
                await self.gone.wait()
                raise ConnectionError("closed")

            async def send_text(self, data: str) -> None:
                if '"type":"welcome"' in data[:60]:
                    self.welcomed.set()

            async def close(self, code: int = 1000, reason: str = "") -> None:
                self.gone.set()

        storm = [StormTransport(json.dumps({"type": "auth", "id": f"s{i}", "token": t})) for i, t in enumerate(tokens)]
        in_flight = asyncio.Semaphore(100)
        serving: list[asyncio.Task[None]] = []

        async def storm_one(t: StormTransport) -> None:
            async with in_flight:
                serving.append(asyncio.create_task(ctx.hub.serve(t)))
                await t.welcomed.wait()

        handler._catalog_cache = None
        w0, c0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(storm_one(t) for t in storm))
        await asyncio.gather(*(c.ready for c in ctx.hub.connections.values() if c.ready is not None))
        out["connect_storm_through_hub"] = {"connects": n, "wall_ms": round((time.perf_counter() - w0) / n * 1000, 3),
                                            "cpu_ms": round((time.process_time() - c0) / n * 1000, 3)}
        for t in storm:
            t.gone.set()
        await asyncio.gather(*serving)  # every socket's serve, to its on_disconnect

        await timed("authenticate", authenticate, n)
        await timed("authenticate.decode_token", decode, n)
        await timed("on_connect.kiosk_connected", connected, n)
        await timed("on_connect.kiosk_connected.push_queue", broadcast, n)
        await timed("on_connect.kiosk_connected.push_queue.handle_times", handle_times, n)
        await timed("on_disconnect.kiosk_disconnected", disconnected, n)
        # on_disconnect scans every resume token: fill the table as N connected kiosks would
        for j in range(a.n):
            handler.resume_tokens[f"bench-token-{j}"] = f"kiosk:bench-{j}"
        conns = [Connection(NullTransport(), principals[i], 50, 200) for i in range(n)]

        async def on_disconnect(i: int) -> None:
            await handler.on_disconnect(conns[i])

        await timed(f"on_disconnect_with_{a.n}_resume_tokens", on_disconnect, n)
        for j in range(a.n):
            handler.resume_tokens.pop(f"bench-token-{j}", None)
        await timed("tick(expire_offers+abandon_lost_kiosks+end_silent_calls+route)", tick, max(1, n // 5))

        sdp = make_sdp("offer", 1, a.sdp_bytes)
        ping = json.dumps({"type": "ping", "id": "p1"})
        offer = json.dumps({"type": "rtc.offer", "id": "o1", "session_id": 1, "to": "kiosk:1", "sdp": sdp})

        async def hub_ping(i: int) -> None:
            msg = parse_client(ping)
            dump(Pong(ref=msg.id))

        async def hub_offer(i: int) -> None:
            msg = parse_client(offer)
            dump(RtcOfferRelay(session_id=msg.session_id, sender="staff:1", sdp=msg.sdp,  # type: ignore[union-attr]
                               purpose=msg.purpose))  # type: ignore[union-attr]
            dump(Ack(ref=msg.id, data={}))

        async def bare_echo(i: int) -> None:
            json.loads(offer).get("to")

        m = 20 * n
        await timed("message.ping(parse_client+Pong dump)", hub_ping, m)
        await timed("message.rtc_offer(parse_client+relay dump+Ack dump)", hub_offer, m)
        await timed("message.bare(json.loads of the same rtc.offer)", bare_echo, m)
        out["note"] = ("one at a time, no load; nested names are parts of their parent; "
                       "process CPU includes aiosqlite's threads")
    emit(out)


# ---------------------------------------------------------------- orchestrator
class Child:
    """A subprocess; with ``json_out`` its stdout JSON lines are read in a thread, each stamped
    with the time and the server's CPU seconds / RSS when it arrived."""

    def __init__(self, name: str, argv: list[str], logdir: Path, *, json_out: bool = False,
                 stdin: bool = False, cwd: str | None = None, env: dict[str, str] | None = None,
                 sample: Callable[[], dict[str, Any]] | None = None) -> None:
        self.name = name
        self.stderr_path = logdir / f"{name}.stderr.log"
        self._err = open(self.stderr_path, "wb")
        self._out = None if json_out else open(logdir / f"{name}.stdout.log", "wb")
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE if json_out else self._out, stderr=self._err,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, cwd=cwd, env=env, text=json_out,
        )
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.sample = sample
        if json_out:
            threading.Thread(target=self._read, daemon=True, name=f"read-{name}").start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                obj = {"event": "raw", "text": line[:500]}
            obj["_t"] = time.monotonic()
            if self.sample is not None:
                with contextlib.suppress(Exception):
                    obj["_server"] = self.sample()
            self.events.put(obj)
        self.events.put({"event": "eof", "_t": time.monotonic()})

    def wait_event(self, name: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.name}: no {name!r} within {timeout:.0f} s")
            try:
                obj = self.events.get(timeout=min(left, 1.0))
            except queue.Empty:
                continue
            if obj.get("event") == name:
                return obj
            if obj.get("event") == "eof":
                time.sleep(0.2)
                raise RuntimeError(f"{self.name} exited (rc={self.proc.poll()}): {self.stderr_tail(800)}")
            if obj.get("event") == "raw":
                log(f"{self.name}: {obj['text']}")

    def send(self, line: str) -> None:
        with contextlib.suppress(Exception):
            assert self.proc.stdin is not None
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()

    def stderr_tail(self, n: int = 1500) -> str:
        with contextlib.suppress(OSError, ValueError):
            if not self._err.closed:
                self._err.flush()
            data = self.stderr_path.read_bytes()
            return data[-n:].decode("utf-8", "replace")
        return ""

    def stop(self, grace: float = 5.0) -> str:
        how = "exited"
        if self.proc.poll() is None:
            how = "terminated"
            self.proc.terminate()
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                how = "killed"
                self.proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(5)
        for f in (self._err, self._out):
            if f is not None:
                with contextlib.suppress(Exception):
                    f.close()
        return how


def read_gc(path: Path) -> dict[str, Any] | None:
    with contextlib.suppress(OSError, ValueError):
        return json.loads(path.read_text())  # type: ignore[no-any-return]
    return None


def gc_delta(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any] | None:
    """Server GC between two samples (the stats file is rewritten every 0.5 s: edges are approximate)."""
    if not before or not after:
        return None
    return {
        "collections": [a - b for a, b in zip(after["collections"], before["collections"], strict=True)],
        "pause_ms": [round(a - b, 1) for a, b in zip(after["pause_ms"], before["pause_ms"], strict=True)],
        "max_pause_ms_so_far": [round(x, 1) for x in after["max_pause_ms"]],
    }


PROFILE_GROUPS = (
    ("sqlalchemy/", "sqlalchemy"), ("aiosqlite/", "aiosqlite"), ("pydantic", "pydantic"),
    ("uvicorn/", "uvicorn"), ("websockets/", "websockets"), ("starlette/", "starlette+fastapi"),
    ("fastapi/", "starlette+fastapi"), ("asyncio/", "asyncio"), ("json/", "json"), ("jwt/", "jwt"),
    ("prometheus_client/", "prometheus_client"), ("server/", "server"), ("signaling/", "signaling"),
    ("selectors.py", "idle (epoll)"),
)


def summarize_profile(path: Path) -> dict[str, Any]:
    """py-spy raw output → self time by package and inclusive time of our own functions.

    SQLAlchemy's async layer runs queries in greenlets, whose stacks py-spy shows without
    their caller: their time counts under "sqlalchemy"/"aiosqlite" self time, not under ours.
    """
    total = 0
    by_pkg: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            stack, _, count = line.rstrip().rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            total += n
            frames = stack.split(";")
            leaf = frames[-1]
            by_pkg[next((name for key, name in PROFILE_GROUPS if f"({key}" in leaf or f"/{key}" in leaf),
                        "other")] += n
            seen = set()
            for f in frames:
                if "(server/" in f or "(signaling/" in f:
                    key = f.rsplit(":", 1)[0] + ")"
                    if key not in seen:
                        seen.add(key)
                        ours[key] += n
    if not total:
        return {"samples": 0, "file": str(path)}
    return {"samples": total, "file": str(path),
            "self_pct_by_package": {k: round(100 * v / total, 1) for k, v in by_pkg.most_common()},
            "inclusive_pct_ours": {k: round(100 * v / total, 1) for k, v in ours.most_common(20)}}


class Profiler:
    """py-spy on the server (``--py-spy``): GIL-holding samples only, i.e. where its CPU goes."""

    def __init__(self, pid: int, logdir: Path, mode: str) -> None:
        exe = Path(sys.executable).parent / "py-spy"
        self.exe = str(exe) if exe.exists() else shutil.which("py-spy")
        self.pid, self.logdir, self.mode = pid, logdir, mode
        self.proc: subprocess.Popen[bytes] | None = None
        self.path: Path | None = None

    def start(self, phase: str) -> None:
        if self.exe is None:
            return
        self.path = self.logdir / f"{self.mode}-{phase}.pyspy.txt"
        self.proc = subprocess.Popen([self.exe, "record", "--pid", str(self.pid), "--rate", "200", "--gil",
                                      "--format", "raw", "--output", str(self.path)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> dict[str, Any] | None:
        if self.proc is None or self.path is None:
            return None
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None
        return summarize_profile(self.path)


def wait_listening(port: int, proc: Child, timeout: float) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.proc.poll() is not None:
            raise RuntimeError(f"{proc.name} exited during start-up: {proc.stderr_tail()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return time.monotonic() - t0
        time.sleep(0.2)
    raise TimeoutError(f"{proc.name} not listening on {port} after {timeout:.0f} s")


def settle_rss(pid: int, seconds: float = 3.0) -> int:
    """Median of a few samples after a short settle."""
    samples = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        samples.append(rss_bytes(pid))
        time.sleep(0.5)
    samples.append(rss_bytes(pid))
    return int(statistics.median(samples[-3:]))


def wait_idle(pid: int, limit_s: float, util_below: float = 0.10) -> tuple[float, float, bool]:
    """Seconds until the server's CPU stays under ``util_below`` for two 0.5 s windows."""
    t0 = time.monotonic()
    c0 = cpu_seconds(pid)
    quiet = 0
    last_c, last_t = c0, t0
    while time.monotonic() - t0 < limit_s:
        time.sleep(0.5)
        c, t = cpu_seconds(pid), time.monotonic()
        util = (c - last_c) / (t - last_t)
        last_c, last_t = c, t
        quiet = quiet + 1 if util < util_below else 0
        if quiet >= 2:
            return round(t - t0 - 1.0, 2), round(c - c0, 2), True
    return round(time.monotonic() - t0, 2), round(cpu_seconds(pid) - c0, 2), False


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MADOGUCHI_")}
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def _bare_ws(ws: object) -> str:
    """The WebSocket implementation for the bare relay: ours is the edge guard's subclass of uvicorn's
    websockets-sansio protocol (a class, not a name); the bare relay runs the same implementation, unguarded."""
    if isinstance(ws, str):
        return ws
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    assert isinstance(ws, type) and issubclass(ws, WebSocketsSansIOProtocol), ws
    return "websockets-sansio"


def uvicorn_ws_settings() -> dict[str, Any]:
    """The WebSocket settings of server/run.py, read from the real config (the bare relay gets the same)."""
    from server.run import uvicorn_config

    cfg = uvicorn_config(ours_settings(":memory:"), port=0)
    return {"ws": cfg.ws, "ws_max_size": cfg.ws_max_size,
            "ws_per_message_deflate": cfg.ws_per_message_deflate,
            "ws_ping_interval": cfg.ws_ping_interval, "ws_ping_timeout": cfg.ws_ping_timeout,
            "http": cfg.http, "loop": cfg.loop}


def run_target(mode: str, a: argparse.Namespace, ws_cfg: dict[str, Any], logdir: Path,
               children: list[Child]) -> dict[str, Any]:
    me = [sys.executable, str(Path(__file__).resolve())]
    env = child_env()
    res: dict[str, Any] = {"target": mode}
    port = free_port()
    ids_path = logdir / f"{mode}-ids.json"
    gc_path = logdir / f"{mode}-gc.json"
    watch = ["--parent-pid", str(os.getpid()), "--gc-stats", str(gc_path)]
    if mode == "ours":
        db = logdir / "ours.db"
        t0 = time.monotonic()
        prep = subprocess.run([*me, "_prepare", "--db", str(db), "--out", str(ids_path), "--n", str(a.n),
                               "--probe", str(a.probe), "--pairs", str(a.pairs)],
                              env=env, cwd=str(logdir), capture_output=True, text=True, timeout=600)
        if prep.returncode != 0:
            raise RuntimeError(f"prepare failed: {prep.stderr[-1500:]}")
        res["prepare_s"] = round(time.monotonic() - t0, 1)
        server = Child("ours-server", [*me, "_serve", "--db", str(db), "--port", str(port), *watch],
                       logdir, cwd=str(logdir), env=env)
    else:
        server = Child("bare-server", [sys.executable, str(ROOT / "bench" / "bare_relay.py"),
                                       "--port", str(port),
                                       "--ws", _bare_ws(ws_cfg["ws"]), "--ws-max-size", str(ws_cfg["ws_max_size"]),
                                       "--ws-per-message-deflate", str(int(ws_cfg["ws_per_message_deflate"])),
                                       "--ws-ping-interval", str(ws_cfg["ws_ping_interval"]),
                                       "--ws-ping-timeout", str(ws_cfg["ws_ping_timeout"]), *watch],
                       logdir, cwd=str(logdir), env=env)
    children.append(server)
    if a.server_cpus:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(server.pid, a.server_cpus)  # before it starts any thread
    url = f"ws://127.0.0.1:{port}/ws"
    prof: Profiler | None = None
    try:
        res["startup_s"] = round(wait_listening(port, server, 120), 2)
        pid = server.pid

        def sample() -> dict[str, Any]:
            return {"cpu_s": cpu_seconds(pid), "rss": rss_bytes(pid), "gc": read_gc(gc_path)}

        rss0 = settle_rss(pid, 2.0)
        prof = Profiler(pid, logdir, mode) if a.py_spy else None
        profiles: dict[str, Any] = {}
        if prof is not None:
            if prof.exe is None:
                res.setdefault("notes", []).append("--py-spy: py-spy not found (pip install py-spy)")
            res["profile"] = profiles
            prof.start("connect")
        s0 = sample()
        cpu0 = s0["cpu_s"]
        log(f"{mode}: server up on {port}, RSS {rss0 / 2**20:.1f} MiB; opening {a.n} sockets")
        common = ["--url", url, "--mode", mode, "--ids", str(ids_path), "--parent-pid", str(os.getpid())]
        holder = Child(f"{mode}-holder", [*me, "_hold", "--n", str(a.n), "--concurrency", str(a.concurrency),
                                          "--connect-timeout", str(a.connect_timeout),
                                          "--client-ping", str(a.client_ping),
                                          "--max-s", str(a.connect_timeout + 600), *common],
                       logdir, json_out=True, stdin=True, env=env, sample=sample)
        children.append(holder)
        conn = holder.wait_event("connected", a.connect_timeout + 60)
        held = conn["ok"]
        log(f"{mode}: {held}/{a.n} welcomed in {conn['wall_s']} s ({conn['rate_per_s']}/s); "
            f"errors {conn['errors']}; waiting for the server to go idle")
        # Ours sends the welcome before on_connect's DB work: that work may still be queued.
        backlog_s, _, settled = wait_idle(pid, a.connect_timeout)
        backlog_s = round(backlog_s + conn.get("since_last_welcome_s", 0.0), 2)
        if a.server_gc_freeze:
            os.kill(pid, signal.SIGUSR1)  # gc.freeze() in the server: see bare_relay.install_gc_stats
            time.sleep(1.0)
        s1 = sample()
        if prof is not None:
            profiles["connect"] = prof.stop()
        rss1 = settle_rss(pid, 3.0)
        res["connections"] = {k: conn[k] for k in ("ok", "failed", "timed_out", "errors", "handshake",
                                                   "first_message_after_welcome")}
        res["connections"].update(
            requested=a.n, welcome_wall_s=conn["wall_s"], welcome_rate_per_s=conn["rate_per_s"],
            backlog_after_last_welcome_s=backlog_s, backlog_settled=settled,
            effective_rate_per_s=round(held / (conn["wall_s"] + backlog_s), 1) if held else None)
        res["nofile_holder"] = conn.get("nofile")
        cpu1 = s1["cpu_s"]
        res["server_cpu"] = {"connect_s": round(cpu1 - cpu0, 2),
                             "ms_per_connect": round((cpu1 - cpu0) / held * 1000, 3) if held else None,
                             "gc_during_connect": gc_delta(s0.get("gc"), s1.get("gc"))}
        res["rss"] = {"before_bytes": rss0, "after_bytes": rss1,
                      "bytes_per_conn": round((rss1 - rss0) / held) if held else None}
        log(f"{mode}: idle after {backlog_s} s more; RSS {rss0 / 2**20:.1f} → {rss1 / 2**20:.1f} MiB "
            f"= {res['rss']['bytes_per_conn']} B/conn; probing")

        prober = Child(f"{mode}-prober", [*me, "_probe", "--probe", str(a.probe), "--pairs", str(a.pairs),
                                          "--rate", str(a.rate), "--duration", str(a.duration),
                                          "--sdp-bytes", str(a.sdp_bytes), *common],
                       logdir, json_out=True, stdin=True, env=env, sample=sample)
        children.append(prober)
        phases: dict[str, dict[str, Any]] = {}
        result: dict[str, Any] | None = None
        while result is None:
            ev = _next_event(prober, time.monotonic() + 900)
            if ev.get("event") == "ready":  # start each phase on an idle server
                waited, _, quiet = wait_idle(pid, 300)
                phases.setdefault(ev["phase"], {})["idle_wait_s"] = waited
                c_a, t_a = cpu_seconds(pid), time.monotonic()
                time.sleep(2.0)
                phases[ev["phase"]]["idle_util"] = (cpu_seconds(pid) - c_a) / (time.monotonic() - t_a)
                if not quiet:
                    out_note = f"{mode}: server not idle before {ev['phase']} after {waited} s"
                    res.setdefault("notes", []).append(out_note)
                if prof is not None:
                    prof.start(ev["phase"])
                prober.send("go")
            elif ev.get("event") == "phase":
                phases.setdefault(ev["phase"], {})[ev["state"]] = ev
                if prof is not None and ev["state"] == "end":
                    profiles[ev["phase"]] = prof.stop()
            elif ev.get("event") == "result":
                result = ev
        for name in ("ping", "relay"):
            if name in result:
                res[name] = result[name]
                ph = phases.get(name, {})
                res[name]["idle_wait_before_s"] = ph.get("idle_wait_s")
                if "start" in ph and "end" in ph:
                    dt = ph["end"]["_t"] - ph["start"]["_t"]
                    dc = ph["end"]["_server"]["cpu_s"] - ph["start"]["_server"]["cpu_s"]
                    n_msgs = result[name].get("sent") or (result[name].get("offers_sent", 0)
                                                          + result[name].get("answers_sent", 0))
                    idle = ph.get("idle_util", 0.0)
                    res[name]["server_cpu_util"] = round(dc / dt, 3) if dt else None
                    res[name]["server_cpu_util_idle_before"] = round(idle, 3)
                    res[name]["server_cpu_us_per_msg"] = round(dc / n_msgs * 1e6, 1) if n_msgs else None
                    res[name]["server_cpu_us_per_msg_net"] = (
                        round((dc - idle * dt) / n_msgs * 1e6, 1) if n_msgs else None)
                    res[name]["server_gc"] = gc_delta(ph["start"]["_server"].get("gc"),
                                                      ph["end"]["_server"].get("gc"))
        for name in ("ping", "relay"):
            lag = res.get(name, {}).get("send_lag", {}).get("p99_ms")
            if lag is not None and lag > 5.0:
                res.setdefault("notes", []).append(
                    f"{name}: the load generator itself ran late (send lag p99 {lag} ms): the machine was busy, "
                    "so part of this latency tail is not the server's")
        res["ping_warm_up_s"] = result.get("ping_warm_up_s")
        res["relay_warm_up_s"] = result.get("relay_warm_up_s")
        res["relay_setup"] = result.get("relay_setup")
        prober.stop(5)
        rss2 = rss_bytes(pid)
        res["rss"]["after_probe_bytes"] = rss2
        holder.send("status")
        st = holder.wait_event("status", 30)
        res["connections"]["open_after_probe"] = st["open"]
        res["connections"]["closed_by_server"] = st["closed_codes"]
        res["connections"]["pushes_to_idle"] = st["pushes"]
        res["connections"]["held"] = st["open"]
        holder.send("close")
        with contextlib.suppress(Exception):
            holder.wait_event("closed", 30)
        if prof is not None:
            prof.start("disconnect")
        holder.stop(5)
        drain_s, drain_cpu, settled = wait_idle(pid, a.drain_limit)
        if prof is not None:
            profiles["disconnect"] = prof.stop()
        res["disconnect_drain"] = {"seconds": drain_s, "server_cpu_s": drain_cpu, "settled": settled,
                                   "limit_s": a.drain_limit}
        log(f"{mode}: done; {st['open']} held after probing, disconnect drain {drain_s} s "
            f"({'settled' if settled else 'cut off'})")
    finally:
        if prof is not None and prof.proc is not None:
            prof.stop()
        res["server_gc_total"] = read_gc(gc_path)
        res["server_exit"] = server.stop(10)
        errs = server.stderr_tail(3000)
        res["server_log_lines"] = errs.count("\n")
        if errs.strip() and ("Traceback" in errs or "ERROR" in errs):
            res["server_log_tail"] = errs[-1500:]
    return res


def _next_event(child: Child, deadline: float) -> dict[str, Any]:
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"{child.name}: no result in time")
        try:
            ev = child.events.get(timeout=min(left, 1.0))
        except queue.Empty:
            continue
        if ev.get("event") == "eof":
            time.sleep(0.2)
            raise RuntimeError(f"{child.name} exited (rc={child.proc.poll()}): {child.stderr_tail(1500)}")
        return ev


def compare(out: dict[str, Any]) -> None:
    bare, ours = out.get("bare", {}), out.get("ours", {})

    def g(d: dict[str, Any], *path: str) -> Any:
        for p in path:
            if not isinstance(d, dict):
                return None
            d = d.get(p)  # type: ignore[assignment]
        return d

    cmp = {
        "bytes_per_conn_ours_over_bare": ratio(g(ours, "rss", "bytes_per_conn"),
                                               g(bare, "rss", "bytes_per_conn")),
        "connect_cpu_ours_over_bare": ratio(g(ours, "server_cpu", "ms_per_connect"),
                                            g(bare, "server_cpu", "ms_per_connect")),
        "ping_p50_ours_over_bare": ratio(g(ours, "ping", "rtt", "p50_ms"), g(bare, "ping", "rtt", "p50_ms")),
        "ping_p99_ours_over_bare": ratio(g(ours, "ping", "rtt", "p99_ms"), g(bare, "ping", "rtt", "p99_ms")),
        "ping_cpu_per_msg_ours_over_bare": ratio(g(ours, "ping", "server_cpu_us_per_msg"),
                                                 g(bare, "ping", "server_cpu_us_per_msg")),
        "relay_hop_p50_ours_over_bare": ratio(g(ours, "relay", "hop", "p50_ms"),
                                              g(bare, "relay", "hop", "p50_ms")),
        "relay_hop_p99_ours_over_bare": ratio(g(ours, "relay", "hop", "p99_ms"),
                                              g(bare, "relay", "hop", "p99_ms")),
        "relay_cpu_per_msg_ours_over_bare": ratio(g(ours, "relay", "server_cpu_us_per_msg"),
                                                  g(bare, "relay", "server_cpu_us_per_msg")),
    }
    out["comparison"] = cmp
    held = g(ours, "connections", "held")
    mem_ratio = cmp["bytes_per_conn_ours_over_bare"]
    ping_p99 = g(ours, "ping", "rtt", "p99_ms")
    hop_p99 = g(ours, "relay", "hop", "p99_ms")
    goal = {
        "connections_target": GOAL_CONNECTIONS,
        "connections_held": held,
        "connections_ok": held is not None and held >= GOAL_CONNECTIONS,
        "memory_ratio_le_2x": mem_ratio is not None and mem_ratio <= GOAL_MEMORY_RATIO,
        "ping_p99_lt_5ms": ping_p99 is not None and ping_p99 < GOAL_P99_MS,
        "relay_hop_p99_lt_5ms": hop_p99 is not None and hop_p99 < GOAL_P99_MS,
    }
    goal["met"] = all(v for k, v in goal.items() if k.endswith(("_ok", "_2x", "_5ms")))
    out["goal"] = goal


def run_breakdown(a: argparse.Namespace, logdir: Path) -> dict[str, Any]:
    me = [sys.executable, str(Path(__file__).resolve())]
    env = child_env()
    db, ids = logdir / "breakdown.db", logdir / "breakdown-ids.json"
    iterations = 300
    try:
        subprocess.run([*me, "_prepare", "--db", str(db), "--out", str(ids), "--n", str(iterations),
                        "--probe", "0", "--pairs", "0"], env=env, cwd=str(logdir), check=True,
                       capture_output=True, timeout=600)
        proc = subprocess.Popen([*me, "_breakdown", "--db", str(db), "--ids", str(ids), "--mode", "ours",
                                 "--n", str(a.n), "--iterations", str(iterations),
                                 "--sdp-bytes", str(a.sdp_bytes)],
                                env=env, cwd=str(logdir), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        if a.server_cpus:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(proc.pid, a.server_cpus)
        try:
            stdout, stderr = proc.communicate(timeout=600)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
        lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
        if proc.returncode != 0 or not lines:
            return {"error": f"rc={proc.returncode}: {stderr[-1500:]}"}
        res: dict[str, Any] = json.loads(lines[-1])
        res.pop("event", None)
        return res
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


def pin_cpus(a: argparse.Namespace) -> dict[str, Any]:
    """Server on CPU 0, this process and the load generators (inheriting) on the others."""
    a.server_cpus = set()
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return {"pinned": False}
    if a.no_pin or len(cpus) < 2:
        return {"pinned": False, "cpus": cpus}
    a.server_cpus = {cpus[0]}
    os.sched_setaffinity(0, set(cpus[1:]))
    return {"pinned": True, "server": [cpus[0]], "load_generators": cpus[1:]}


def orchestrate(a: argparse.Namespace) -> int:
    t_start = time.monotonic()
    pinning = pin_cpus(a)
    limits = raise_nofile(a.n + a.probe + 2 * a.pairs + 256)
    out: dict[str, Any] = {
        "bench": "signaling_load", "quick": a.quick, "n": a.n, "rate_msg_per_s": a.rate,
        "duration_s": a.duration,
        "probe_connections": a.probe, "relay_pairs": a.pairs, "connect_concurrency": a.concurrency,
        "client_ping_s": a.client_ping or None, "cpu_pinning": pinning,
        "server_gc_freeze": a.server_gc_freeze,
        "machine": {"cpus": os.cpu_count(), "loadavg_start": loadavg(), "python": sys.version.split()[0],
                    "nofile": limits},
        "notes": [],
    }
    if not limits["sufficient"]:
        out["notes"].append(f"open-file limit {limits['soft']} (hard {limits['hard']}) < {limits['needed']} "
                            "needed by the server process: expect EMFILE failures; raise the hard limit")
        log(out["notes"][-1])
    ws_cfg = uvicorn_ws_settings()
    out["uvicorn_ws_settings"] = ws_cfg
    with contextlib.suppress(Exception):
        import websockets

        out["machine"]["websockets"] = websockets.__version__
    children: list[Child] = []
    logdir = Path(tempfile.mkdtemp(prefix="madoguchi-signaling-load-"))
    rc = 0
    try:
        for mode in a.targets:
            try:
                out[mode] = run_target(mode, a, ws_cfg, logdir, children)
            except Exception as exc:
                rc = 1
                out[mode] = {"error": f"{type(exc).__name__}: {exc}"}
                log(f"{mode} failed: {exc}")
            finally:
                for c in children:
                    c.stop(5)
                children.clear()
            time.sleep(2)
        if a.breakdown:
            out["ours_breakdown"] = run_breakdown(a, logdir)
        compare(out)
    finally:
        for c in children:
            c.stop(3)
        out["machine"]["loadavg_end"] = loadavg()
        out["elapsed_s"] = round(time.monotonic() - t_start, 1)
        if a.keep_logs or a.py_spy or rc:
            out["logs"] = str(logdir)
        else:
            import shutil

            shutil.rmtree(logdir, ignore_errors=True)
        print(json.dumps(out, indent=2, default=repr))
    return rc


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        cmd = sys.argv.pop(1)
        ap = argparse.ArgumentParser(prog=f"signaling_load {cmd}")
        ap.add_argument("--db")
        ap.add_argument("--out")
        ap.add_argument("--port", type=int)
        ap.add_argument("--url")
        ap.add_argument("--mode", choices=("ours", "bare"))
        ap.add_argument("--ids")
        ap.add_argument("--n", type=int, default=0)
        ap.add_argument("--probe", type=int, default=50)
        ap.add_argument("--pairs", type=int, default=20)
        ap.add_argument("--rate", type=float, default=1000)
        ap.add_argument("--duration", type=float, default=10)
        ap.add_argument("--sdp-bytes", type=int, default=3000)
        ap.add_argument("--concurrency", type=int, default=100)
        ap.add_argument("--connect-timeout", type=float, default=600)
        ap.add_argument("--client-ping", type=float, default=0)
        ap.add_argument("--max-s", type=float, default=1200)
        ap.add_argument("--parent-pid", type=int, default=0)
        ap.add_argument("--gc-stats", default="")
        ap.add_argument("--iterations", type=int, default=300)
        a = ap.parse_args()
        if cmd == "_prepare":
            prepare_ours(a)
        elif cmd == "_serve":
            serve_ours(a)
        elif cmd == "_hold":
            asyncio.run(hold(a, load_ids(a)))
        elif cmd == "_probe":
            asyncio.run(probe(a, load_ids(a)))
        elif cmd == "_breakdown":
            asyncio.run(breakdown(a, load_ids(a)))
        else:
            raise SystemExit(f"unknown internal command {cmd}")
        return

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=None, help="idle authenticated sockets (default 10000)")
    ap.add_argument("--quick", action="store_true", help="N=500 and 5 s phases")
    ap.add_argument("--rate", type=float, default=1000.0, help="messages per second in each latency phase")
    ap.add_argument("--duration", type=float, default=None,
                    help="seconds per latency phase (default 10; quick 5)")
    ap.add_argument("--probe", type=int, default=50, help="sockets for ping/pong (rate spread over them)")
    ap.add_argument("--pairs", type=int, default=20, help="call sessions (2 sockets each) for the relay")
    ap.add_argument("--sdp-bytes", type=int, default=3000, help="size of the fake SDP in rtc.offer/answer")
    ap.add_argument("--concurrency", type=int, default=100, help="handshakes in flight while connecting")
    ap.add_argument("--connect-timeout", type=float, default=900.0, help="give up connecting after this")
    ap.add_argument("--client-ping", type=float, default=0.0,
                    help="client keepalive ping interval (0: none; the kiosk client uses 10)")
    ap.add_argument("--drain-limit", type=float, default=300.0, help="max wait for the disconnect drain")
    ap.add_argument("--only", choices=("ours", "bare"), help="run one target")
    ap.add_argument("--no-pin", action="store_true",
                    help="do not pin the server to CPU 0 and the load generators to the other CPUs")
    ap.add_argument("--server-gc-freeze", action="store_true",
                    help="experiment: gc.freeze() in both servers once the N sockets are up")
    ap.add_argument("--breakdown", action="store_true",
                    help="also time our per-connection steps in-process (authenticate, on_connect, ...)")
    ap.add_argument("--py-spy", action="store_true",
                    help="profile the servers per phase with py-spy (perturbs latencies; implies --keep-logs)")
    ap.add_argument("--keep-logs", action="store_true", help="keep the temp dir with logs and the DB")
    ap.add_argument("--max-total-s", type=float, default=3600.0, help="hard stop for the whole run")
    a = ap.parse_args()
    a.n = a.n if a.n is not None else (500 if a.quick else GOAL_CONNECTIONS)
    a.duration = a.duration if a.duration is not None else (5.0 if a.quick else 10.0)
    if a.rate / a.probe > 40 or a.rate / 2 / max(1, a.pairs) > 40:
        raise SystemExit("keep each socket under 40 msg/s (the server limits 50/s): raise --probe/--pairs")
    a.targets = [a.only] if a.only else ["bare", "ours"]

    def stop(signum: int, _frame: Any) -> None:
        raise SystemExit(f"signal {signum}")

    def alarm(_signum: int, _frame: Any) -> None:
        raise TimeoutError(f"--max-total-s {a.max_total_s} exceeded")

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGALRM, alarm)
    signal.alarm(int(a.max_total_s))
    try:
        rc = orchestrate(a)
    finally:
        signal.alarm(0)
    sys.exit(rc)


if __name__ == "__main__":
    main()
