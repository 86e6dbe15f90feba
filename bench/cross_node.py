"""Relay latency across two server nodes beside the same node, in one run (DESIGN §7).

Two real server processes (server.run) share one PostgreSQL database and one Redis. Call sessions are set up
through the real queue (status.set, ticket.create, offer.accept); then each specialist sends ``rtc.offer``
frames (a 3 kB SDP) to its resident at a fixed total rate, open loop, and the bench records each *hop*:
the sender's send → the resident's receipt of the relayed frame. Half of the sessions have both ends on
node A (same node); the other half have the resident on A and the specialist on B (cross node: B relays
through Redis to A). Prints one JSON object; medians over the phase, and the cross/same ratio.

    .venv/bin/python -m bench.cross_node                     # 10 + 10 sessions, 200 msg/s, 10 s
    .venv/bin/python -m bench.cross_node --pairs 20 --rate 1000 --duration 10

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and Redis on 127.0.0.1:6379 (as CI has); it uses
the database ``madoguchi_bench`` (dropped and made afresh) and a key prefix of its own in Redis db 13.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from bench.signaling_load import SECRET, TOKEN_TTL_S, summarize
from signaling.protocol.version import SUBPROTOCOL

ROOT = Path(__file__).resolve().parent.parent
PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/madoguchi_bench"
REDIS = "redis://127.0.0.1:6379/13"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def prepare(pairs: int) -> dict[str, list[int]]:
    """Fresh database: migrate, seed, one kiosk and one specialist per session."""
    import asyncpg
    from sqlalchemy import select

    from server.auth import hash_secret
    from server.db.base import utcnow
    from server.db.models import Branch, Kiosk, Municipality, Service, Staff
    from server.db.seed import seed_demo
    from server.db.session import make_engine, make_sessionmaker
    from server.migrate import upgrade_async

    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        await admin.execute("DROP DATABASE IF EXISTS madoguchi_bench")
        await admin.execute("CREATE DATABASE madoguchi_bench")
    finally:
        await admin.close()
    await upgrade_async(PG)
    engine = make_engine(PG)
    maker = make_sessionmaker(engine)
    async with maker() as db, db.begin():
        await seed_demo(db)
        tokoro = (await db.execute(select(Branch).where(Branch.code == "kitami-tokoro"))).scalar_one()
        kitami = (await db.execute(select(Municipality).where(Municipality.code == "kitami"))).scalar_one()
        general = (await db.execute(select(Service).where(Service.code == "general"))).scalar_one()
        pw = hash_secret("bench-staff-password")
        kiosks = [Kiosk(branch_id=tokoro.id, name=f"bench-{i}", credential_hash="x", enrolled_at=utcnow())
                  for i in range(pairs)]
        staff = [Staff(username=f"bench-{i}", display_name=f"Bench {i}", municipality_id=kitami.id,
                       role="specialist", password_hash=pw, capabilities=[], skills=[general]) for i in range(pairs)]
        db.add_all([*kiosks, *staff])
        await db.flush()
        ids = {"kiosks": [k.id for k in kiosks], "staff": [s.id for s in staff]}
    await engine.dispose()
    return ids


class Node:
    def __init__(self, node_id: str, prefix: str) -> None:
        self.port = free_port()
        env = {**os.environ, "MADOGUCHI_DATABASE_URL": PG, "MADOGUCHI_REDIS_URL": REDIS,
               "MADOGUCHI_REDIS_PREFIX": prefix, "MADOGUCHI_NODE_ID": node_id, "MADOGUCHI_PORT": str(self.port),
               "MADOGUCHI_SECRET_KEY": SECRET, "MADOGUCHI_LOG_LEVEL": "WARNING", "MADOGUCHI_LOG_JSON": "false",
               "MADOGUCHI_WS_RATE_PER_S": "10000", "MADOGUCHI_WS_BURST": "10000",
               "MADOGUCHI_MAX_CONNECTIONS_PER_CLIENT": "0"}  # every simulated client is on 127.0.0.1
        self.proc = subprocess.Popen([sys.executable, "-c", "from server.run import serve; "
                                      "from server.settings import Settings; serve(Settings())"],
                                     env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def ready(self) -> None:
        async with asyncio.timeout(60), httpx.AsyncClient() as http:
            while True:
                try:
                    if (await http.get(f"http://127.0.0.1:{self.port}/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    await asyncio.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(20)


class Peer:
    """A raw protocol client: requests by id, pushes by type, relayed offers timed on receipt."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.pushes: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.hops: list[float] = []
        self.sent_at: dict[str, float] = {}
        self.reader = asyncio.create_task(self._read())
        self.n = 0

    @classmethod
    async def open(cls, url: str, token: str) -> Peer:
        ws = await connect(url, subprotocols=[SUBPROTOCOL], max_size=2**16, compression=None)  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "auth", "id": "a", "token": token}))
        welcome = json.loads(await ws.recv())
        assert welcome["type"] == "welcome", welcome
        return cls(ws)

    async def _read(self) -> None:
        async for raw in self.ws:
            now = time.perf_counter()
            msg = json.loads(raw)
            if msg["type"] == "rtc.offer":
                stamp = msg["sdp"].split("\n", 1)[0]
                self.hops.append(now - float(stamp[2:]))
            elif msg["type"] in ("ack", "error") and msg.get("ref") in self.waiting:
                self.waiting.pop(msg["ref"]).set_result(msg)
            else:
                self.pushes.put_nowait(msg)

    async def ask(self, **frame: Any) -> dict[str, Any]:
        self.n += 1
        fid = f"r{self.n}"
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[fid] = fut
        await self.ws.send(json.dumps({**frame, "id": fid}))
        reply = await asyncio.wait_for(fut, 30)
        assert reply["type"] == "ack", reply
        return dict(reply["data"])

    async def push(self, typ: str) -> dict[str, Any]:
        while True:
            msg = await asyncio.wait_for(self.pushes.get(), 30)
            if msg["type"] == typ:
                return msg


