"""Brute-force limits for staff login and kiosk enrollment, with the ``limits`` library (moving windows).

Each attempt counts against the account (the username, or the kiosk id for enrollment), each failure against
the client address, each with several windows: e.g. ``5/minute;20/hour`` per account lets five attempts
through at once, then one every few minutes, and a guess beyond the hour's budget waits up to an hour — a
growing backoff without a permanent lockout an attacker could impose. A refused attempt is answered ``429``
with ``Retry-After`` (when the oldest counted attempt leaves its window) and costs no password check; it does
not count towards the longer windows. A successful login clears its account's windows.

State lives in Redis when several nodes run (``MADOGUCHI_REDIS_URL``: every node sees the same counts), in
memory otherwise. :class:`ClockedMemoryStorage` is the memory storage on an injected clock (tests advance it).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis.asyncio as aioredis
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from server.settings import Settings

PRUNE_EVERY = 1024
KEEP_S = 86400.0  # a key untouched this long is dropped (longer than any window configured)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_s: int = 0  # when refused: seconds until an attempt would be counted again


class ClockedMemoryStorage(MemoryStorage):
    """``limits``' in-memory moving window on an injected clock (``time.time`` by default). Entries older than a
    window are dropped as each key is used (the library's wall-clock expiry timer is not started)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.windows: dict[str, list[float]] = {}  # key -> times of the counted attempts, newest first
        self._acquired = 0
        super().__init__()

    async def _MemoryStorage__schedule_expiry(self) -> None:  # the library's timer reads the wall clock
        return None

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        async with self.locks[key]:
            now = self.clock()
            times = [t for t in self.windows.get(key, []) if t > now - expiry][:limit]
            if len(times) + amount > limit:
                self.windows[key] = times
                return False
            self.windows[key] = [now] * amount + times
            self._acquired += 1
            if self._acquired % PRUNE_EVERY == 0:  # addresses seen once must not stay for ever
                self.windows = {k: v for k, v in self.windows.items() if v and v[0] > now - KEEP_S}
                for stale in [k for k in self.locks if k not in self.windows and not self.locks[k].locked()]:
                    del self.locks[stale]
            return True

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = self.clock()
        inside = [t for t in self.windows.get(key, []) if t > now - expiry]
        return (inside[-1], len(inside)) if inside else (now, 0)

    async def clear(self, key: str) -> None:
        self.windows.pop(key, None)
        await super().clear(key)

    async def reset(self) -> int | None:
        self.windows.clear()
        return await super().reset()


class AttemptLimiter:
    """One kind of attempt (``login``, ``enroll``): windows per address and per account."""

    def __init__(self, storage: Storage, kind: str, per_address: str, per_account: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.kind = kind
        self.per_address: list[RateLimitItem] = parse_many(per_address)
        self.per_account: list[RateLimitItem] = parse_many(per_account)
        self.limiter = MovingWindowRateLimiter(storage)
        self.clock = clock

    async def attempt(self, address: str, account: str) -> Verdict:
        """Before checking a password: refused while the address has used its failure windows, or the account
        its attempt windows. The account's attempt is counted here, atomically (concurrent guesses at one
        account cannot overshoot); the address counts failures only (:meth:`failed`), so a town hall's staff
        behind one address all logging in at nine are not held up by each other."""
        for item in self.per_address:
            if not await self.limiter.test(item, self.kind, "address", address):
                return await self._refused(item, "address", address)
        for item in self.per_account:
            if not await self.limiter.hit(item, self.kind, "account", account):
                return await self._refused(item, "account", account)
        return Verdict(True)

    async def failed(self, address: str) -> None:
        for item in self.per_address:
            await self.limiter.hit(item, self.kind, "address", address)

    async def _refused(self, item: RateLimitItem, scope: str, who: str) -> Verdict:
        stats = await self.limiter.get_window_stats(item, self.kind, scope, who)
        return Verdict(False, max(1, math.ceil(stats.reset_time - self.clock())))

    async def succeeded(self, account: str) -> None:
        """The right password: the account's windows start again (an attacker's guesses before do not linger)."""
        for item in self.per_account:
            await self.limiter.clear(item, self.kind, "account", account)


@dataclass
class AttemptLimits:
    login: AttemptLimiter
    enroll: AttemptLimiter
    pool: aioredis.ConnectionPool | None = None  # the Redis connections, when in Redis

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.disconnect()


def redis_storage(url: str, key_prefix: str) -> tuple[RedisStorage, aioredis.ConnectionPool]:
    """limits' Redis storage on a connection pool of ours (so that it can be closed)."""
    pool = aioredis.ConnectionPool.from_url(url)
    return RedisStorage("async+" + url, implementation="redispy", key_prefix=key_prefix,
                        connection_pool=pool), pool  # type: ignore[arg-type]  # passed to redis-py


def make_limits(settings: Settings, storage: Storage | None = None,
                clock: Callable[[], float] = time.time) -> AttemptLimits:
    """Redis-backed when several nodes run, memory otherwise (or ``storage``, e.g. a ClockedMemoryStorage)."""
    pool = None
    if storage is None and settings.redis_url:
        storage, pool = redis_storage(settings.redis_url, settings.redis_prefix + "limits")
    elif storage is None:
        storage = ClockedMemoryStorage(clock)
    return AttemptLimits(
        pool=pool,
        login=AttemptLimiter(storage, "login", settings.login_limit_per_address, settings.login_limit_per_account,
                             clock),
        enroll=AttemptLimiter(storage, "enroll", settings.enroll_limit_per_address,
                              settings.enroll_limit_per_kiosk, clock))
