"""Alert delivery beyond the page: raise and clear events, deduplicated, handed to the senders.

Every ``alert_check_s`` the server builds the monitor snapshot and compares its alert keys with the previous
evaluation: a key that appears is one ``raised`` event, a key that disappears one ``cleared`` event — one
message per raise and one per clear, never one per report or per evaluation. Events go to each configured
channel's own queue (:mod:`server.monitor.alert_senders`), whose worker sends, retries with backoff and logs a
failure once; the evaluation never waits for a send.

Several server nodes: every node runs the watch, but only the holder of the cluster lease ``alerts`` (Redis,
renewed at each evaluation, lapsing after three intervals but not under 10 s) evaluates and sends, so the
region sends each message once. A node that takes the lease over starts from an empty picture: it sends
``raised`` again for the alerts still standing (as after a restart), never a duplicate ``cleared``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from server.settings import Settings
from signaling.protocol.monitor import Alert, Snapshot
from signaling.tasks import stop_if_cancelled

log = logging.getLogger("madoguchi.alerts")


@dataclass(frozen=True)
class AlertEvent:
    event: Literal["raised", "cleared"]
    alert: Alert  # for a clear: the alert as it last stood
    at: datetime
    id: str  # unique per event: receivers may use it to drop a retried duplicate


class AlertDiff:
    """Remembers the alerts of the last evaluation; :meth:`update` returns what was raised and cleared since."""

    def __init__(self) -> None:
        self.current: dict[str, Alert] = {}

    def update(self, alerts: list[Alert], at: datetime) -> list[AlertEvent]:
        now = {a.key: a for a in alerts}
        events = [AlertEvent("raised", a, at, uuid.uuid4().hex) for k, a in now.items() if k not in self.current]
        events += [AlertEvent("cleared", a, at, uuid.uuid4().hex) for k, a in self.current.items() if k not in now]
        self.current = now
        return events


class Sender:
    """One delivery channel: ``send`` raises on failure (then the event is retried)."""

    name: str

    async def send(self, event: AlertEvent) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        """Release what the channel holds (an HTTP client)."""


class Outlet:
    """A channel's queue and worker: events in order, each retried with backoff until delivered."""

    def __init__(self, sender: Sender, settings: Settings,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.sender = sender
        self.base_s, self.max_s = settings.alert_retry_base_s, settings.alert_retry_max_s
        self.sleep = sleep
        self.queue: asyncio.Queue[AlertEvent] = asyncio.Queue()
        self.delivered = 0
        self.failures = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"alerts-{self.sender.name}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.sender.close()

    async def _run(self) -> None:
        while True:
            stop_if_cancelled()
            event = await self.queue.get()
            delay, failed = self.base_s, False
            while True:
                try:
                    await self.sender.send(event)
                except Exception as exc:  # network, HTTP status, SMTP: all retried
                    stop_if_cancelled()
                    self.failures += 1
                    if not failed:  # once per event, not per attempt
                        log.warning("alert %s %s via %s failed (%s: %s); retrying with backoff up to %.0f s",
                                    event.event, event.alert.key, self.sender.name, type(exc).__name__,
                                    str(exc)[:200], self.max_s)
                    failed = True
                    await self.sleep(delay)
                    delay = min(delay * 2, self.max_s)
                    continue
                self.delivered += 1
                if failed:
                    log.info("alert %s %s via %s delivered after retries", event.event, event.alert.key,
                             self.sender.name)
                break


class AlertWatch:
    """Evaluate, diff, enqueue. ``evaluate`` is awaited by the loop (or by a test, on its own schedule)."""

    def __init__(self, snapshot: Callable[[], Awaitable[Snapshot]], outlets: list[Outlet],
                 lease: Callable[[], Awaitable[bool]] | None = None) -> None:
        self.snapshot = snapshot
        self.outlets = outlets
        self.lease = lease  # None: this node alone sends
        self.diff = AlertDiff()
        self.leading = lease is None

    async def evaluate(self) -> list[AlertEvent]:
        snap = await self.snapshot()
        events = self.diff.update(snap.alerts, snap.at)
        for event in events:
            for outlet in self.outlets:
                outlet.queue.put_nowait(event)
        return events

    async def _lead(self) -> bool:
        if self.lease is None:
            return True
        held = await self.lease()
        if held != self.leading:
            log.info("alert delivery %s on this node", "taken over" if held else "handed over")
            if not held:
                self.diff = AlertDiff()  # whoever leads next sends from its own picture
        self.leading = held
        return held

    async def run(self, interval_s: float) -> None:
        for outlet in self.outlets:
            outlet.start()
        try:
            while True:
                stop_if_cancelled()
                try:
                    if await self._lead():
                        await self.evaluate()
                except Exception:
                    log.exception("alert evaluation failed")
                await asyncio.sleep(interval_s)
        finally:
            for outlet in self.outlets:
                await outlet.close()