async def session(kiosk: Peer, staff: Peer) -> tuple[int, str]:
    await staff.ask(type="status.set", status="available")
    ticket = (await kiosk.ask(type="ticket.create", service_code="general"))["ticket_id"]
    while (await staff.push("offer"))["ticket_id"] != ticket:
        pass
    sid = (await staff.ask(type="offer.accept", ticket_id=ticket))["session_id"]
    start = await kiosk.push("session.start")
    return int(sid), str(start["you"])


async def run(a: argparse.Namespace) -> dict[str, Any]:
    from server.auth import issue_token

    ids = await prepare(2 * a.pairs)
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    nodes = [Node("bench-a", prefix), Node("bench-b", prefix)]
    try:
        for n in nodes:
            await n.ready()
        groups: dict[str, list[tuple[Peer, Peer, int, str]]] = {"same_node": [], "cross_node": []}
        for i in range(2 * a.pairs):
            group = "same_node" if i % 2 == 0 else "cross_node"
            kiosk = await Peer.open(nodes[0].ws, issue_token(SECRET, "kiosk", ids["kiosks"][i], "kiosk", TOKEN_TTL_S))
            staff_node = nodes[0] if group == "same_node" else nodes[1]
            staff = await Peer.open(staff_node.ws, issue_token(SECRET, "staff", ids["staff"][i], "specialist",
                                                               TOKEN_TTL_S))
            sid, kiosk_peer = await session(kiosk, staff)
            groups[group].append((kiosk, staff, sid, kiosk_peer))
        pad = "a=x-bench:" + "x" * a.sdp_bytes
        senders = [(g, k, s, sid, kp) for g, items in groups.items() for k, s, sid, kp in items]
        interval = len(senders) / a.rate
        lags: list[float] = []

        async def sender(idx: int, staff: Peer, sid: int, to: str) -> None:
            start = time.perf_counter() + idx * interval / len(senders)
            k = 0
            while True:
                due = start + k * interval
                if due - t0 > a.duration:
                    return
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                now = time.perf_counter()
                lags.append(now - due)
                staff.n += 1
                await staff.ws.send(json.dumps({"type": "rtc.offer", "id": f"o{staff.n}", "session_id": sid,
                                                "to": to, "sdp": f"t={now}\n{pad}"}))
                k += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(sender(i, s, sid, kp) for i, (_, _, s, sid, kp) in enumerate(senders)))
        await asyncio.sleep(1.0)  # the last relays land
        out: dict[str, Any] = {"bench": "cross_node", "pairs_per_group": a.pairs, "rate_per_s": a.rate,
                               "duration_s": a.duration, "sdp_bytes": a.sdp_bytes,
                               "sender_lag": summarize(lags)}
        for g, items in groups.items():
            out[g] = summarize([h for k, _, _, _ in items for h in k.hops])
        same, cross = out["same_node"], out["cross_node"]
        if same.get("count") and cross.get("count"):
            out["cross_over_same"] = {q: round(cross[q] / same[q], 2) for q in ("p50_ms", "p99_ms") if same[q]}
        for items in groups.values():
            for k, s, _, _ in items:
                await k.ws.close()
                await s.ws.close()
        return out
    finally:
        for n in nodes:
            n.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=10, help="sessions in each group (same node, cross node)")
    ap.add_argument("--rate", type=float, default=200.0, help="relayed rtc.offer frames per second, in all")
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--sdp-bytes", type=int, default=3000)
    print(json.dumps(asyncio.run(run(ap.parse_args())), indent=2))


if __name__ == "__main__":
    main()
