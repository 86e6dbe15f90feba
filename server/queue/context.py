"""What every queue operation needs: DB sessions, settings, the hub, the metrics."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.base import utcnow
from server.db.models import AuditEvent
from server.metrics import Metrics
from server.settings import Settings
from signaling.hub import Hub


@dataclass
class LiveQuality:
    """Latest stats per session and side, kept in memory for the monitor."""

    by_session: dict[int, dict[str, dict[str, Any]]] = field(default_factory=dict)


@dataclass
class QueueContext:
    maker: async_sessionmaker[AsyncSession]
    settings: Settings
    hub: Hub
    metrics: Metrics
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    live: LiveQuality = field(default_factory=LiveQuality)
    pending_invites: set[tuple[int, int]] = field(default_factory=set)  # (session, staff)

    def now(self) -> datetime:
        return utcnow()


def audit(db: AsyncSession, actor: str, action: str, subject: str = "", **detail: Any) -> None:
    db.add(AuditEvent(actor=actor, action=action, subject=subject, detail=detail))
