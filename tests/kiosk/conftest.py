"""Kiosk window tests run on the same loop the kiosk runs on in production: qasync over a QApplication."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import qasync
from PySide6.QtWidgets import QApplication


def _qasync_loop() -> Any:
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)  # closing a test window must not stop the loop under the test
    return qasync.QEventLoop(app)


def pytest_asyncio_loop_factories(config: Any, item: Any) -> Mapping[str, Callable[[], Any]]:
    return {"qasync": _qasync_loop}
