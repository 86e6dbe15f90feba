"""A queue with no server: the real engine on a real database (SQLite file, or PostgreSQL), an injected
clock, and a recording sink in place of the hub. Tests drive it step by step and read back exactly
what would have gone on the wire, in order — no sockets, no sleeps."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from server.cluster import LocalCluster
from server.db.models import Branch, Kiosk, Staff, Ticket
from server.db.seed import seed_demo
from server.db.session import make_engine, make_sessionmaker
from server.metrics import Metrics
from server.migrate import upgrade_async
from server.queue import presence
from server.queue.clock import ManualClock
from server.queue.engine import QueueEngine
from server.queue.outbox import Action, Outbox, Send
from server.queue.step import PresenceView
from signaling.principal import Principal
from signaling.protocol.messages import StatusSet
from tests.support import make_settings, reset_pg

T0 = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)  # 09:00 in Hokkaido


@dataclass(frozen=True)
class Reply:
    """Marks where the reply went out among the frames."""

    peer: str
    msg: BaseModel | None


class Recorder:
    """The sink: who is connected (set by the test) and every action delivered, in order."""

    def __init__(self) -> None:
        self.connected: set[str] = set()
        self.log: list[Action | Reply] = []

    async def presence(self) -> PresenceView:
        return PresenceView(frozenset(self.connected))

    async def deliver(self, outbox: Outbox) -> None:
        self.log.extend(outbox.actions)


def frame(item: Action | Reply) -> tuple[str, str] | None:
    """(peer, type) of a frame; 'reply' for the reply; None for room changes."""
    if isinstance(item, Reply):
        return (item.peer, "reply")
    if isinstance(item, Send):
        return (item.peer, str(getattr(item.msg, "type", "")))
    return None


@dataclass
class World:
    engine: QueueEngine
    sink: Recorder
    clock: ManualClock
    staff_ids: dict[str, int] = field(default_factory=dict)
    _kiosks: int = 0

    # ------------------------------------------------------------ driving
    async def run(self, op: Callable[..., Awaitable[Any]], who: Principal, *args: Any) -> Any:
        """Run an operation as ``who``; the reply is logged where it was posted."""
        return await self.engine.run(op, who, *args, reply=lambda m: self.sink.log.append(Reply(who.peer, m)))

    async def tick(self, advance_s: float = 0.0) -> None:
        self.clock.advance(advance_s)
        await self.engine.tick()

    def take(self) -> list[tuple[str, str]]:
        """The frames since the last take, as (peer, type), in order."""
        out = [f for f in map(frame, self.sink.log) if f is not None]
        self.sink.log.clear()
        return out

    def take_msgs(self) -> list[tuple[str, Any]]:
        """The frames since the last take, as (peer, message); replies as (peer, reply model)."""
        out = [(i.peer, i.msg) for i in self.sink.log if isinstance(i, (Send, Reply))]
        self.sink.log.clear()
        return out

    # ------------------------------------------------------------ people
    async def staff(self, username: str, available: bool = False) -> Principal:
        async with self.engine.maker() as db:
            s = (await db.execute(select(Staff).where(Staff.username == username))).scalar_one()
            p = Principal("staff", s.id, s.role, s.display_name, s.municipality_id)
        self.sink.connected.add(p.peer)
        await self.engine.run(presence.staff_connected, p, False)
        if available:
            await self.run(presence.set_status, p, StatusSet(status="available"))
        self.take()
        return p

    async def kiosk(self, branch: str = "kitami-tokoro") -> Principal:
        async with self.engine.maker() as db, db.begin():
            b = (await db.execute(select(Branch).where(Branch.code == branch))).scalar_one()
            self._kiosks += 1
            k = Kiosk(branch_id=b.id, name=f"test-{self._kiosks}", credential_hash="x")
            db.add(k)
            await db.flush()
            p = Principal("kiosk", k.id, "kiosk", k.name, b.municipality_id)
        await self.connect(p)
        self.take()
        return p

    async def connect(self, p: Principal, resumed: bool = False) -> None:
        self.sink.connected.add(p.peer)
        if p.kind == "kiosk":
            await self.engine.run(presence.kiosk_connected, p, "test", resumed)
        else:
            await self.engine.run(presence.staff_connected, p, resumed)

    async def disconnect(self, p: Principal) -> None:
        self.sink.connected.discard(p.peer)
        if p.kind == "kiosk":
            await self.engine.run(presence.kiosk_disconnected, p)
        else:
            await self.engine.run(presence.staff_disconnected, p)

    async def ticket(self, tid: int) -> Ticket:
        async with self.engine.maker() as db:
            t = await db.get(Ticket, tid)
            assert t is not None
            return t

    async def staff_row(self, p: Principal) -> Staff:
        async with self.engine.maker() as db:
            s = await db.get(Staff, p.principal_id)
            assert s is not None
            return s


@asynccontextmanager
async def world(tmp: Path, backend: str, **overrides: Any) -> AsyncIterator[World]:
    settings = make_settings(tmp, backend, **overrides)
    if backend == "pg":
        await reset_pg(settings.database_url)
    await upgrade_async(settings.database_url)
    db_engine = make_engine(settings.database_url)
    maker = make_sessionmaker(db_engine)
    async with maker() as db, db.begin():
        await seed_demo(db)
    clock = ManualClock(T0)
    sink = Recorder()
    try:
        yield World(QueueEngine(maker, settings, clock, Metrics(), sink, LocalCluster()), sink, clock)
    finally:
        await db_engine.dispose()
