"""Small asyncio helpers shared by the programs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` (if any and still running) and wait until it has stopped."""
    if task is None or task.done():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def cancel_all(tasks: Iterable[asyncio.Future[Any]]) -> None:
    """Cancel every one of ``tasks`` still running (never the caller's own task) and wait until all have stopped.

    A program part's ``stop()``/``close()`` calls this so that, when it returns, nothing of the part runs on: a
    task only cancelled goes on until the loop next runs it, and one the loop never runs again (the program or
    test ends there) is destroyed half-way, with whatever it had begun (an HTTP connect's own tasks) unfinished.
    A cancel of the caller while it waits is not swallowed. What a task raised on its way out is logged."""
    me = asyncio.current_task()
    waiting = [t for t in tasks if t is not me and not t.done()]
    for task in waiting:
        task.cancel()
    if waiting:
        await asyncio.wait(waiting)
    for task in waiting:
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("task %r failed while stopping: %r", task, exc)


def stop_if_cancelled() -> None:
    """Call at the head of every turn of a task's endless loop: if its cancel has been asked for, it stops here.

    A cancel can be lost below the loop. Python 3.11's ``asyncio.wait_for`` returns the result instead of raising
    when the work ends in the same turn of the event loop as the cancel (gh-86296, fixed in 3.12), and redis-py
    sends every command through it when ``socket_timeout`` is set. A node's queue tick and cluster heartbeat lost
    their cancel that way under load, ran on, and held the node's shutdown until pytest-timeout's 300 s. The
    task's cancel request is still counted (``Task.cancelling()``), so the next turn can honour it.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def every(period_s: float, step: Callable[[], Awaitable[Any]], logger: logging.Logger, failed: str,
                *args: object) -> None:
    """Run ``step`` every ``period_s`` for ever; its errors are logged (``failed`` % ``args``) and the loop goes on.
    Stops at the head of a turn whose cancel was asked for, even one lost below it (:func:`stop_if_cancelled`)."""
    while True:
        stop_if_cancelled()
        await asyncio.sleep(period_s)
        try:
            await step()
        except Exception:
            logger.exception(failed, *args)


async def within(timeout_s: float, what: str, work: Awaitable[Any]) -> bool:
    """Wait for ``work`` at most ``timeout_s``; past it cancel it, log ``what`` overran, and return False.

    For shutdown steps: a step that never ends (a task that swallows its cancel, a peer that never answers) is
    named in the log and left behind instead of holding the whole shutdown. Unlike ``asyncio.timeout`` around
    an ``await``, this returns even when the work ignores its cancel. Its own errors are logged, not raised.
    """
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait([task], timeout=timeout_s)
    if not done:
        task.cancel()
        log.error("%s did not finish within %.1f s; going on without it", what, timeout_s)
        return False
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("%s failed: %r", what, exc)
    return True
