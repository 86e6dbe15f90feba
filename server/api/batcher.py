"""Connects and disconnects that arrive in the same moment — a reconnect storm after a node died — run as
one queue step (one transaction, one lock) instead of one each: each caller still waits for its own."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Batcher(Generic[T]):
    def __init__(self, run: Callable[[list[T]], Awaitable[None]], limit: int = 200) -> None:
        self._run = run
        self._limit = limit
        self._items: list[tuple[T, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> None:
        """Run ``item`` with whatever else arrives meanwhile; returns once its batch is done (or raises)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._items.append((item, fut))
        if self._task is None:
            self._task = asyncio.create_task(self._drain())
        await fut

    async def _drain(self) -> None:
        try:
            while self._items:
                await asyncio.sleep(0)  # one turn of the loop: the sockets of this moment join the batch
                batch, self._items = self._items[: self._limit], self._items[self._limit:]
                try:
                    await self._run([item for item, _ in batch])
                except Exception as exc:
                    for _, fut in batch:
                        if not fut.done():
                            fut.set_exception(exc)
                else:
                    for _, fut in batch:
                        if not fut.done():
                            fut.set_result(None)
        finally:
            self._task = None
