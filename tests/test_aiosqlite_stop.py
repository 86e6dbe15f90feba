"""A SQLite connection that is force-stopped while its graceful close is under way (what SQLAlchemy 2.1 does when
a task using it is cancelled while it waits for another writer's lock) still finishes closing: without
server/db/aiosqlite_stop.py the close waited for ever and hung the event loop's end (pytest-timeout, 300 s)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiosqlite

from server.db import aiosqlite_stop
from server.db.session import make_engine
from tests.support import WAIT_S


async def test_a_stop_during_a_graceful_close_lets_the_close_finish(tmp_path: Path) -> None:
    aiosqlite_stop.install()
    conn = await aiosqlite.connect(tmp_path / "x.db")
    queued = asyncio.Event()
    execute = conn._execute

    async def execute_and_tell(fn: Any, *args: Any, **kwargs: Any) -> Any:
        work = execute(fn, *args, **kwargs)  # queues on the thread as soon as it runs, below, in the same step
        queued.set()
        return await work

    conn._execute = execute_and_tell  # type: ignore[method-assign]
    closing = asyncio.ensure_future(conn.close())
    await queued.wait()  # close() has queued its work on the connection's thread
    assert not closing.done()
    conn.stop()  # SQLAlchemy's force close of a connection whose task was cancelled
    await asyncio.wait_for(closing, WAIT_S)  # without install(): never returns (its stop request is never read)
    assert conn.stop() is conn.stop()  # once stopped, every later stop is the first one


def test_the_sqlite_engine_installs_it(tmp_path: Path) -> None:
    make_engine(f"sqlite+aiosqlite:///{tmp_path / 'y.db'}")
    assert getattr(aiosqlite.Connection.stop, "_madoguchi_once", False)
