"""Connection exhaustion at the edge (issue 10): a server process under ``ulimit -n 1024`` while an attacker
holds idle sockets, and a kiosk that must still get its token, connect, and reach a specialist.

Two attacks, one line of JSON each:

- ``one-address``: ``--sockets`` (1,100) idle sockets from one address (127.0.0.2): the per-client cap
  (256) refuses the rest at once with 429, and the kiosk (127.0.0.1) is not affected.
- ``spread``: the same number spread over ``--addresses`` (11) addresses, under the per-client cap each: the
  node cap (open-file limit less 384 = 640) refuses the rest with 503, and so is the kiosk refused until the
  request deadline (10 s) closes the idle sockets; it gets in on its next retry. Against a real distributed
  attack this is the limit of one node: put a proxy or firewall that limits per source in front.

Run: ``python -m bench.edge_exhaustion [--sockets 1100] [--addresses 11]`` (the server's log is kept in a
temporary directory, printed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from kiosk.services.server_api import device_token
from server.db.seed import DEMO_PASSWORD
from signaling.protocol.messages import OfferAccept, StatusSet, TicketCreate
from tests.cluster_support import seeded_settings
from tests.server_process import ServerProcess
from tests.test_edge_flood import enrolled_kiosk, online


async def _hold(n: int, port: int, sources: list[str]) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    async def one(i: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        try:
            return await asyncio.open_connection("127.0.0.1", port, local_addr=(sources[i % len(sources)], 0))
        except OSError:
            return None

    got = await asyncio.gather(*(one(i) for i in range(n)))
    return [c for c in got if c is not None]


async def attack(kind: str, sockets: int, addresses: int, tmp: Path) -> dict[str, Any]:
    sources = ["127.0.0.2"] if kind == "one-address" else [f"127.0.1.{i + 1}" for i in range(addresses)]
    settings = await seeded_settings(tmp)
    with ServerProcess(settings, tmp, nofile=1024) as srv:
        await srv.ready()
        cred = await enrolled_kiosk(settings, srv.url)
        t0 = time.monotonic()
        held = await _hold(sockets, srv.port, sources)
        t_held = time.monotonic()
        try:
            async def kiosk_token() -> str:
                return await device_token(srv.url, cred)

            async def staff_token() -> str:
                async with httpx.AsyncClient(base_url=srv.url, timeout=30) as http:
                    r = await http.post("/api/auth/login", json={"username": "takahashi", "password": DEMO_PASSWORD})
                    r.raise_for_status()
                    return str(r.json()["access_token"])

            kiosk, k_in = await online(srv.ws_url, kiosk_token)
            t_kiosk = time.monotonic()
            staff, s_in = await online(srv.ws_url, staff_token)
            await staff.request(StatusSet(status="available"))
            ticket = (await kiosk.request(TicketCreate(service_code="employment")))["ticket_id"]
            await s_in.next("offer", ticket_id=ticket)
            sid = (await staff.request(OfferAccept(ticket_id=ticket)))["session_id"]
            await k_in.next("session.start", session_id=sid)
            t_call = time.monotonic()
            await kiosk.close()
            await staff.close()
            answers = await asyncio.gather(*(asyncio.wait_for(r.read(), 60) for r, _ in held), return_exceptions=True)
        finally:
            for _, w in held:
                w.close()
                with contextlib.suppress(Exception):
                    await w.wait_closed()
        log = srv.log_text()
    return {"attack": kind, "addresses": len(sources), "idle_sockets": len(held),
            "refused_429": sum(1 for a in answers if isinstance(a, bytes) and a.startswith(b"HTTP/1.1 429")),
            "refused_503": sum(1 for a in answers if isinstance(a, bytes) and a.startswith(b"HTTP/1.1 503")),
            "held_until_deadline": sum(1 for a in answers if a == b""),
            "open_s": round(t_held - t0, 2), "kiosk_online_s": round(t_kiosk - t_held, 2),
            "resident_reached_specialist_s": round(t_call - t_held, 2),
            "server_log_lines": len(log.splitlines()), "server_log_bytes": len(log.encode()),
            "emfile_in_log": "Too many open files" in log, "log": str(srv.log_path)}


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sockets", type=int, default=1100)
    ap.add_argument("--addresses", type=int, default=11)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    for kind in ("one-address", "spread"):
        print(json.dumps(await attack(kind, a.sockets, a.addresses, Path(tempfile.mkdtemp(prefix="edge-")))),
              flush=True)


if __name__ == "__main__":
    asyncio.run(main())
