"""The cross-node layer on a real Redis (server/cluster/RedisCluster), two nodes in one process.

Measured:
- ``snapshot``: cost of ``snapshot()`` (peer -> node for every connected peer) with N peers spread over two
  nodes: unchanged since the last call, right after one change elsewhere, and the first one (whole map).
- ``forward_burst``: M frames from node b to peers on node a (300-byte frames) all sent at once:
  frames/s. ``forward_paced``: 1,000 frames/s for 3 s: latency from ``forward()`` to ``on_frame`` on a.
- ``register``: a register + unregister pair (a connect and a disconnect).
- ``node_loss``: default lease (TTL 3 s, heartbeat 1 s, autotick): node c holding K peers crashes; time
  until a survivor's ``on_node_lost`` runs, and until the peers are out of ``snapshot()``.

Run: ``MADOGUCHI_TEST_REDIS_URL=redis://127.0.0.1:6379/15 .venv/bin/python bench/cluster.py [--peers 10000]``
(keys use a prefix of their own, deleted at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.cluster import RedisCluster


def ms(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    return {"p50_ms": round(1000 * statistics.median(s), 3), "p99_ms": round(1000 * s[int(0.99 * (len(s) - 1))], 3),
            "max_ms": round(1000 * s[-1], 3)}


async def timed(n: int, fn: Any) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        await fn()
        out.append(time.perf_counter() - t0)
    return out


async def main_async(a: argparse.Namespace) -> dict[str, Any]:
    url = a.redis or os.environ.get("MADOGUCHI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    nodes = [RedisCluster(url, name, prefix=prefix) for name in ("a", "b")]  # leases refreshed every second
    a_node, b_node = nodes
    received: dict[str, float] = {}
    done = asyncio.Event()
    target = a.frames

    async def on_frame(peer: str, text: str) -> None:
        received[text[:12]] = time.perf_counter()
        if len(received) >= target:
            done.set()

    a_node.on_frame = on_frame
    out: dict[str, Any] = {"bench": "cluster", "peers": a.peers, "frames": a.frames, "cpus": os.cpu_count(),
                           "loadavg_1m": os.getloadavg()[0]}
    try:
        for n in nodes:
            await n.start()
        for i in range(a.peers):
            await nodes[i % 2].register(f"kiosk:{i}")
        out["snapshot_first_whole_map"] = ms(await timed(1, b_node.snapshot))
        assert len(await b_node.snapshot()) == a.peers
        out["snapshot_unchanged"] = ms(await timed(50, b_node.snapshot))
        churn: list[float] = []
        for _ in range(50):
            await a_node.register("staff:bench")
            churn.extend(await timed(1, b_node.snapshot))
        out["snapshot_after_one_change"] = ms(churn)
        out["register_unregister"] = ms(await timed(200, lambda: _reg_unreg(a_node)))

        body = "x" * 300
        sent_at: dict[str, float] = {}

        async def send(i: int) -> bool:
            key = f"{i:012d}"
            sent_at[key] = time.perf_counter()
            return await b_node.forward(f"kiosk:{2 * (i % (a.peers // 2))}", key + body)

        t0 = time.perf_counter()
        results = await asyncio.gather(*(send(i) for i in range(a.frames)))
        await asyncio.wait_for(done.wait(), 60)
        elapsed = time.perf_counter() - t0
        assert all(results)
        out["forward_burst"] = {"frames_per_s": round(a.frames / elapsed)}
        received.clear()
        sent_at.clear()
        done.clear()
        paced = target = 3000
        tasks = []
        start = time.perf_counter()
        for i in range(paced):  # open loop: 1,000 frames/s whatever the replies do
            await asyncio.sleep(max(0.0, start + i / 1000 - time.perf_counter()))
            tasks.append(asyncio.ensure_future(send(a.frames + i)))
        await asyncio.gather(*tasks)
        await asyncio.wait_for(done.wait(), 60)
        out["forward_paced_1000_per_s"] = ms([received[k] - sent_at[k] for k in sent_at])
        out["node_loss"] = await node_loss(url, prefix + "loss:", a.lost_peers)
    finally:
        for n in nodes:
            await n.close(graceful=False)
        admin = aioredis.from_url(url, decode_responses=True)
        keys = [k async for k in admin.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await admin.delete(*keys)
        await admin.aclose()
    return out


async def _reg_unreg(node: RedisCluster) -> None:
    seq = await node.register("staff:churn")
    await node.unregister("staff:churn", seq)


async def node_loss(url: str, prefix: str, k: int) -> dict[str, Any]:
    """Default lease timing: crash c, time until a survivor reports it and the view drops its peers."""
    survivor = RedisCluster(url, "s", prefix=prefix)  # autotick: TTL 3 s, heartbeat 1 s
    c = RedisCluster(url, "c", prefix=prefix)
    lost_at: list[float] = []
    survivor.on_node_lost = lambda node, peers: _note(lost_at, node, peers) if node == "c" else _nothing()
    await survivor.start()
    await c.start()
    try:
        for i in range(k):
            await c.register(f"lost:{i}")
        t0 = time.perf_counter()
        await c.close(graceful=False)
        gone_from_view = None
        while not lost_at:
            if gone_from_view is None and not await survivor.snapshot():
                gone_from_view = time.perf_counter() - t0
            await asyncio.sleep(0.01)
            if time.perf_counter() - t0 > 30:
                raise TimeoutError("no loss reported")
        return {"lost_peers": k, "ttl_s": c.ttl_s, "heartbeat_s": c.heartbeat_s,
                "out_of_snapshot_s": round(gone_from_view or lost_at[0] - t0, 3),
                "on_node_lost_s": round(lost_at[0] - t0, 3)}
    finally:
        await survivor.close()


async def _note(at: list[float], node: str, peers: frozenset[str]) -> None:
    at.append(time.perf_counter())


async def _nothing() -> None:
    pass


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--peers", type=int, default=10_000)
    p.add_argument("--frames", type=int, default=20_000)
    p.add_argument("--lost-peers", type=int, default=1000)
    p.add_argument("--redis", default="")
    a = p.parse_args()
    print(json.dumps(asyncio.run(main_async(a)), indent=2))


if __name__ == "__main__":
    main()
