"""Call rooms, live call quality and pending invites in Redis (the part of :class:`RedisCluster` that is plain
shared state: no node owns it, and it outlives any one node)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from server.cluster.base import (
    ClusterUnavailable,
    Qualities,
    fresh,
    invite_key,
    quality_key,
    split_pair,
    to_invites,
    to_qualities,
)
from server.cluster.keys import Keys


@contextlib.contextmanager
def unavailable(what: str) -> Iterator[None]:
    """Redis failures leave the cluster layer as :class:`ClusterUnavailable` (the edge decides what to do)."""
    try:
        yield
    except (RedisError, OSError) as exc:
        raise ClusterUnavailable(f"{what}: {type(exc).__name__}: {exc}") from exc


class RedisSharedState:
    redis: aioredis.Redis
    keys: Keys
    clock: Callable[[], float]
    quality_ttl_s: float
    invite_ttl_s: float
    room_ttl_s: float

    # ------------------------------------------------------------ rooms
    async def join_room(self, session_id: int, peer: str) -> None:
        key = self.keys.room(session_id)
        with unavailable("join_room"):
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.sadd(key, peer)
                pipe.pexpire(key, int(self.room_ttl_s * 1000))
                await pipe.execute()

    async def leave_room(self, session_id: int, peer: str) -> None:
        with unavailable("leave_room"):
            await self.redis.srem(self.keys.room(session_id), peer)

    async def close_room(self, session_id: int) -> set[str]:
        key = self.keys.room(session_id)
        with unavailable("close_room"):
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.smembers(key)
                pipe.delete(key)
                members, _ = await pipe.execute()
        return set(members)

    async def room(self, session_id: int) -> set[str]:
        with unavailable("room"):
            return cast(set[str], await self.redis.smembers(self.keys.room(session_id)))

    # ------------------------------------------------------------ live call quality
    async def put_quality(self, session_id: int, side: str, stats: dict[str, Any]) -> None:
        with unavailable("put_quality"):
            await self.redis.hset(self.keys.quality, quality_key(session_id, side),
                                  json.dumps([self.clock(), stats]))

    async def drop_quality(self, session_id: int) -> None:
        await self._drop_session(self.keys.quality, session_id)

    async def qualities(self) -> Qualities:
        with unavailable("qualities"):
            raw = cast(dict[str, str], await self.redis.hgetall(self.keys.quality))
        return to_qualities(fresh(_stamped_json(raw), self.clock(), self.quality_ttl_s))

    # ------------------------------------------------------------ pending invites
    async def add_invite(self, session_id: int, staff_id: int) -> None:
        with unavailable("add_invite"):
            await self.redis.hset(self.keys.invites, invite_key(session_id, staff_id), repr(self.clock()))

    async def take_invite(self, session_id: int, staff_id: int) -> bool:
        """Consume an invite (atomically: of two nodes answering at once, one gets True)."""
        key = invite_key(session_id, staff_id)
        with unavailable("take_invite"):
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hget(self.keys.invites, key)
                pipe.hdel(self.keys.invites, key)
                at, removed = await pipe.execute()
        return bool(removed) and self.clock() - float(at) <= self.invite_ttl_s

    async def drop_invites(self, session_id: int) -> None:
        await self._drop_session(self.keys.invites, session_id)

    async def invites(self) -> set[tuple[int, int]]:
        with unavailable("invites"):
            raw = cast(dict[str, str], await self.redis.hgetall(self.keys.invites))
        stamped = {k: (float(v), None) for k, v in raw.items()}
        return to_invites(fresh(stamped, self.clock(), self.invite_ttl_s))

    # ------------------------------------------------------------ upkeep
    async def purge_stale(self) -> None:
        """Remove expired quality figures and invites (Redis 7.0 has no per-field expiry)."""
        now = self.clock()
        with unavailable("purge"):
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hgetall(self.keys.quality)
                pipe.hgetall(self.keys.invites)
                quality, invites = await pipe.execute()
            stale_q = [k for k, (t, _) in _stamped_json(quality).items() if now - t > self.quality_ttl_s]
            stale_i = [k for k, v in invites.items() if now - float(v) > self.invite_ttl_s]
            async with self.redis.pipeline(transaction=False) as pipe:
                if stale_q:
                    pipe.hdel(self.keys.quality, *stale_q)
                if stale_i:
                    pipe.hdel(self.keys.invites, *stale_i)
                await pipe.execute()

    async def _drop_session(self, hash_key: str, session_id: int) -> None:
        with unavailable("drop"):
            names = cast(list[str], await self.redis.hkeys(hash_key))
            fields = [k for k in names if split_pair(k)[0] == session_id]
            if fields:
                await self.redis.hdel(hash_key, *fields)


def _stamped_json(raw: dict[str, str]) -> dict[str, tuple[float, Any]]:
    out: dict[str, tuple[float, Any]] = {}
    for key, value in raw.items():
        t, stats = json.loads(value)
        out[key] = (float(t), stats)
    return out
