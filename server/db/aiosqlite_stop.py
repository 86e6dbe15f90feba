"""aiosqlite's worker thread stops once: a second stop request would never be read, and whoever waits for it
waits for ever. SQLAlchemy 2.1 asks twice when a task using a SQLite connection is cancelled while that
connection is busy (a ``BEGIN IMMEDIATE`` waiting for another writer's lock): it starts a graceful close in a
shielded task, and on the cancel force-stops the connection (``Connection.stop()``, one stop request); the graceful
close, once its ``close`` ran, asks for its own stop (a second request, after the thread has ended) and awaits it.
The event loop is then left with a task that can never finish: ``asyncio.run`` (and pytest-asyncio's runner) cancel
and gather every task at the end, and hung there until pytest-timeout's 300 s — a server stopped under load while
its queue tick or retention run waited for SQLite's lock (CI, loaded run 4 of 2026-12-06).

:func:`install` makes ``stop()`` idempotent: a second call returns the first call's future (resolved when the
thread reads that one request). Called where the SQLite engine is made (server/db/session.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiosqlite

_STOPPED = "_madoguchi_stop"  # set on a connection once stop() was asked: (the first call's future,)


def install() -> None:
    if getattr(aiosqlite.Connection.stop, "_madoguchi_once", False):
        return
    first_stop = aiosqlite.Connection.stop

    def stop(self: aiosqlite.Connection) -> asyncio.Future[Any] | None:
        asked: tuple[asyncio.Future[Any] | None] | None = getattr(self, _STOPPED, None)
        if asked is not None:
            return asked[0]  # the thread stops on the first request; a second one would never be read
        future = first_stop(self)
        setattr(self, _STOPPED, (future,))
        return future

    stop._madoguchi_once = True  # type: ignore[attr-defined]
    aiosqlite.Connection.stop = stop  # type: ignore[method-assign]
