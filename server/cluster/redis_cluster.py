"""Several nodes sharing one Redis: presence, node liveness, forwarding over a pub/sub channel per instance.

Each node holds a lease (``alive:<node>``, PX ``ttl_s``) that it refreshes every ``heartbeat_s``; every node
watches the others and, when a lease lapses, exactly one survivor (``SET lost:<instance> NX``) reports the
peers that were connected there (``on_node_lost``) and removes them. A node that finds its own lease lapsed
(a stall longer than the TTL) has been given up by the others: it closes its sockets (1001, so clients
reconnect and register afresh) and starts a new life.

Forwarded frames and controls leave a node through one FIFO (one sender task, pipelined), and arrive through
one subscription; the receiver hands them to :class:`PeerDispatch`, so frames to one peer keep their order.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import cast

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from server.cluster import keys as lua
from server.cluster.base import (
    ClusterUnavailable,
    DisconnectHandler,
    FrameHandler,
    NodeIdInUse,
    NodeLostHandler,
    PeerDispatch,
    Receiver,
    log,
)
from server.cluster.keys import Keys
from server.cluster.redis_state import RedisSharedState, unavailable
from server.cluster.replica import PresenceReplica
from signaling.protocol.errors import CloseCode
from signaling.tasks import every, stop_if_cancelled

BATCH = 512  # envelopes per pipelined round trip


@dataclass
class _Out:
    body: str  # envelope: "f\n<peer>\n<frame>" or "d\n<peer>\n<guard seq, 0 = none>\n<code>\n<reason>"
    peer: str
    target: str | None  # instance, or None: wherever the peer's latest registration is
    result: asyncio.Future[bool]


# take the lease if free, renew it if ours: KEYS[1] lease, ARGV[1] holder, ARGV[2] ttl ms
LEASE = """
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if cur then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""


