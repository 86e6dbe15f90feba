"""``kill -USR1`` a kiosk or console: its asyncio tasks (with where each waits) and its threads' stacks go into
its log, for IT (and the packaged-app tests) when a program seems stuck or does not quit."""

from __future__ import annotations

import asyncio
import logging
import signal

import pytest

from signaling.qt.loop import dump_state, stop_on_signals


async def test_the_dump_names_every_task_where_it_waits_and_every_thread(
        caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.WARNING, logger="madoguchi.qt")
    parked, waiting = asyncio.Event(), asyncio.Event()

    async def waiting_for_the_server() -> None:
        waiting.set()
        await parked.wait()

    task = asyncio.create_task(waiting_for_the_server())
    await waiting.wait()
    dump_state()
    parked.set()
    await task
    assert "state dump:" in caplog.text and "asyncio tasks" in caplog.text
    assert "waiting_for_the_server" in caplog.text and "await parked.wait()" in caplog.text
    assert "most recent call first" in capfd.readouterr().err  # the threads' stacks (faulthandler)


async def test_the_programs_answer_usr1_term_and_int() -> None:
    loop = asyncio.get_running_loop()
    stop_on_signals(lambda: None)
    assert [loop.remove_signal_handler(s) for s in (signal.SIGUSR1, signal.SIGTERM, signal.SIGINT)] == [True] * 3
