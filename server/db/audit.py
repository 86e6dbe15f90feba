"""Append an audit event to the caller's transaction (committed with the change it records)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import AuditEvent


def audit(db: AsyncSession, actor: str, action: str, subject: str = "", **detail: Any) -> None:
    db.add(AuditEvent(actor=actor, action=action, subject=subject, detail=detail))
