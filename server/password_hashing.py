"""argon2 off the event loop, in a bounded pool.

argon2 costs ~0.13 s of CPU per check here. argon2-cffi releases the GIL while it hashes, so one thread per
core keeps the cores busy and the loop free (more threads would only queue in the kernel and hold 64 MiB
each). The queue in front of the threads is bounded (``MADOGUCHI_HASH_QUEUE``): when that many checks are
already waiting, the next one is refused at once (:class:`HashingBusy`, HTTP 503 with ``Retry-After``)
instead of piling up memory and latency for every honest login behind a flood.

A check without an account (unknown or disabled username) runs against a dummy hash made at start, so both
answers cost one argon2 verification: the time does not tell which usernames exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from server.auth import hash_secret, verify_secret

HASH_NICE = 10  # the hashing threads yield the CPU to the event loop (default of MADOGUCHI_HASH_NICE)


def _lower_priority(nice: int) -> None:
    """Run this pool thread at a lower CPU priority. argon2 hashes with 4 lanes, each in a thread of its own
    that inherits this priority: at nice 0 a flood of logins takes both cores from the event loop (measured:
    signaling ping p99 66-91 ms instead of 7 ms, bench/login_flood.py). Not 19: beside two busy processes at
    nice 0 a nice-19 thread gets ~1.5 % of a core, one 0.13 s check then takes ~9 s and every sign-in times
    out (seen on the shared CI machine); nice 10 gets ~10 %. Linux: a thread is a task of its own."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)


class HashingBusy(Exception):
    """Too many password checks are waiting: try again shortly."""


class PasswordHashing:
    def __init__(self, max_waiting: int, threads: int | None = None, nice: int = HASH_NICE) -> None:
        self.threads = threads or max(1, os.cpu_count() or 1)
        self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="argon2",
                                        initializer=_lower_priority, initargs=(nice,))
        self._slots = self.threads + max_waiting  # running + waiting
        self._in_use = 0
        self._dummy: str | None = None
        self.verifications = 0  # argon2 verifications run (known and unknown accounts alike)

    async def _run(self, fn: object, *args: str | None) -> object:
        if self._in_use >= self._slots:
            raise HashingBusy("too many password checks at once")
        self._in_use += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)  # type: ignore[arg-type]
        finally:
            self._in_use -= 1

    async def hash(self, secret: str) -> str:
        return str(await self._run(hash_secret, secret))

    async def verify(self, hashed: str | None, secret: str) -> bool:
        """Check ``secret`` against ``hashed``; without a hash, against the dummy one (as slow), and False."""
        if hashed is None:
            if self._dummy is None:
                self._dummy = await self.hash("no such account")
            self.verifications += 1
            await self._run(verify_secret, self._dummy, secret)
            return False
        self.verifications += 1
        return bool(await self._run(verify_secret, hashed, secret))

    async def warm_up(self) -> None:
        """Make the dummy hash now, so the first unknown username is not slower than a known one."""
        if self._dummy is None:
            self._dummy = await self.hash("no such account")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
