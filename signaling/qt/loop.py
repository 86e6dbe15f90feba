"""Qt and asyncio on one loop through qasync (PySide6.QtAsyncio cannot run aiortc's UDP sockets).

PySide6 6.12.0 on Python 3.11 aborts under qasync within about a minute of media (DESIGN §9);
:func:`check_qt_version` refuses that combination at start-up instead of crashing mid-call.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import io
import logging
import signal
import sys
from collections.abc import Awaitable, Callable

import PySide6
import qasync
from PySide6.QtWidgets import QApplication

log = logging.getLogger("madoguchi.qt")


class UnsafeQtVersion(RuntimeError):
    pass


def check_qt_version() -> None:
    if sys.version_info < (3, 12) and PySide6.__version__.startswith("6.12.0"):
        raise UnsafeQtVersion("PySide6 6.12.0 on Python 3.11 crashes under qasync; install PySide6<6.12 "
                              "or use Python 3.12+")


def run_app(main: Callable[[QApplication], Awaitable[int]], argv: list[str] | None = None) -> int:
    """Create the QApplication, run ``main(app)`` on the qasync loop, return its exit code."""
    check_qt_version()
    app = QApplication.instance() or QApplication(argv or sys.argv)
    assert isinstance(app, QApplication)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        code = int(loop.run_until_complete(main(app)))
        log.info("stopped (exit code %d); closing the event loop", code)
    log.info("event loop closed")
    return code


def stop_on_signals(stop: Callable[[], None]) -> None:
    """SIGTERM (a service manager stopping the program) and SIGINT call ``stop`` on the running loop, so the
    program ends its call, closes its connection and exits 0 instead of dying mid-way."""
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        log.info("%s: stopping", sig.name)
        stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError):  # not on Windows' loop
            loop.add_signal_handler(sig, on_signal, sig)
    with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError):  # no SIGUSR1 on Windows
        loop.add_signal_handler(signal.SIGUSR1, dump_state)


def dump_state() -> None:
    """SIGUSR1 (``kill -USR1 <pid>``): write what the program is doing into its log, for IT looking at one that
    seems stuck or does not quit: every asyncio task with where it waits, then every thread's Python stack.
    Code locations only: no variable, message or frame is written."""
    tasks = asyncio.all_tasks()
    parts = [f"state dump: {len(tasks)} asyncio tasks"]
    for task in tasks:
        buf = io.StringIO()
        task.print_stack(limit=6, file=buf)
        parts.append(buf.getvalue().rstrip())
    log.warning("\n".join(parts))
    with contextlib.suppress(ValueError, OSError, AttributeError, io.UnsupportedOperation):  # no stderr (a GUI
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)                      # program on Windows)


def log_screen_shown(name: str) -> None:
    """The one line a program logs when a screen becomes visible to its user (``screen shown: welcome``): IT reads
    it in the journal, and the packaged-program tests wait for it (tests/packaging)."""
    log.info("screen shown: %s", name)
