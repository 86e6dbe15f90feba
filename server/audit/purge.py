"""Retention for the audit log itself: delete the oldest prefix of the chain, leaving a checkpoint.

The purge removes rows 1..N only as a prefix (the oldest row still younger than the cutoff, and every row after
it, stays), in one transaction under the chain lock:

1. write a checkpoint (N, hash of row N, row count, time of the newest purged row),
2. write a permit naming N, the only thing the database guard (guard.py) lets a DELETE through with,
3. delete rows with ``seq <= N``, then the permit.

The first remaining row's ``prev_hash`` equals the checkpoint's hash, so ``audit verify`` walks on from there.
The caller audits the purge (counts only) in the same transaction: that row is appended after the purge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select

from server.audit.chain import lock_chain
from server.db.models import AuditCheckpoint, AuditEvent, AuditPurgePermit


@dataclass(frozen=True)
class AuditPurge:
    through_seq: int
    rows: int


def purge_before(conn: Connection, cutoff: datetime, now: datetime, actor: str) -> AuditPurge | None:
    """Purge the prefix of rows older than ``cutoff``; None when there is nothing to purge."""
    lock_chain(conn)
    last_cp = conn.execute(select(func.max(AuditCheckpoint.through_seq))).scalar_one_or_none() or 0
    first_kept = conn.execute(select(func.min(AuditEvent.seq)).where(AuditEvent.at >= cutoff)).scalar_one_or_none()
    if first_kept is None:
        first_kept = (conn.execute(select(func.max(AuditEvent.seq))).scalar_one_or_none() or last_cp) + 1
    through = int(first_kept) - 1
    if through <= last_cp:
        return None
    digest = conn.execute(select(AuditEvent.hash).where(AuditEvent.seq == through)).scalar_one()
    rows, last_at = conn.execute(select(func.count(), func.max(AuditEvent.at))
                                 .where(AuditEvent.seq <= through)).one()
    conn.execute(insert(AuditCheckpoint).values(at=now, through_seq=through, hash=digest, rows=rows,
                                                          last_at=last_at, actor=actor[:64]))
    conn.execute(insert(AuditPurgePermit).values(through_seq=through))
    conn.execute(delete(AuditEvent).where(AuditEvent.seq <= through))
    conn.execute(delete(AuditPurgePermit))
    return AuditPurge(through_seq=through, rows=int(rows))
