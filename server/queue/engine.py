"""Runs queue operations: one at a time, each in one transaction, then hands the outbox to the sink.

For every operation the engine takes the presence view from the sink, opens a transaction, gives the
operation a :class:`Step` (with one ``now`` from the injected clock), commits, calls ``reply`` with the
operation's reply (the websocket handler posts the ``ack`` there), and then has the sink deliver the
outbox in order — all under one lock, so what clients read follows the order in which the server
decided. An operation that changed the queue (``outbox.requeue``) is followed by one routing step that
also refreshes what kiosks and consoles see. :meth:`tick` applies the timers (offer timeout, kiosk grace,
silent calls, the shared-pool tier opening, waits counting down). The engine never touches a socket: the
sink does (server/delivery.py; tests use a recorder).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.models import CallSession, Staff, Ticket
from server.metrics import Metrics
from server.queue.appointments import appointment_timers
from server.queue.calls import end_silent_calls
from server.queue.clock import Clock
from server.queue.errors import NoSpecialist
from server.queue.outbox import Outbox, Send
from server.queue.queue_views import push_queue
from server.queue.step import PresenceView, Shared, SharedStore, Step
from server.queue.tickets import abandon_lost_kiosks, expire_offers, route
from server.settings import Settings

R = TypeVar("R")
WAITS_REFRESH_S = 5.0  # how often waiting kiosks' estimates are re-checked as time passes


class Sink(Protocol):
    async def presence(self) -> PresenceView: ...
    async def deliver(self, outbox: Outbox) -> None: ...


class QueueEngine:
    def __init__(self, maker: async_sessionmaker[AsyncSession], settings: Settings, clock: Clock,
                 metrics: Metrics, sink: Sink, store: SharedStore) -> None:
        self.maker, self.settings, self.clock, self.metrics, self.sink = maker, settings, clock, metrics, sink
        self.shared = Shared(store)
        self.lock = asyncio.Lock()
        self.generation = 0  # counts steps that changed something anyone sees (caches of this node key on it)
        self._waits_at: datetime | None = None

    async def run(self, op: Callable[..., Awaitable[R]], *args: Any,
                  reply: Callable[[BaseModel | None], None] | None = None) -> R:
        """Run ``op(step, *args)``; QueueError propagates (nothing committed, nothing sent), except
        NoSpecialist, which is committed (the demand is recorded) and raised after the delivery.

        When the operation changed the queue, the routing step that follows is committed before the reply
        is posted: an ``ack`` means that everything the request caused has been decided (a client that
        reads a report or the metrics after it sees the consequences); the pushes then follow in order."""
        async with self.lock:
            result, error, outbox = await self._step(op, args)
            outboxes = [outbox]
            if outbox.requeue:
                outboxes.append((await self._step(_requeue, ()))[2])
            if reply is not None and error is None:
                reply(result if isinstance(result, BaseModel) else None)
            for o in outboxes:
                await self.sink.deliver(o)
            if outbox.requeue or outbox.actions:
                self.generation += 1
        if error is not None:
            raise error
        return result  # type: ignore[no-any-return]

    async def tick(self) -> None:
        """Apply the timers once (the server calls this every half second; tests after advancing the clock)."""
        now = self.clock.now()
        refresh = self._waits_at is None or (now - self._waits_at).total_seconds() >= WAITS_REFRESH_S
        if refresh:
            self._waits_at = now
        async with self.lock:
            outbox = (await self._step(_tick, (refresh,)))[2]
            await self.sink.deliver(outbox)
            if any(not isinstance(a, Send) or getattr(a.msg, "type", "") != "ticket.update" for a in outbox.actions):
                self.generation += 1  # more than kiosks' waits counting down

    async def _step(self, op: Callable[..., Awaitable[Any]],
                    args: tuple[Any, ...]) -> tuple[Any, NoSpecialist | None, Outbox]:
        presence = await self.sink.presence()
        result: Any = None
        error: NoSpecialist | None = None
        async with self.maker() as db:
            async with db.begin():
                step = Step(db=db, now=self.clock.now(), settings=self.settings, presence=presence,
                            metrics=self.metrics, shared=self.shared)
                try:
                    result = await op(step, *args)
                except NoSpecialist as exc:
                    error = exc
        return result, error, step.outbox


async def _requeue(step: Step) -> None:
    await route(step)
    await push_queue(step, consoles=True)
    step.outbox.requeue = False


async def _tick(step: Step, refresh_waits: bool) -> None:
    await expire_offers(step)
    await abandon_lost_kiosks(step)
    await end_silent_calls(step)
    await appointment_timers(step)
    offered = await route(step)
    if step.outbox.requeue or offered:
        await push_queue(step, consoles=True)
    elif refresh_waits:
        await push_queue(step, consoles=False)
    step.outbox.requeue = False


async def recover_after_restart(step: Step) -> None:
    """One node, just started: nobody is connected yet. Outstanding offers go back; queued kiosks get their
    grace; live calls get a fresh media grace (nobody could report on them while the server was down)."""
    db, now = step.db, step.now
    await db.execute(update(Ticket).where(Ticket.state == "offered").values(
        state="waiting", offered_to_id=None, offered_at=None, offer_expires_at=None))
    await db.execute(update(Ticket).where(Ticket.state == "waiting", Ticket.disconnected_at.is_(None))
                     .values(disconnected_at=now))
    await db.execute(update(Staff).where(Staff.status.in_(("available", "away", "offered")))
                     .values(status="offline", status_reason=""))
    await db.execute(update(CallSession).where(CallSession.ended_at.is_(None)).values(media_seen_at=now))
