"""Qt and asyncio on one loop through qasync (PySide6.QtAsyncio cannot run aiortc's UDP sockets).

PySide6 6.12.0 on Python 3.11 aborts under qasync within about a minute of media (DESIGN §9);
:func:`check_qt_version` refuses that combination at start-up instead of crashing mid-call.
"""

from __future__ import annotations

import asyncio
import contextlib
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
        return int(loop.run_until_complete(main(app)))


def stop_on_signals(stop: Callable[[], None]) -> None:
    """SIGTERM (a service manager stopping the program) and SIGINT call ``stop`` on the running loop, so the
    program ends its call, closes its connection and exits 0 instead of dying mid-way."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError):  # not on Windows' loop
            loop.add_signal_handler(sig, stop)


def log_screen_shown(name: str) -> None:
    """The one line a program logs when a screen becomes visible to its user (``screen shown: welcome``): IT reads
    it in the journal, and the packaged-program tests wait for it (tests/packaging)."""
    log.info("screen shown: %s", name)