class RedisCluster(RedisSharedState, Receiver):
    def __init__(self, url: str, node_id: str, clock: Callable[[], float] = time.time, *,
                 prefix: str = "madoguchi:", ttl_s: float = 3.0, heartbeat_s: float = 1.0,
                 lock_ttl_s: float = 60.0, quality_ttl_s: float = 60.0, invite_ttl_s: float = 3600.0,
                 room_ttl_s: float = 86400.0, autotick: bool = True) -> None:
        if not node_id or any(c in node_id for c in "#|\n"):
            raise ValueError(f"node id must be non-empty without '#', '|' or newlines: {node_id!r}")
        self.node_id = node_id
        self.clock = clock
        self.keys = Keys(prefix)
        self.ttl_s, self.heartbeat_s, self.lock_ttl_s = ttl_s, heartbeat_s, lock_ttl_s
        self.quality_ttl_s, self.invite_ttl_s, self.room_ttl_s = quality_ttl_s, invite_ttl_s, room_ttl_s
        self.autotick = autotick
        self.on_frame: FrameHandler | None = None
        self.on_disconnect: DisconnectHandler | None = None
        self.on_node_lost: NodeLostHandler | None = None
        self.redis: aioredis.Redis = aioredis.from_url(url, decode_responses=True, socket_connect_timeout=2,
                                                       socket_timeout=5, health_check_interval=5)
        self.dispatch = PeerDispatch()
        self.life = 0
        self._local: dict[str, int] = {}  # peers registered here -> seq (0 while registering)
        self._out: deque[_Out] = deque()
        self._out_ready = asyncio.Event()
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._sender: asyncio.Task[None] | None = None
        self._loops: list[asyncio.Task[None]] = []
        self.replica = PresenceReplica(self.redis, self.keys)
        self._purged_at = 0.0
        self._register = self.redis.register_script(lua.REGISTER)
        self._unregister = self.redis.register_script(lua.UNREGISTER)
        self._gone = self.redis.register_script(lua.GONE)
        self._forget = self.redis.register_script(lua.FORGET)
        self._refresh = self.redis.register_script(lua.REFRESH)
        self._lease = self.redis.register_script(LEASE)

    @property
    def instance(self) -> str:
        return f"{self.node_id}#{self.life}"

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        with unavailable("start"):
            await self._begin_life()
        self._sender = asyncio.create_task(self._send_loop(), name="cluster-send")
        if self.autotick:  # two loops: a slow on_node_lost must never hold up the lease
            self._loops = [asyncio.create_task(self._every(self.refresh), name="cluster-lease"),
                           asyncio.create_task(self._every(self.watch), name="cluster-watch")]

    async def close(self, graceful: bool = True) -> None:
        """Leave the cluster. ``graceful=False`` stops as a crash would: the lease lapses, survivors take over."""
        for task in self._loops:
            task.cancel()
        if graceful and self.life:
            await self.dispatch.idle(timeout=5.0)
            with contextlib.suppress(TimeoutError):  # let queued forwards go out
                async with asyncio.timeout(5.0):
                    await asyncio.gather(*(o.result for o in list(self._out)), return_exceptions=True)
            with contextlib.suppress(RedisError, OSError):
                if not self._local:  # nothing left to report: leave without troubling the survivors
                    await self._forget(keys=self._forget_keys(self.instance),
                                       args=[self.instance, self.node_id, self.life, lua.LOG_MAXLEN])
                await self.redis.delete(self.keys.alive(self.node_id))  # any leftovers go to a survivor at once
        for task in [*self._loops, *(t for t in (self._sender, self._reader) if t is not None)]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._loops, self._sender, self._reader = [], None, None
        await self.dispatch.close()
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        with contextlib.suppress(Exception):
            await self.redis.aclose()

    async def tick(self) -> None:
        """One heartbeat: refresh the lease, then look for lost nodes (``autotick`` runs both every heartbeat)."""
        await self.refresh()
        await self.watch()

    async def refresh(self) -> None:
        with unavailable("refresh"):
            ours = await self._refresh(keys=[self.keys.alive(self.node_id)],
                                       args=[self.life, int(self.ttl_s * 1000)])
            if not ours:
                await self._fence()

    async def watch(self) -> None:
        with unavailable("watch"):
            nodes = cast(dict[str, str], await self.redis.hgetall(self.keys.nodes))
            if nodes:
                names = list(nodes)
                alive = await self.redis.mget([self.keys.alive(n) for n in names])
                for name, current in zip(names, alive, strict=True):
                    if current != nodes[name] and (name, nodes[name]) != (self.node_id, str(self.life)):
                        await self._handle_lost(name, nodes[name])
            if self.clock() - self._purged_at >= min(self.quality_ttl_s, self.invite_ttl_s) / 2:
                await self.purge_stale()
                self._purged_at = self.clock()

    async def _every(self, step: Callable[[], Awaitable[None]]) -> None:
        await every(self.heartbeat_s, step, log, "cluster heartbeat step failed on %s", self.instance)

    async def _begin_life(self) -> None:
        """Take the node id's lease (waiting out a crashed predecessor's), subscribe, report the previous life."""
        life = int(await self.redis.incr(self.keys.lives(self.node_id)))
        alive_key, loop = self.keys.alive(self.node_id), asyncio.get_running_loop()
        deadline = loop.time() + 2 * self.ttl_s + self.heartbeat_s
        while not await self.redis.set(alive_key, life, px=int(self.ttl_s * 1000), nx=True):
            wait_s = max(10, await self.redis.pttl(alive_key)) / 1000  # its lease must run out first
            if loop.time() + wait_s > deadline:  # held past our deadline: renewed, or a longer lease than ours
                raise NodeIdInUse(f"node id {self.node_id!r} is held by another live process")
            await asyncio.sleep(wait_s)
        self.life = life
        await self._subscribe()
        previous = cast(str | None, await self.redis.hget(self.keys.nodes, self.node_id))
        if previous is not None and previous != str(life):
            await self._handle_lost(self.node_id, previous)
        await self.redis.hset(self.keys.nodes, self.node_id, str(life))

    async def _fence(self) -> None:
        log.error("cluster lease of %s lapsed: closing its %d sockets and starting a new life",
                  self.instance, len(self._local))
        peers, self._local = list(self._local), {}
        for peer in peers:
            self.dispatch.push(peer, functools.partial(self._disconnect, peer, CloseCode.GOING_AWAY, "node rejoining"))
        await self._begin_life()

    async def _handle_lost(self, node: str, life: str) -> bool:
        instance = f"{node}#{life}"
        if not await self.redis.set(self.keys.lost(instance), self.instance, nx=True,
                                    px=int(self.lock_ttl_s * 1000)):
            return False  # another survivor has it
        gone = frozenset(await self._gone(keys=[self.keys.peers(instance), self.keys.where], args=[instance]))
        try:
            if self.on_node_lost is not None:
                await self.on_node_lost(node, gone)
        except Exception:
            log.exception("on_node_lost failed for %s; another tick will retry", instance)
            await self.redis.delete(self.keys.lost(instance))
            return False
        await self._forget(keys=self._forget_keys(instance), args=[instance, node, life, lua.LOG_MAXLEN])
        log.warning("node %s lost; %d peers were connected there (handled by %s)", instance, len(gone), self.instance)
        return True

    def _forget_keys(self, instance: str) -> list[str]:
        return [self.keys.peers(instance), self.keys.where, self.keys.nodes, self.keys.log]

    # ------------------------------------------------------------ presence
    async def hold_lease(self, name: str, ttl_s: float) -> bool:
        held = await self._lease(keys=[self.keys.lease(name)], args=[self.instance, int(ttl_s * 1000)])
        return bool(held)

    async def register(self, peer: str) -> int:
        """This node holds ``peer``'s socket now. An older registration on another node is closed (4002)."""
        self._local[peer] = 0  # an eviction meant for an older socket of this peer must not close this one
        try:
            with unavailable("register"):
                seq, old = await self._register(
                    keys=[self.keys.seq, self.keys.peers(self.instance), self.keys.where, self.keys.log],
                    args=[peer, self.instance, lua.LOG_MAXLEN])
        except ClusterUnavailable:
            if self._local.get(peer) == 0:
                del self._local[peer]
            raise
        self._local[peer] = int(seq)
        old_instance, _, old_seq = str(old).rpartition("|")
        if old_instance and old_instance != self.instance:
            try:
                await self._send(f"d\n{peer}\n{old_seq}\n{int(CloseCode.REPLACED)}\nconnected again elsewhere",
                                 peer, old_instance)
            except ClusterUnavailable as exc:  # registered all the same; the old socket ends by its own ping
                log.warning("could not close %s's older socket on %s: %s", peer, old_instance, exc)
        return int(seq)

    async def unregister(self, peer: str, seq: int | None = None) -> bool:
        """Forget this node's registration (only ``seq``'s, if given). True if it was the peer's latest one:
        the peer has left (False: it is connected elsewhere by now, or was already reported lost)."""
        if seq is None or self._local.get(peer) == seq:
            self._local.pop(peer, None)
        with unavailable("unregister"):
            removed = await self._unregister(keys=[self.keys.peers(self.instance), self.keys.where, self.keys.log],
                                             args=[peer, self.instance, "" if seq is None else seq, lua.LOG_MAXLEN])
        return bool(removed)

    async def snapshot(self) -> dict[str, str]:
        """peer -> node id for every peer on a live node: one round trip, reading only what changed."""
        with unavailable("snapshot"):
            return await self.replica.snapshot()

    async def locate(self, peer: str) -> str | None:
        with unavailable("locate"):
            loc = cast(str | None, await self.redis.hget(self.keys.where, peer))
            if loc is None:
                return None
            node, _, life = loc.partition("|")[0].partition("#")
            return node if await self.redis.get(self.keys.alive(node)) == life else None

    # ------------------------------------------------------------ forwarding
    async def forward(self, peer: str, text: str) -> bool:
        """Hand a serialized frame to the node holding ``peer``. False: no live node holds it."""
        return await self._send(f"f\n{peer}\n{text}", peer, None)

    def forward_nowait(self, peer: str, text: str) -> asyncio.Future[bool]:
        """:meth:`forward`, queued at once (in call order) without waiting: many frames share round trips."""
        return self._enqueue(f"f\n{peer}\n{text}", peer, None)

    async def disconnect(self, peer: str, code: int, reason: str) -> bool:
        """Close ``peer``'s socket on the node that holds it (after the frames already forwarded to it)."""
        return await self._send(f"d\n{peer}\n0\n{int(code)}\n{reason}", peer, None)

    async def _send(self, body: str, peer: str, target: str | None) -> bool:
        return await self._enqueue(body, peer, target)

    def _enqueue(self, body: str, peer: str, target: str | None) -> asyncio.Future[bool]:
        if self._sender is None or self._sender.done():
            raise ClusterUnavailable("the cluster is not started")
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._out.append(_Out(body, peer, target, fut))
        self._out_ready.set()
        return fut

    async def _send_loop(self) -> None:
        while True:
            stop_if_cancelled()
            await self._out_ready.wait()
            self._out_ready.clear()
            while self._out:
                batch = [self._out.popleft() for _ in range(min(BATCH, len(self._out)))]
                try:
                    await self._send_batch(batch)
                except (RedisError, OSError) as exc:
                    for out in batch:
                        if not out.result.done():
                            out.result.set_exception(ClusterUnavailable(f"forward: {type(exc).__name__}: {exc}"))

    async def _send_batch(self, batch: list[_Out]) -> None:
        wanted = list(dict.fromkeys(o.peer for o in batch if o.target is None))
        where: dict[str, str] = {}
        if wanted:
            locs = cast(list[str | None], await self.redis.hmget(self.keys.where, wanted))
            where = {p: loc.partition("|")[0] for p, loc in zip(wanted, locs, strict=True) if loc}
        sent: list[_Out] = []
        async with self.redis.pipeline(transaction=False) as pipe:
            for out in batch:
                instance = out.target or where.get(out.peer)
                if instance is None:
                    _settle(out.result, False)
                else:
                    pipe.publish(self.keys.channel(instance), out.body)
                    sent.append(out)
            counts = await pipe.execute() if sent else []
        for out, receivers in zip(sent, counts, strict=True):
            _settle(out.result, receivers > 0)

    async def _subscribe(self) -> None:
        """Listen on this life's channel (confirmed before returning, so a publish after it is received)."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        self._pubsub = self.redis.pubsub()
        await self._pubsub.subscribe(self.keys.channel(self.instance))
        while (msg := await self._pubsub.get_message(timeout=5)) is None or msg["type"] != "subscribe":
            if msg is None:
                raise ClusterUnavailable("no subscribe confirmation from Redis")
        self._reader = asyncio.create_task(self._read_loop(self._pubsub), name="cluster-read")

    async def _read_loop(self, pubsub: PubSub) -> None:
        while True:
            stop_if_cancelled()
            try:
                msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except (RedisError, OSError) as exc:  # redis-py reconnects and resubscribes on the next read
                log.warning("cluster subscription of %s interrupted: %s", self.instance, exc)
                await asyncio.sleep(self.heartbeat_s / 2)
                continue
            if msg is not None and msg["type"] == "message":
                try:
                    self._receive(msg["data"])
                except Exception:  # a malformed envelope must not end the subscription
                    log.exception("bad cluster envelope on %s", self.instance)

    def _receive(self, body: str) -> None:
        kind, peer, rest = body.split("\n", 2)
        if kind == "f":
            self.dispatch.push(peer, lambda: self._frame(peer, rest))
        elif kind == "d":
            guard, code, reason = rest.split("\n", 2)
            local = self._local.get(peer)
            if local is None or (guard != "0" and str(local) != guard):
                return  # not here, or this node holds a newer socket of the peer than the one meant
            self.dispatch.push(peer, lambda: self._disconnect(peer, int(code), reason))


def _settle(fut: asyncio.Future[bool], value: bool) -> None:
    if not fut.done():
        fut.set_result(value)
