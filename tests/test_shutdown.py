"""A node's stop always ends: a shutdown step that never finishes is named in the log and left behind."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import pytest
import uvicorn

from server.run import start_uvicorn
from signaling.tasks import every, within

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
BOUND_S = 60.0  # a failure bound only: every wait below ends in well under a second when the code is right


async def deaf_to_cancel(released: asyncio.Event) -> None:
    """Work that swallows every cancel (as a buggy library can) and ends only when released."""
    while not released.is_set():
        with contextlib.suppress(asyncio.CancelledError):
            await released.wait()


async def test_a_step_that_ignores_its_cancel_is_left_behind_and_named(caplog: pytest.LogCaptureFixture) -> None:
    released = asyncio.Event()
    async with asyncio.timeout(BOUND_S):
        assert await within(0.05, "leaving the cluster", deaf_to_cancel(released)) is False
    assert "leaving the cluster did not finish within 0.1 s" in caplog.text
    released.set()

    async def quick() -> None:
        return None

    assert await within(1.0, "a quick step", quick()) is True


async def test_a_failing_step_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    async def broken() -> None:
        raise OSError("redis went away")

    caplog.set_level(logging.ERROR)
    assert await within(1.0, "closing the attempt limits", broken()) is True
    assert "closing the attempt limits failed: OSError('redis went away')" in caplog.text


async def test_a_server_whose_application_never_finishes_its_shutdown_still_stops(
        caplog: pytest.LogCaptureFixture, unused_tcp_port: int) -> None:
    """The shape of a hang seen once in a loaded CI run: uvicorn waits for the application's lifespan shutdown
    without a bound, even after force_exit, so ``RunningServer.stop()`` waited until pytest-timeout's 300 s."""
    released, shutting_down = asyncio.Event(), asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "lifespan"
        assert (await receive())["type"] == "lifespan.startup"
        await send({"type": "lifespan.startup.complete"})
        assert (await receive())["type"] == "lifespan.shutdown"
        shutting_down.set()
        await deaf_to_cancel(released)
        await send({"type": "lifespan.shutdown.complete"})

    srv = await start_uvicorn(uvicorn.Config(app, port=unused_tcp_port, lifespan="on", log_config=None))
    try:
        async with asyncio.timeout(BOUND_S):
            # into the application's shutdown first: a stop whose grace ran out before it would skip it
            srv.server.should_exit = True
            await shutting_down.wait()
            await srv.stop(grace_s=0.2)
        assert srv.task.done()
        assert f"the server on port {srv.port} did not finish within 0.2 s" in caplog.text
    finally:
        released.set()  # the application's lifespan task ends too, before the loop closes


async def test_an_endless_loop_stops_even_when_its_cancel_was_lost_below_it() -> None:
    """Python 3.11's ``wait_for`` returns the result when the work ends in the same turn as the cancel (redis-py
    sends every command through it): the heartbeat below loses its cancel exactly so, and must stop anyway. (On
    Python 3.12 and later ``wait_for`` keeps the cancel and this passes by the ordinary path.)"""
    commands: asyncio.Queue[asyncio.Future[None]] = asyncio.Queue()
    beats = 0

    async def beat() -> None:
        nonlocal beats
        answer = asyncio.get_running_loop().create_future()
        commands.put_nowait(answer)
        await asyncio.wait_for(answer, 5.0)  # as redis-py's send with socket_timeout
        beats += 1

    task = asyncio.create_task(every(0.0, beat, logging.getLogger("test"), "beat failed"))  # the server's loop
    (await commands.get()).set_result(None)
    task.cancel()  # the same turn as the answer
    done, _ = await asyncio.wait([task], timeout=BOUND_S)
    assert task in done and task.cancelled()
    assert beats == (1 if sys.version_info < (3, 12) else 0)  # 3.11: the cancel was lost, one more turn ran
