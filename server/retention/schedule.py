"""The retention run inside the server: at start-up and then every ``MADOGUCHI_RETENTION_RUN_S`` (a day) on the
injected clock; the server's tick loop calls :meth:`RetentionSchedule.tick`. Several nodes may each run it: the
deletes are idempotent and the audit purge takes the chain lock."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.queue.clock import Clock
from server.retention.run import periods, run_retention

log = logging.getLogger("madoguchi.retention")


class RetentionSchedule:
    def __init__(self, maker: async_sessionmaker[AsyncSession], retention_days: dict[str, int], every_s: float,
                 clock: Clock) -> None:
        periods(retention_days)  # a bad table stops the server at start, not at the first run
        self.maker, self.retention_days, self.clock = maker, dict(retention_days), clock
        self.every = timedelta(seconds=every_s)
        self.next_at: datetime | None = None  # None: run at the first tick
        self.runs = 0

    async def tick(self) -> dict[str, int] | None:
        """Run if due; returns the counts of a run, None when none was due."""
        if self.every <= timedelta(0):
            return None
        now = self.clock.now()
        if self.next_at is not None and now < self.next_at:
            return None
        self.next_at = now + self.every
        try:
            counts = await run_retention(self.maker, self.retention_days, now)
        except Exception:
            log.exception("retention run failed; next at %s", self.next_at.isoformat())
            return None
        self.runs += 1
        return counts
