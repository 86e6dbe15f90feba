"""The window tests' qasync loop (tests/qt_loop.py): Qt events processed while the asyncio loop is stopped
(pytest-qt between a test's phases, qasync's own last pass in run_until_complete) run no asyncio callback."""

from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QApplication

from tests.qt_loop import qasync_loop


async def sleeper(log: list[str]) -> None:
    """What uvicorn's main loop does between ticks: a timed sleep, which asks for the running loop."""
    log.append("started")
    await asyncio.sleep(0.001)
    log.append("slept")


def test_callbacks_due_between_runs_wait_for_the_next_run() -> None:
    loop = qasync_loop()
    asyncio.set_event_loop(loop)
    try:
        log: list[str] = []
        task = loop.create_task(sleeper(log))  # its first step is scheduled, not run
        app = QApplication.instance()
        assert app is not None
        for _ in range(5):  # what pytest-qt does between a fixture's setup and the test
            app.processEvents()
        assert log == [] and not task.done(), "an asyncio callback ran while the loop was stopped"
        assert loop.held_total >= 1  # type: ignore[attr-defined]
        loop.run_until_complete(task)  # the next phase: the held step runs, inside the loop
        assert log == ["started", "slept"]
        task.result()
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def test_a_callback_cancelled_while_held_never_runs() -> None:
    loop = qasync_loop()
    asyncio.set_event_loop(loop)
    try:
        ran: list[int] = []
        handle = loop.call_soon(ran.append, 1)
        app = QApplication.instance()
        assert app is not None
        app.processEvents()
        handle.cancel()
        loop.run_until_complete(asyncio.sleep(0.01))
        assert ran == []
        loop.call_soon(ran.append, 2)
        loop.run_until_complete(asyncio.sleep(0.01))
        assert ran == [2]
    finally:
        asyncio.set_event_loop(None)
        loop.close()
