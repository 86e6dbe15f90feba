"""Requests that arrive in the same moment — a reconnect storm after a node died — done as one piece of work
(one transaction, one lock, one round of queries) instead of one each: each caller still waits for, and gets,
its own result."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    """``run`` takes the items of one moment and returns one result per item, in order."""

    def __init__(self, run: Callable[[list[T]], Awaitable[Sequence[R]]], limit: int = 200) -> None:
        self._run = run
        self._limit = limit
        self._items: list[tuple[T, asyncio.Future[R]]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """Run ``item`` with whatever else arrives meanwhile; returns its result once its batch is done (or
        raises what the batch raised)."""
        fut: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._items.append((item, fut))
        if self._task is None:
            self._task = asyncio.create_task(self._drain())
        return await fut

    async def _drain(self) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            while self._items:
                await asyncio.sleep(0)  # one turn of the loop: the sockets of this moment join the batch
                batch, self._items = self._items[: self._limit], self._items[self._limit:]
                try:
                    results = await self._run([item for item, _ in batch])
                    if len(results) != len(batch):
                        raise RuntimeError(f"a batch of {len(batch)} gave {len(results)} results")
                except Exception as exc:
                    for _, fut in batch:
                        if not fut.done():
                            fut.set_exception(exc)
                else:
                    for (_, fut), result in zip(batch, results, strict=True):
                        if not fut.done():
                            fut.set_result(result)
        except BaseException:  # cancelled (the loop is closing): nobody will run these, so nobody may wait for them
            left, self._items = batch + self._items, []
            for _, fut in left:
                if not fut.done():
                    fut.set_exception(RuntimeError("the batch was cancelled before it was done"))
            raise
        finally:
            self._task = None


def for_each(run: Callable[[list[T]], Awaitable[object]]) -> Callable[[list[T]], Awaitable[list[None]]]:
    """Adapts a batch operation that has no per-item result (it succeeds or fails as a whole)."""
    async def run_all(batch: list[T]) -> list[None]:
        await run(batch)
        return [None] * len(batch)
    return run_all
