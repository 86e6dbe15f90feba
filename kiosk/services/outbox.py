"""Reports the server must get even when it cannot be reached at the moment: kept, on disk, until it has them.

A kiosk ends a call by itself when the server cannot hear it (the resident hangs up, the specialist's
console says ``bye`` on the data channel, or the media stays dead past the grace), and the resident may
give feedback meanwhile. Those facts go into the outbox and are sent, in order, once the kiosk is
online again (:meth:`Outbox.flush`): ``session.end``, ``call.media {failed}``, ``feedback.submit``.

Delivery: a report leaves the outbox when the server acknowledged it, or refused it with an ``error``
(it heard it: the session had already ended, the feedback was already given...). It stays when the
connection is missing (``NotConnected``), and survives a restart of the kiosk program: the file holds
only session and ticket numbers, ratings and a yes/no, nothing that names the resident.

Errors: none of its own; a file that cannot be read is logged and started afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from signaling.client import NotConnected, RequestFailed
from signaling.protocol.messages import CallMedia, FeedbackSubmit, SessionEnd

log = logging.getLogger("madoguchi.kiosk.outbox")
ReportKind = Literal["session_end", "media_failed", "feedback"]


@dataclass(frozen=True)
class Report:
    kind: ReportKind
    session_id: int
    ticket_id: int | None = None
    rating: int | None = None
    saved_trip: bool | None = None
    reason: Literal["resident_hangup", "staff_hangup"] | None = None  # session_end: who ended it

    def message(self) -> BaseModel:
        """The wire request (a fresh id on each attempt)."""
        if self.kind == "session_end":
            return SessionEnd(session_id=self.session_id, reason=self.reason)
        if self.kind == "media_failed":
            return CallMedia(session_id=self.session_id, state="failed")
        assert self.rating is not None
        return FeedbackSubmit(session_id=self.session_id, rating=self.rating, saved_trip=self.saved_trip)


Outcome = RequestFailed | None  # None: acknowledged


class Outbox:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._items: list[Report] = self._load()
        self._lock = asyncio.Lock()

    @property
    def pending(self) -> list[Report]:
        return list(self._items)

    def __contains__(self, report: object) -> bool:
        return report in self._items

    def add(self, report: Report) -> None:
        if report not in self._items:
            self._items.append(report)
            self._save()

    async def flush(self, send: Callable[[BaseModel], Awaitable[object]]) -> list[tuple[Report, Outcome]]:
        """Send what is pending, oldest first; stops at the first report the connection could not carry."""
        done: list[tuple[Report, Outcome]] = []
        async with self._lock:
            for report in list(self._items):
                outcome: Outcome = None
                try:
                    await send(report.message())
                except NotConnected:
                    break
                except RequestFailed as exc:  # heard and refused (already ended, already rated...): done with it
                    log.info("server refused the kept %s for session %d: %s", report.kind, report.session_id, exc)
                    outcome = exc
                self._items.remove(report)
                self._save()
                done.append((report, outcome))
        return done

    # ------------------------------------------------------------ file
    def _load(self) -> list[Report]:
        if self.path is None or not self.path.exists():
            return []
        try:
            return [Report(**item) for item in json.loads(self.path.read_text(encoding="utf-8"))]
        except (OSError, ValueError, TypeError) as exc:
            log.warning("outbox %s unreadable, starting afresh: %s", self.path, exc)
            return []

    def _save(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump([asdict(r) for r in self._items], f)
            os.replace(tmp, self.path)
        except OSError as exc:  # a full or read-only disk: keep the reports in memory at least
            log.warning("outbox %s not saved: %s", self.path, exc)
            with contextlib.suppress(OSError):
                os.unlink(self.path.with_name(self.path.name + ".tmp"))
