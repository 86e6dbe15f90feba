"""One retention run: every record type's expired rows purged, each type in its own transaction, and each purge
audited in that transaction (``retention.purged``: the counts, the cutoff, the period; never content)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.audit import audit_at
from server.retention.records import RECORD_TYPES

log = logging.getLogger("madoguchi.retention")


class RetentionConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    record_type: str
    days: int


def periods(retention_days: dict[str, int]) -> list[Period]:
    """The table of record type → period from the settings, checked: every record type needs one, and only
    known types may appear (a typo must not leave records kept for ever)."""
    unknown = sorted(set(retention_days) - set(RECORD_TYPES))
    if unknown:
        raise RetentionConfigError(f"MADOGUCHI_RETENTION_DAYS names unknown record types {unknown}; "
                                   f"known: {sorted(RECORD_TYPES)}")
    missing = [name for name in RECORD_TYPES if name not in retention_days]
    if missing:
        raise RetentionConfigError(f"MADOGUCHI_RETENTION_DAYS has no period for {missing}: every kind of personal "
                                   "record needs one")
    bad = {k: v for k, v in retention_days.items() if v < 1}
    if bad:
        raise RetentionConfigError(f"retention periods are whole days, at least 1: {bad}")
    return [Period(name, retention_days[name]) for name in RECORD_TYPES]


async def run_retention(maker: async_sessionmaker[AsyncSession], retention_days: dict[str, int], now: datetime,
                        actor: str = "system") -> dict[str, int]:
    """Purge what expired at ``now``. Returns the counts per table (zero counts included); a record type the
    database refuses (the audit log, to an application role without DELETE on it: README "Privacy") is left out of
    the counts, logged, and the other types are still purged."""
    counts: dict[str, int] = {}
    for period in periods(retention_days):
        cutoff = now - timedelta(days=period.days)
        try:
            async with maker() as db, db.begin():
                purged = await RECORD_TYPES[period.record_type].purge(db, cutoff, now)
                if any(purged.values()):
                    audit_at(db, now, actor, "retention.purged", period.record_type, **purged,
                             before=cutoff.isoformat(), days=period.days)
        except DBAPIError as exc:
            log.warning("retention: %s not purged, the database refused it (%s); an application role leaves the "
                        "audit log's purge to the owner: madoguchi retention run with the owner's database URL",
                        period.record_type, type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__)
            continue
        counts.update(purged)
        if any(purged.values()):
            log.info("retention: purged %s older than %d days: %s", period.record_type, period.days, purged)
    return counts
