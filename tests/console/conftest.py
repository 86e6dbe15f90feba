"""Console tests run on the loop the console runs on: qasync over a QApplication (Qt and asyncio together),
against a real server (uvicorn, SQLite) with real headless kiosks and real aiortc media (320x240)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from staff_console.controller import StaffController
from staff_console.ui import style
from staff_console.ui.text import Texts
from staff_console.ui.window import ConsoleWindow
from tests.qt_loop import delete_widgets, loop_factories
from tests.support import Env, make_settings, server_env


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> Mapping[str, Callable[[], Any]]:
    return loop_factories()  # qasync, with asyncio callbacks kept inside the running loop (tests/qt_loop.py)


class Windows:
    """Console windows opened by a test, and other parts to stop; all closed at the end."""

    def __init__(self) -> None:
        self.opened: list[tuple[ConsoleWindow, StaffController]] = []
        self.parts: list[Any] = []

    def track(self, *parts: Any) -> None:
        """Kiosk or console controllers to stop at the end (anything with ``async stop()``)."""
        self.parts.extend(parts)

    def open(self, ctl: StaffController, language: str = "ja") -> ConsoleWindow:
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        style.apply(app)
        win = ConsoleWindow(ctl, Texts(language))
        win.resize(1360, 860)
        win.show()
        self.opened.append((win, ctl))
        return win

    async def close(self) -> None:
        for win, _ctl in self.opened:
            win.close()
        for part in [*self.parts, *(ctl for _w, ctl in self.opened)]:
            with contextlib.suppress(Exception):
                await part.stop()
        delete_widgets()
        await asyncio.sleep(0)


@contextlib.asynccontextmanager
async def scene(tmp_path: Path, **settings: Any) -> AsyncIterator[tuple[Env, Windows]]:
    """A server and the windows of a test, started and torn down inside the test body, windows first.

    (It began as a way round pytest-qt processing Qt events between a test and its fixtures' teardown, which
    ran asyncio callbacks outside the qasync loop; tests/qt_loop.py now holds those back, fixtures included.)"""
    windows = Windows()
    async with server_env(make_settings(tmp_path, "sqlite", **{"shared_pool_after_s": 0.0, **settings})) as env:
        try:
            yield env, windows
        finally:
            await windows.close()
    await asyncio.sleep(0.1)
