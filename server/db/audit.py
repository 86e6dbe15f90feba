"""Append an audit event to the caller's transaction (committed with the change it records).

:func:`audit` only queues the event on the ORM session; when that session's transaction commits, the queued
events are appended to the hash chain (server/audit/chain.py) after everything else was flushed, so the chain
lock is held only for the last moment of the transaction (it never waits for a row lock while holding it).
A transaction that rolls back drops its events with it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from server.audit.chain import Entry, append, normalise
from server.db.base import utcnow

PENDING = "madoguchi.audit_pending"


def audit(db: AsyncSession | Session, actor: str, action: str, subject: str = "", **detail: Any) -> None:
    audit_at(db, utcnow(), actor, action, subject, **detail)


def audit_at(db: AsyncSession | Session, at: datetime, actor: str, action: str, subject: str = "",
             **detail: Any) -> None:
    """:func:`audit` with the event's time given (an injected clock's, or a test's)."""
    session = db.sync_session if isinstance(db, AsyncSession) else db
    entry = Entry(at=at, actor=actor[:64], action=action[:64], subject=subject[:64], detail=normalise(detail))
    session.info.setdefault(PENDING, []).append(entry)


@event.listens_for(Session, "before_commit")
def _append_to_chain(session: Session) -> None:
    entries: list[Entry] | None = session.info.pop(PENDING, None)
    if not entries:
        return
    session.flush()  # every other change first: the chain lock is the last lock this transaction takes
    append(session.connection(), entries)


@event.listens_for(Session, "after_transaction_end")
def _drop_unwritten(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None and not transaction.nested:
        session.info.pop(PENDING, None)  # rolled back or closed without a commit
