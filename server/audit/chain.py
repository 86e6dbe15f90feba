"""The audit hash chain: the canonical encoding of a row, its hash, and appending rows under the chain lock.

Row ``seq`` stores ``prev_hash`` (the hash of row ``seq - 1``; :data:`GENESIS` before the first row, or the
checkpoint's hash after a purge) and ``hash = SHA-256(canonical(row) + prev_hash)``. The canonical encoding is
JSON with sorted keys and no spaces over ``seq``, ``at`` (UTC, ISO 8601 with microseconds), ``actor``, ``action``,
``subject``, ``detail`` and ``prev``; ``detail`` goes through a JSON round trip first, so that what is hashed is
exactly what the database gives back.

Appending is linear across server nodes: on PostgreSQL every appender takes one transaction-scoped advisory
lock (``pg_advisory_xact_lock``) before it reads the chain head, and holds it until its commit; on SQLite every
write transaction already holds the database's one write lock (``BEGIN IMMEDIATE``, server/db/session.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, text

from server.db.models import AuditCheckpoint, AuditEvent

GENESIS = "0" * 64
CHAIN_LOCK_KEY = 0x6D61646F67756368  # "madoguch": the advisory lock every appender takes on PostgreSQL


@dataclass(frozen=True)
class Entry:
    """An audit event waiting for its place in the chain (it gets ``seq`` and hashes at commit)."""

    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]


def normalise(detail: dict[str, Any]) -> dict[str, Any]:
    """What the JSON column will give back (tuples become lists, keys become strings)."""
    return json.loads(json.dumps(detail))  # type: ignore[no-any-return]


def canonical(seq: int, at: datetime, actor: str, action: str, subject: str, detail: dict[str, Any],
              prev_hash: str) -> bytes:
    body = {"seq": seq, "at": at.astimezone(UTC).isoformat(timespec="microseconds"), "actor": actor,
            "action": action, "subject": subject, "detail": detail, "prev": prev_hash}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def row_hash(seq: int, at: datetime, actor: str, action: str, subject: str, detail: dict[str, Any],
             prev_hash: str) -> str:
    return hashlib.sha256(canonical(seq, at, actor, action, subject, detail, prev_hash)).hexdigest()


def lock_chain(conn: Connection) -> None:
    """Serialise appenders (PostgreSQL); SQLite's write transaction is serial already."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})


def chain_head(conn: Connection) -> tuple[int, str]:
    """(seq, hash) of the newest row, or of the newest checkpoint when every row was purged, or (0, GENESIS)."""
    row = conn.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    if row is not None:
        return int(row[0]), str(row[1])
    cp = conn.execute(select(AuditCheckpoint.through_seq, AuditCheckpoint.hash)
                      .order_by(AuditCheckpoint.through_seq.desc()).limit(1)).first()
    return (int(cp[0]), str(cp[1])) if cp is not None else (0, GENESIS)


def append(conn: Connection, entries: list[Entry]) -> int:
    """Append ``entries`` in order at the head of the chain, in the caller's transaction. Returns the last seq."""
    lock_chain(conn)
    seq, prev = chain_head(conn)
    rows = []
    for e in entries:
        seq += 1
        h = row_hash(seq, e.at, e.actor, e.action, e.subject, e.detail, prev)
        rows.append({"seq": seq, "at": e.at, "actor": e.actor, "action": e.action, "subject": e.subject,
                     "detail": e.detail, "prev_hash": prev, "hash": h})
        prev = h
    conn.execute(insert(AuditEvent), rows)
    return seq


def row_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(AuditEvent)).scalar_one())
