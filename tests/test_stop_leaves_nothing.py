"""A program part's stop leaves nothing of it running.

A task only cancelled runs on until the loop next steps it; if the loop never does (the program, or a test's
loop, ends there), it is destroyed half-way. Seen in a loaded CI run: a console left running after its test
went on renewing its token at the stopped server, the loop ended in the middle of one of those HTTP connects,
and anyio's connect attempt, spawned but not yet started, was reported as "coroutine ... never awaited"."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import pytest

from signaling.tasks import cancel_all
from tests.integration.calls import staff_controller
from tests.support import WAIT_S, make_settings, server_env


async def test_cancel_all_returns_when_every_task_has_stopped_even_one_not_yet_started() -> None:
    release, waiting = asyncio.Event(), asyncio.Event()

    async def wait() -> None:
        waiting.set()
        await release.wait()

    started = asyncio.create_task(wait())
    await waiting.wait()
    unstarted = asyncio.create_task(release.wait())
    await cancel_all({started, unstarted})
    assert started.cancelled() and unstarted.cancelled()


async def test_cancel_all_spares_its_caller_and_logs_what_a_task_raised_on_its_way_out(
        caplog: pytest.LogCaptureFixture) -> None:
    waiting = asyncio.Event()

    async def fails_when_cancelled() -> None:
        try:
            waiting.set()
            await asyncio.Event().wait()
        finally:
            raise RuntimeError("broken cleanup")

    async def stopper(tasks: set[asyncio.Task[None]]) -> str:
        me = asyncio.current_task()
        assert me is not None
        tasks.add(me)  # type: ignore[arg-type]
        await cancel_all(tasks)
        return "still running"

    failing = asyncio.create_task(fails_when_cancelled())
    await waiting.wait()
    async with asyncio.timeout(WAIT_S):
        assert await stopper({failing}) == "still running"
    assert failing.done() and "broken cleanup" in caplog.text


async def test_a_stopped_console_has_no_task_left(tmp_path: Path) -> None:
    async with server_env(make_settings(tmp_path)) as env:
        ctl = await staff_controller(env, "sato", media_source="none")
        never, waiting = threading.Event(), asyncio.Event()

        async def renewal() -> None:  # as a token renewal whose connect must still close a socket in a thread
            try:
                waiting.set()
                await asyncio.Event().wait()
            finally:
                await asyncio.to_thread(never.wait, 1.0)  # an unwinding that takes many turns of the loop

        ctl._spawn(renewal())
        tasks = set(ctl._tasks)
        await waiting.wait()  # under way
        await ctl.stop()
        assert all(t.done() for t in tasks) and not ctl._tasks


async def test_the_test_server_stops_the_controllers_made_for_it_first(tmp_path: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with server_env(make_settings(tmp_path)) as env:
        ctl = await staff_controller(env, "sato", media_source="none")
        assert ctl.client is not None and ctl.client.state == "online"
    # not left reconnecting (and renewing its token over HTTP) to the stopped server until the loop ends
    assert ctl.client.state == "closed"
