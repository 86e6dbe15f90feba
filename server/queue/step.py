"""Everything one queue operation may read, and its outbox. An operation gets a Step, reads and writes
the database inside the step's transaction, appends to ``outbox``, and returns its typed reply; it
never sends anything itself.

``now`` is fixed for the whole step (one operation sees one instant); ``presence`` is a read-only view
of who is connected, taken just before the step; ``shared`` is the state that is not in the database
(pending invites and live call quality, shared by all nodes; what each kiosk was last told, per node).
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from server.db.audit import audit
from server.metrics import Metrics
from server.queue.outbox import Outbox
from server.settings import Settings


@dataclass(frozen=True)
class PresenceView:
    """Who is connected right now (kiosks and consoles), as peer names: read-only for the queue."""

    peers: Container[str] = frozenset()

    def is_connected(self, peer: str) -> bool:
        return peer in self.peers


class SharedStore(Protocol):
    """State that is not in the database but must be the same on every server node (server/cluster keeps it:
    in memory on one node, in Redis across several)."""

    async def add_invite(self, session_id: int, staff_id: int) -> None: ...
    async def take_invite(self, session_id: int, staff_id: int) -> bool: ...
    async def drop_invites(self, session_id: int) -> None: ...
    async def put_quality(self, session_id: int, side: str, stats: dict[str, Any]) -> None: ...
    async def drop_quality(self, session_id: int) -> None: ...


@dataclass
class Shared:
    store: SharedStore
    told: dict[int, tuple[str, int | None, float | None, datetime]] = field(default_factory=dict)
    # ticket -> (state, position, estimate, when) last pushed to its kiosk (by this node)
    refused_numbers: dict[int, list[datetime]] = field(default_factory=dict)
    # kiosk -> when it typed a reservation number that was refused (server/queue/appointments.py; this node's)


@dataclass
class Step:
    db: AsyncSession
    now: datetime
    settings: Settings
    presence: PresenceView
    metrics: Metrics
    shared: Shared
    outbox: Outbox = field(default_factory=Outbox)

    def audit(self, actor: str, action: str, subject: str = "", **detail: Any) -> None:
        audit(self.db, actor, action, subject, **detail)

    def send(self, peer: str, msg: Any) -> None:
        self.outbox.send(peer, msg)
