"""Qt and asyncio on one loop through qasync (PySide6.QtAsyncio cannot run aiortc's UDP sockets).

PySide6 6.12.0 on Python 3.11 aborts under qasync within about a minute of media (DESIGN §9);
:func:`check_qt_version` refuses that combination at start-up instead of crashing mid-call.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable

import PySide6
import qasync
from PySide6.QtWidgets import QApplication


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
