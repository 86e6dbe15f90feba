"""The cross-node layer (server/cluster): one contract, LocalCluster and RedisCluster (real Redis).

The first half runs the same tests on both implementations; the second half is what only several nodes
have: forwarding between nodes, a peer moving to another node, node loss reported exactly once, a node whose
lease lapsed, a node id restarted or used twice. Time: quality/invite expiry uses a clock the test advances;
node loss is driven by explicit ticks after deleting the lease key, and one test waits for a real TTL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from server.cluster import ClusterUnavailable, LocalCluster, NodeIdInUse, RedisCluster
from signaling.protocol.errors import CloseCode
from tests.cluster_support import Node, Recorder, attach, redis_nodes
from tests.support import WAIT_S, ManualClock, eventually

KINDS = ["local", "redis"]


@asynccontextmanager
async def one_node(kind: str, **kw: Any) -> AsyncIterator[tuple[Node, Recorder, ManualClock]]:
    if kind == "local":
        clock = ManualClock(1_000_000.0)
        local = LocalCluster("n1", clock, **kw)
        rec = attach(local)
        await local.start()
        try:
            yield local, rec, clock
        finally:
            await local.close()
    else:
        async with redis_nodes() as env:
            node, rec = await env.node("n1", **kw)
            yield node, rec, env.clock


# ---------------------------------------------------------------- the contract, on both


@pytest.mark.parametrize("kind", KINDS)
async def test_presence(kind: str) -> None:
    async with one_node(kind) as (node, _, _):
        s1 = await node.register("kiosk:1")
        s2 = await node.register("staff:2")
        assert s2 > s1
        assert await node.snapshot() == {"kiosk:1": "n1", "staff:2": "n1"}
        assert await node.locate("kiosk:1") == "n1" and await node.locate("kiosk:9") is None
        s3 = await node.register("kiosk:1")  # the same kiosk again (its new socket replaced the old one here)
        assert not await node.unregister("kiosk:1", s1)  # the old socket closing: not a departure
        assert await node.locate("kiosk:1") == "n1"
        assert await node.unregister("kiosk:1", s3)
        assert not await node.unregister("kiosk:1", s3)
        assert await node.snapshot() == {"staff:2": "n1"}
        assert await node.unregister("staff:2")  # without seq: whatever registration this node has
        assert await node.snapshot() == {}


@pytest.mark.parametrize("kind", KINDS)
async def test_forward_keeps_order_per_peer_and_a_slow_peer_delays_only_itself(kind: str) -> None:
    async with one_node(kind) as (node, rec, _):
        for peer in ("kiosk:1", "kiosk:2", "kiosk:3"):
            await node.register(peer)
        rec.gates["kiosk:3"] = asyncio.Event()  # kiosk:3's socket is stuck
        results = await asyncio.gather(*(node.forward(f"kiosk:{1 + i % 3}", f"m{i}") for i in range(300)))
        results += await asyncio.gather(*[node.forward_nowait(f"kiosk:{1 + i % 3}", f"m{i}")  # queued at the call
                                          for i in range(300, 600)])
        assert all(results)
        assert not await node.forward("kiosk:9", "nobody")
        assert not await node.forward_nowait("kiosk:9", "nobody")
        await rec.until(lambda: len(rec.frames) == 400)
        assert rec.texts("kiosk:1") == [f"m{i}" for i in range(0, 600, 3)]
        assert rec.texts("kiosk:2") == [f"m{i}" for i in range(1, 600, 3)]
        assert rec.texts("kiosk:3") == []
        rec.gates["kiosk:3"].set()
        await rec.until(lambda: len(rec.frames) == 600)
        assert rec.texts("kiosk:3") == [f"m{i}" for i in range(2, 600, 3)]


@pytest.mark.parametrize("kind", KINDS)
async def test_disconnect_control_follows_the_frames_before_it(kind: str) -> None:
    async with one_node(kind) as (node, rec, _):
        await node.register("kiosk:1")
        assert await node.forward("kiosk:1", "last words")
        assert await node.disconnect("kiosk:1", CloseCode.REVOKED, "kiosk revoked")
        assert not await node.disconnect("kiosk:2", CloseCode.REVOKED, "kiosk revoked")
        await rec.until(lambda: bool(rec.disconnects))
        assert rec.frames == [("kiosk:1", "last words")]
        assert rec.disconnects == [("kiosk:1", 4001, "kiosk revoked")]


@pytest.mark.parametrize("kind", KINDS)
async def test_rooms(kind: str) -> None:
    async with one_node(kind) as (node, _, _):
        await node.join_room(7, "kiosk:1")
        await node.join_room(7, "staff:2")
        await node.join_room(8, "staff:3")
        assert await node.room(7) == {"kiosk:1", "staff:2"}
        await node.leave_room(7, "staff:2")
        await node.leave_room(7, "staff:9")
        assert await node.room(7) == {"kiosk:1"}
        assert await node.close_room(7) == {"kiosk:1"}
        assert await node.room(7) == set() and await node.close_room(7) == set()
        assert await node.room(8) == {"staff:3"}


@pytest.mark.parametrize("kind", KINDS)
async def test_live_quality_expires(kind: str) -> None:
    async with one_node(kind, quality_ttl_s=30.0) as (node, _, clock):
        await node.put_quality(7, "kiosk", {"rtt_ms": 40.0, "at": "t0"})
        await node.put_quality(7, "staff", {"rtt_ms": 41.0})
        clock.advance(20)
        await node.put_quality(8, "kiosk", {"loss_pct": 1.5})
        await node.put_quality(7, "kiosk", {"rtt_ms": 45.0})  # the latest replaces
        assert await node.qualities() == {7: {"kiosk": {"rtt_ms": 45.0}, "staff": {"rtt_ms": 41.0}},
                                          8: {"kiosk": {"loss_pct": 1.5}}}
        clock.advance(15)  # staff's figure of session 7 is now 35 s old
        assert await node.qualities() == {7: {"kiosk": {"rtt_ms": 45.0}}, 8: {"kiosk": {"loss_pct": 1.5}}}
        await node.drop_quality(7)
        assert await node.qualities() == {8: {"kiosk": {"loss_pct": 1.5}}}
        clock.advance(31)
        await node.tick()  # purges what expired
        assert await node.qualities() == {}


@pytest.mark.parametrize("kind", KINDS)
async def test_pending_invites(kind: str) -> None:
    async with one_node(kind, invite_ttl_s=600.0) as (node, _, clock):
        await node.add_invite(7, 3)
        await node.add_invite(7, 4)
        await node.add_invite(8, 3)
        assert await node.invites() == {(7, 3), (7, 4), (8, 3)}
        assert await node.take_invite(7, 3)
        assert not await node.take_invite(7, 3)  # consumed once
        await node.drop_invites(7)
        assert await node.invites() == {(8, 3)}
        clock.advance(601)
        assert await node.invites() == set()
        assert not await node.take_invite(8, 3)  # expired


# ---------------------------------------------------------------- several nodes (Redis)


async def test_forward_between_nodes_keeps_order() -> None:
    async with redis_nodes() as env:
        a, rec_a = await env.node("a")
        b, rec_b = await env.node("b")
        await a.register("kiosk:1")
        await b.register("staff:2")
        assert await a.snapshot() == await b.snapshot() == {"kiosk:1": "a", "staff:2": "b"}
        assert await b.locate("kiosk:1") == "a"
        sent = await asyncio.gather(*(b.forward("kiosk:1", f"m{i}") for i in range(1000)),
                                    a.forward("staff:2", "hello b"))
        assert all(sent)
        await rec_a.until(lambda: len(rec_a.frames) == 1000)
        assert rec_a.texts("kiosk:1") == [f"m{i}" for i in range(1000)]
        await rec_b.until(lambda: bool(rec_b.frames))
        assert rec_b.frames == [("staff:2", "hello b")]
        assert await a.disconnect("staff:2", CloseCode.REVOKED, "account disabled")
        await rec_b.until(lambda: bool(rec_b.disconnects))
        assert rec_b.disconnects == [("staff:2", 4001, "account disabled")] and rec_a.disconnects == []


async def test_snapshot_reads_only_the_changes() -> None:
    async with redis_nodes() as env:
        a, _ = await env.node("a")
        b, _ = await env.node("b")
        seqs = {p: await a.register(p) for p in ("kiosk:1", "kiosk:2", "staff:3")}
        assert await b.snapshot() == {"kiosk:1": "a", "kiosk:2": "a", "staff:3": "a"}
        assert b.replica.reloads == 1
        await b.register("kiosk:2")  # moved to b
        assert await a.unregister("staff:3", seqs["staff:3"])
        await a.register("staff:4")
        assert not await a.unregister("kiosk:2", seqs["kiosk:2"])  # already elsewhere: no change
        assert await b.snapshot() == {"kiosk:1": "a", "kiosk:2": "b", "staff:4": "a"}
        await env.admin.delete(env.key("alive:a"))  # a's lease lapses: its peers leave the view at once
        assert await b.snapshot() == {"kiosk:2": "b"}
        assert b.replica.reloads == 1
        await a.tick()  # a notices, starts a new life (its sockets are closed) and is live again
        await a.register("kiosk:1")
        assert await b.snapshot() == {"kiosk:1": "a", "kiosk:2": "b"}
        assert b.replica.reloads == 1
        await env.admin.xtrim(env.key("presence-log"), maxlen=0)  # as if b fell behind the log's cap
        await a.register("kiosk:5")
        assert await b.snapshot() == {"kiosk:1": "a", "kiosk:2": "b", "kiosk:5": "a"}
        assert b.replica.reloads == 2


async def test_a_peer_connecting_on_another_node_replaces_the_old_socket() -> None:
    async with redis_nodes() as env:
        a, rec_a = await env.node("a")
        b, rec_b = await env.node("b")
        old = await a.register("kiosk:1")
        new = await b.register("kiosk:1")
        await rec_a.until(lambda: bool(rec_a.disconnects))
        assert rec_a.disconnects == [("kiosk:1", CloseCode.REPLACED, "connected again elsewhere")]
        assert rec_b.disconnects == []
        assert await a.snapshot() == {"kiosk:1": "b"}
        assert not await a.unregister("kiosk:1", old)  # the replaced socket closing is not a departure
        assert await a.snapshot() == {"kiosk:1": "b"}
        assert await b.forward("kiosk:1", "to b")
        await rec_b.until(lambda: bool(rec_b.frames))
        # back on a; then an eviction meant for a's older socket arrives late: the newer one stays open
        await a.register("kiosk:1")
        await rec_b.until(lambda: bool(rec_b.disconnects))
        await b._send(f"d\nkiosk:1\n{old}\n4002\nstale", "kiosk:1", a.instance)
        assert await b.forward("kiosk:1", "marker")  # arrives after the stale eviction
        await rec_a.until(lambda: bool(rec_a.frames))
        assert rec_a.frames == [("kiosk:1", "marker")] and len(rec_a.disconnects) == 1
        assert await b.unregister("kiosk:1", new) is False


async def test_node_loss_is_reported_once_by_one_survivor() -> None:
    async with redis_nodes() as env:
        a, rec_a = await env.node("a")
        b, rec_b = await env.node("b")
        c, rec_c = await env.node("c")
        for peer in ("kiosk:3", "staff:4", "kiosk:5"):
            await c.register(peer)
        await a.register("kiosk:5")  # kiosk:5 already reconnected to a: it did not leave with c
        await a.register("staff:1")
        await a.join_room(9, "kiosk:3")
        await c.close(graceful=False)  # c crashes: its lease runs on until it lapses
        assert await a.snapshot() == {"kiosk:3": "c", "staff:4": "c", "kiosk:5": "a", "staff:1": "a"}
        assert not await a.forward("kiosk:3", "to c")  # nobody reads c's channel any more

        await env.admin.delete(env.key("alive:c"))  # the lease lapses
        assert await b.snapshot() == {"kiosk:5": "a", "staff:1": "a"}  # gone from the view before anyone acts
        await asyncio.gather(a.tick(), b.tick(), a.tick(), b.tick())
        assert rec_a.lost + rec_b.lost == [("c", frozenset({"kiosk:3", "staff:4"}))]
        assert rec_c.lost == []
        assert not await env.admin.exists(env.key("peers:c#1"))
        assert await env.admin.hgetall(env.key("nodes")) == {"a": "1", "b": "1"}
        assert set(await env.admin.hkeys(env.key("where"))) == {"kiosk:5", "staff:1"}
        await asyncio.gather(a.tick(), b.tick())
        assert len(rec_a.lost + rec_b.lost) == 1
        assert await a.room(9) == {"kiosk:3"}  # rooms are the queue's: the call goes on, peer to peer


async def test_node_loss_after_a_real_lease_expiry() -> None:
    async with redis_nodes() as env:
        a, rec_a = await env.node("a")
        c, _ = await env.node("c", ttl_s=0.3)
        await c.register("kiosk:3")
        await c.close(graceful=False)
        async def lost_seen() -> bool:
            await a.tick()
            return bool(rec_a.lost)

        await eventually(lost_seen, step=0.05, what="c's lease expired and a reported it")
        assert rec_a.lost == [("c", frozenset({"kiosk:3"}))]
        assert await a.snapshot() == {}


async def test_a_failing_loss_handler_is_retried() -> None:
    async with redis_nodes() as env:
        a, _ = await env.node("a")
        c, _ = await env.node("c")
        await c.register("kiosk:3")
        await c.close(graceful=False)
        await env.admin.delete(env.key("alive:c"))
        calls: list[frozenset[str]] = []

        async def flaky(node: str, peers: frozenset[str]) -> None:
            calls.append(peers)
            if len(calls) == 1:
                raise RuntimeError("database briefly unreachable")

        a.on_node_lost = flaky
        await a.tick()
        assert await env.admin.exists(env.key("peers:c#1"))  # not forgotten: the handler failed
        await a.tick()
        await a.tick()
        assert calls == [frozenset({"kiosk:3"})] * 2
        assert not await env.admin.exists(env.key("peers:c#1"))


async def test_a_node_whose_lease_lapsed_closes_its_sockets_and_starts_a_new_life() -> None:
    async with redis_nodes() as env:
        a, rec_a = await env.node("a")
        b, rec_b = await env.node("b")
        await a.register("kiosk:1")
        await env.admin.delete(env.key("alive:a"))  # a stalled longer than the TTL
        await a.tick()
        await rec_a.until(lambda: bool(rec_a.disconnects))
        assert rec_a.disconnects == [("kiosk:1", CloseCode.GOING_AWAY, "node rejoining")]
        assert rec_a.lost == [("a", frozenset({"kiosk:1"}))] and a.life == 2
        await b.tick()
        assert rec_b.lost == []
        assert await b.snapshot() == {}
        await a.register("kiosk:1")  # the kiosk reconnects
        assert await b.forward("kiosk:1", "hello") and await b.snapshot() == {"kiosk:1": "a"}
        await rec_a.until(lambda: bool(rec_a.frames))


async def test_a_restarted_node_id_reports_its_previous_life() -> None:
    async with redis_nodes() as env:
        c1, _ = await env.node("c", ttl_s=0.3)
        await c1.register("kiosk:3")
        await c1.close(graceful=False)
        c2, rec_c2 = await env.node("c", ttl_s=0.3)  # waits for the crashed life's lease to lapse
        assert c2.life == 2
        assert rec_c2.lost == [("c", frozenset({"kiosk:3"}))]
        assert await c2.snapshot() == {}


async def test_a_node_id_in_use_is_refused() -> None:
    async with redis_nodes() as env:
        # the live holder's lease outlasts the test (a 0.3 s lease kept alive by a 50 ms heartbeat lapsed on a
        # loaded CI machine, and the second start then rightly took the id); the newcomer waits out 2 x its own
        await env.node("a", ttl_s=WAIT_S, autotick=True)
        with pytest.raises(NodeIdInUse):
            await env.node("a", ttl_s=0.3, heartbeat_s=0.05)


async def test_graceful_close_leaves_nothing_to_report() -> None:
    async with redis_nodes() as env:
        a, rec_a = await env.node("a")
        b, _ = await env.node("b")
        s = await b.register("staff:2")
        assert await b.unregister("staff:2", s)
        await b.close()
        await a.tick()
        assert rec_a.lost == []
        assert await env.admin.hgetall(env.key("nodes")) == {"a": "1"}


async def test_redis_unreachable_is_cluster_unavailable(unused_tcp_port: int) -> None:
    node = RedisCluster(f"redis://127.0.0.1:{unused_tcp_port}/0", "a")
    with pytest.raises(ClusterUnavailable):
        await node.start()
    await node.close()


async def test_forwarding_before_start_is_refused() -> None:
    async with redis_nodes() as env:
        a, _ = await env.node("a", start=False)
        with pytest.raises(ClusterUnavailable):
            await a.forward("kiosk:1", "not started")
