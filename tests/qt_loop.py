"""The qasync loop for window tests: asyncio callbacks run only while the asyncio loop runs.

qasync dispatches every asyncio callback (``call_soon``, timers, socket readiness) as a Qt timer event. Qt
delivers those whenever anyone processes Qt events, also while the asyncio loop is *not* running: pytest-qt
calls ``QApplication.processEvents()`` after a test's setup, after its call and before its teardown, and
``qasync.QEventLoop.run_until_complete`` itself processes events once more after it has stopped. A server or
a client left running by an async fixture then has its callbacks run outside the loop; the first coroutine
step that asks for the loop (uvicorn's ``main_loop`` sleeping 0.1 s) gets "RuntimeError: no running event
loop", its task dies with it, and the fixture's teardown re-raises it when it stops uvicorn (DESIGN §9).

:class:`InLoopQEventLoop` keeps such callbacks back and hands them to the loop the next time it runs, in the
order they came due. Qt's own events (painting, deferred deletes) are untouched. Production runs one
``run_until_complete`` for the whole life of the program (:func:`signaling.qt.loop.run_app`), so it never
meets the gap.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Mapping
from typing import Any

import qasync
import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication


class InLoopQEventLoop(qasync.QEventLoop):  # type: ignore[misc]
    def __init__(self, app: QApplication) -> None:
        self.held: list[asyncio.Handle] = []  # came due while the loop was stopped; run first on the next run
        self.held_total = 0
        super().__init__(app)

    def _add_callback(self, handle: asyncio.Handle, delay: float = 0) -> asyncio.Handle:
        self._check_closed()  # as asyncio's loops do ("Event loop is closed"); qasync would start a timer anyway
        # the Qt timer runs a gate, not the callback; the caller keeps (and may cancel) its own handle
        super()._add_callback(asyncio.Handle(self._run_if_running, (handle,), self), delay)
        return handle

    def _run_if_running(self, handle: asyncio.Handle) -> None:
        if handle.cancelled():
            return
        if self.is_running():
            handle._run()
        else:
            self.held.append(handle)
            self.held_total += 1

    def run_forever(self) -> Any:
        held, self.held = self.held, []
        for handle in held:
            super()._add_callback(asyncio.Handle(self._run_if_running, (handle,), self), 0)
        return super().run_forever()

    def close(self) -> None:
        super().close()
        self.held.clear()
        # the QObject that owns the loop's Qt timers goes now, in this (the main) thread, with its timers: left to
        # the cyclic collector it may be freed from any thread that triggers a collection, and its timers would
        # stay registered here with a dangling receiver (see delete_widgets)
        if shiboken6.isValid(self._timer):
            shiboken6.delete(self._timer)


def delete_widgets() -> None:
    """Delete every top-level widget now, in the main thread, and collect the garbage here too.

    A Python-owned QObject left to the cyclic garbage collector may be freed from whatever thread triggers a
    collection (aiosqlite's, qasync's executor): its timers then stay registered on the main thread with a
    dangling receiver and the next tick crashes (seen as a segfault in QTimerInfoList::activateTimers)."""
    for w in QApplication.topLevelWidgets():
        w.close()
        w.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


def qasync_loop() -> asyncio.AbstractEventLoop:
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)  # closing a test window or dialog must not stop the loop under the test
    return InLoopQEventLoop(app)


def loop_factories() -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    """What a window-test folder's ``pytest_asyncio_loop_factories`` hook returns."""
    return {"qasync": qasync_loop}
