"""Reconnection of many clients (signaling/client.py) after a server outage, and failover to another node.

Scenarios, each with N real kiosk clients (SignalingClient, token fetched over REST from the server being
tried) against real server processes (temp SQLite shared by the nodes):

- ``outage``: one URL; the server is killed (SIGKILL), stays down ``--outage-s`` seconds, and a new process
  starts on the same port. Measured per client: time from the server answering again (``/healthz``) to the
  client being online again.
- ``failover``: two URLs (two nodes, one database); every client is online on the first; it is killed.
  Measured per client: time from the kill to the client being online on the second.

Prints one JSON object (median / p95 / max per scenario), split into the client's part (from the moment
measured to the start of the attempt that succeeded: drop detection and backoff) and the server's part
(from that start to online: token over REST, WebSocket, auth, welcome).

Run: ``.venv/bin/python bench/reconnect.py [--clients 50] [--outage-s 10] [--runs 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.token_storm import free_port, prepare, spawn_server, store_credentials, wait_up
from signaling.client import ConnState, SignalingClient


def summary(xs: list[float]) -> dict[str, float]:
    s = sorted(xs)
    return {"median_s": round(statistics.median(s), 3), "p95_s": round(s[int(0.95 * (len(s) - 1))], 3),
            "max_s": round(s[-1], 3), "min_s": round(s[0], 3)}


class Fleet:
    """N kiosk clients; records when each comes online, and on which URL."""

    def __init__(self, urls: list[str], kiosks: list[tuple[int, str]]) -> None:
        self.online_at: dict[int, tuple[float, str]] = {}
        self.attempt_at: dict[int, float] = {}  # start of the latest attempt
        self.last_attempt: dict[int, float] = {}  # start of the attempt that got online
        self.changed = asyncio.Event()
        self.client_side: list[float] = []
        self.server_side: list[float] = []
        self.clients: list[SignalingClient] = []
        self.http = httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=len(kiosks) + 10))
        for i, (kid, secret) in enumerate(kiosks):
            self.clients.append(self._client(i, urls, kid, secret))

    def _client(self, i: int, urls: list[str], kid: int, secret: str) -> SignalingClient:
        async def token() -> str:  # one HTTP client for the fleet: a new one per call costs ~20 ms of CPU here
            r = await self.http.post(client.http_url + "/api/kiosk/token", json={"kiosk_id": kid, "secret": secret})
            r.raise_for_status()
            return str(r.json()["access_token"])

        def on_state(state: ConnState) -> None:
            if state == "connecting":
                self.attempt_at[i] = time.monotonic()
            if state == "online":
                self.online_at[i] = (time.monotonic(), client.url)
                self.last_attempt[i] = self.attempt_at.get(i, 0.0)
                self.changed.set()

        client = SignalingClient(urls, token, on_state=on_state, app_version="bench")
        return client

    async def all_online(self, url: str, since: float, timeout_s: float = 60.0) -> list[float]:
        deadline = time.monotonic() + timeout_s
        while True:
            done = {i: t for i, (t, u) in self.online_at.items() if u == url and t >= since}
            if len(done) == len(self.clients):
                self.client_side = [max(0.0, self.last_attempt[i] - since) for i in done]  # waiting to try
                self.server_side = [t - max(since, self.last_attempt[i]) for i, t in done.items()]  # token+auth
                return [t - since for t in done.values()]
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(done)}/{len(self.clients)} online at {url}")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), 0.5)

    async def start(self) -> None:
        for c in self.clients:
            await c.start()

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.clients))
        await self.http.aclose()


async def node(db_url: str, port: int, log: Path) -> Any:
    proc = spawn_server(db_url, port, log)
    await wait_up(f"http://127.0.0.1:{port}", proc)
    return proc


def kill(proc: Any) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


Result = tuple[list[float], list[float], list[float]]  # online after; of which waiting to try; then being served


async def outage(a: argparse.Namespace, db_url: str, tmp: Path, kiosks: list[tuple[int, str]]) -> Result:
    port = free_port()
    url = f"ws://127.0.0.1:{port}/ws"
    proc = await node(db_url, port, tmp / "outage-1.log")
    fleet = Fleet([url], kiosks)
    await fleet.start()
    try:
        await fleet.all_online(url, 0.0)
        kill(proc)
        await asyncio.sleep(a.outage_s)  # the outage itself
        proc = await node(db_url, port, tmp / "outage-2.log")
        up = time.monotonic()  # wait_up returned: the server answers again
        return await fleet.all_online(url, up), fleet.client_side, fleet.server_side
    finally:
        await fleet.close()
        kill(proc)


async def failover(a: argparse.Namespace, db_url: str, tmp: Path, kiosks: list[tuple[int, str]]) -> Result:
    pa, pb = free_port(), free_port()
    ua, ub = f"ws://127.0.0.1:{pa}/ws", f"ws://127.0.0.1:{pb}/ws"
    proc_a = await node(db_url, pa, tmp / "failover-a.log")
    proc_b = await node(db_url, pb, tmp / "failover-b.log")
    fleet = Fleet([ua, ub], kiosks)
    await fleet.start()
    try:
        await fleet.all_online(ua, 0.0)
        t0 = time.monotonic()
        kill(proc_a)
        return await fleet.all_online(ub, t0), fleet.client_side, fleet.server_side
    finally:
        await fleet.close()
        kill(proc_b)


async def main_async(a: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="reconnect-"))
    db_url = f"sqlite+aiosqlite:///{tmp / 'reconnect.db'}"
    kiosks, slow = await prepare(db_url, a.clients)
    await store_credentials(db_url, kiosks, slow, "sha256")
    out: dict[str, Any] = {"bench": "reconnect", "clients": a.clients, "outage_s": a.outage_s, "runs": a.runs,
                           "cpus": os.cpu_count()}
    for name, scenario in (("outage", outage), ("failover", failover)):
        samples: list[float] = []
        waiting: list[float] = []
        served: list[float] = []
        loads = []
        for i in range(a.runs):
            loads.append(os.getloadavg()[0])
            got, wait, serve = await scenario(a, db_url, tmp, kiosks)
            print(f"{name} run {i + 1}: {summary(got)}", file=sys.stderr)
            samples.extend(got)
            waiting.extend(wait)
            served.extend(serve)
        out[name] = {**summary(samples), "client_waiting_to_try": summary(waiting),
                     "server_token_and_auth": summary(served), "loadavg_1m": loads}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--outage-s", type=float, default=10.0)
    p.add_argument("--runs", type=int, default=3)
    a = p.parse_args()
    print(json.dumps(asyncio.run(main_async(a)), indent=2))


if __name__ == "__main__":
    main()
