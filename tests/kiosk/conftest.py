"""Kiosk window tests run on the same loop the kiosk runs on in production: qasync over a QApplication (with
asyncio callbacks kept inside the running loop, tests/qt_loop.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from tests.qt_loop import delete_widgets, loop_factories


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> Mapping[str, Callable[[], Any]]:
    return loop_factories()


@pytest.fixture(autouse=True)
def widgets_deleted_here() -> Iterator[None]:
    """Each test's windows are deleted at its end, in the main thread (tests/qt_loop.delete_widgets)."""
    yield
    delete_widgets()
