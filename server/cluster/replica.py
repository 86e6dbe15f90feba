"""A node's copy of the cluster-wide presence map, kept current from the presence log.

``where`` (peer -> latest registration) can hold 10,000 peers; reading it whole costs ~100 ms in redis-py.
Every change of ``where`` is also appended to a capped stream (``presence-log``), so a snapshot reads only
what changed since the last one, together with the node leases, in one round trip (a second one only when
a node joined or left). A reader that fell behind the stream's cap reads the map whole again.
"""

from __future__ import annotations

from typing import Any, cast

import redis.asyncio as aioredis

from server.cluster.keys import Keys


def _stream_id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _node_of(instance: str) -> str:
    return instance.partition("#")[0]


class PresenceReplica:
    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self.last_id: str | None = None  # position in the presence log
        self.where: dict[str, str] = {}  # peer -> instance of its latest registration (live or not)
        self.names: list[str] = []  # node ids whose leases are read with the log
        self.live: frozenset[str] = frozenset()  # instances holding their lease
        self.view: dict[str, str] = {}  # peer -> node id, peers on live instances only
        self.reloads = 0

    async def snapshot(self) -> dict[str, str]:
        names, last = self.names, self.last_id
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.keys.nodes)
            if names:
                pipe.mget([self.keys.alive(n) for n in names])
            if last is not None:
                pipe.xrange(self.keys.log, min="(" + last, max="+")
                pipe.xrange(self.keys.log, min="-", max="+", count=1)
            replies: list[Any] = await pipe.execute()
        nodes = cast(dict[str, str], replies[0])
        alive = cast(list[str | None], replies[1]) if names else []
        if sorted(nodes) != names:  # a node joined or left: read the leases of the current set
            names = self.names = sorted(nodes)
            alive = cast(list[str | None], await self.redis.mget([self.keys.alive(n) for n in names])) if names else []
        leases = dict(zip(names, alive, strict=True))
        live = frozenset(f"{n}#{life}" for n, life in nodes.items() if leases.get(n) == life)
        if last is None or (replies[-1] and _stream_id(replies[-1][0][0]) > _stream_id(last)):
            await self._reload()  # first time, or the log was trimmed past our position
            self._rebuild(live)
        else:
            changes = cast(list[tuple[str, dict[str, str]]], replies[-2])
            self._apply(changes, live)
        return dict(self.view)

    async def _reload(self) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:  # the map and its log position, atomically
            pipe.hgetall(self.keys.where)
            pipe.xrevrange(self.keys.log, max="+", min="-", count=1)
            raw, newest = await pipe.execute()
        self.where = {peer: loc.partition("|")[0] for peer, loc in raw.items()}
        self.last_id = newest[0][0] if newest else "0-0"
        self.reloads += 1

    def _rebuild(self, live: frozenset[str]) -> None:
        self.live = live
        self.view = {peer: _node_of(inst) for peer, inst in self.where.items() if inst in live}

    def _apply(self, changes: list[tuple[str, dict[str, str]]], live: frozenset[str]) -> None:
        for entry_id, fields in changes:
            peer, loc = fields["p"], fields["l"]
            if loc:
                self.where[peer] = loc.partition("|")[0]
            else:
                self.where.pop(peer, None)
            self.last_id = entry_id
            if live == self.live:
                inst = self.where.get(peer)
                if inst is not None and inst in live:
                    self.view[peer] = _node_of(inst)
                else:
                    self.view.pop(peer, None)
        if live != self.live:
            self._rebuild(live)
