"""What the application holds for its routes and handlers: database, settings, clock, metrics, the queue
engine, the delivery (the hub behind it), the brute-force limits and the password-hashing pool."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.attempt_limits import AttemptLimits
from server.cluster import Cluster
from server.delivery import Delivery
from server.metrics import Metrics
from server.password_hashing import PasswordHashing
from server.queue.clock import Clock
from server.queue.engine import QueueEngine
from server.settings import Settings
from signaling.hub import Hub


@dataclass
class AppContext:
    maker: async_sessionmaker[AsyncSession]
    reader: async_sessionmaker[AsyncSession]  # lookups that change nothing (server.db.session.make_read_engine)
    settings: Settings
    metrics: Metrics
    clock: Clock
    engine: QueueEngine
    delivery: Delivery
    limits: AttemptLimits  # login and enrollment attempts (tests may swap in one on a manual clock)
    hashing: PasswordHashing

    @property
    def hub(self) -> Hub:
        return self.delivery.hub

    @property
    def cluster(self) -> Cluster:
        return self.delivery.cluster

    def now(self) -> datetime:
        return self.clock.now()
