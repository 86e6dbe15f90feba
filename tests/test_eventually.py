"""tests.support.eventually, the suite's one helper for waiting on state without an event of its own."""

from __future__ import annotations

import asyncio

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


async def test_checks_again_when_a_condition_is_notified() -> None:
    changed = asyncio.Condition()
    seen: list[int] = []

    async def producer() -> None:
        for i in range(3):
            await asyncio.sleep(0)
            seen.append(i)
            async with changed:
                changed.notify_all()

    task = asyncio.create_task(producer())
    assert await eventually(lambda: len(seen) == 3, changed=changed)
    await task


async def test_checks_again_when_an_event_is_set() -> None:
    changed = asyncio.Event()
    state = {"online": False}
    asyncio.get_running_loop().call_soon(lambda: (state.update(online=True), changed.set()))
    assert await eventually(lambda: state["online"], changed=changed)


async def test_an_event_never_set_fails_by_the_timeout() -> None:
    with pytest.raises(AssertionError, match="online"):
        await eventually(lambda: False, timeout=0.05, what="online", changed=asyncio.Event())
