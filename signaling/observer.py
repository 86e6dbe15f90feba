"""A tiny synchronous event emitter: controllers emit, views (or the headless CLI) listen.

The Qt layer bridges these events to Qt signals, so controllers need no Qt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

log = logging.getLogger("madoguchi.events")
Listener = Callable[[dict[str, Any]], None]


class Emitter:
    def __init__(self) -> None:
        self._listeners: dict[str, list[Listener]] = defaultdict(list)
        self._any: list[Callable[[str, dict[str, Any]], None]] = []

    def on(self, event: str, listener: Listener) -> None:
        self._listeners[event].append(listener)

    def on_any(self, listener: Callable[[str, dict[str, Any]], None]) -> None:
        self._any.append(listener)

    def emit(self, event: str, payload: dict[str, Any] | None = None) -> None:
        data = payload or {}
        for listener in list(self._listeners.get(event, [])):
            try:
                listener(data)
            except Exception:
                log.exception("listener for %s failed", event)
        for any_listener in list(self._any):
            try:
                any_listener(event, data)
            except Exception:
                log.exception("listener for %s failed", event)


async def wait_for(
    emitter: Emitter, event: str, timeout: float, predicate: Callable[[dict[str, Any]], bool] | None = None
) -> dict[str, Any]:
    """Await the next ``event`` (optionally one matching ``predicate``). For headless runners and tests."""
    fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    def listener(data: dict[str, Any]) -> None:
        if not fut.done() and (predicate is None or predicate(data)):
            fut.set_result(data)

    emitter.on(event, listener)
    try:
        return await asyncio.wait_for(fut, timeout)
    finally:
        with contextlib.suppress(ValueError):
            emitter._listeners[event].remove(listener)
