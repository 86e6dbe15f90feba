"""tests.support.eventually, the suite's one helper for waiting on state without an event of its own."""

from __future__ import annotations

import pytest

from tests.support import eventually


async def test_returns_the_first_truthy_value() -> None:
    calls: list[int] = []

    def third_time() -> int:
        calls.append(1)
        return len(calls) if len(calls) >= 3 else 0

    assert await eventually(third_time, step=0) == 3
    assert len(calls) == 3


async def test_awaits_an_async_predicate() -> None:
    calls: list[int] = []

    async def second_time() -> str:
        calls.append(1)
        return "row" if len(calls) == 2 else ""

    assert await eventually(second_time, step=0) == "row"


async def test_fails_naming_what_never_came() -> None:
    with pytest.raises(AssertionError, match="the offer overlay"):
        await eventually(lambda: False, timeout=0.05, what="the offer overlay")
