"""Engine and session factory. SQLite: WAL, busy timeout, BEGIN IMMEDIATE on every write txn.

SQL parameters never reach a log or an exception message (``hide_parameters``): they carry note text,
password hashes and device secrets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from server.db import aiosqlite_stop


def _sqlite_path(url: str) -> Path | None:
    prefix = "sqlite+aiosqlite:///"
    if url.startswith(prefix) and ":memory:" not in url:
        return Path(url[len(prefix):])
    return None


def make_engine(url: str, *, read_only: bool = False) -> AsyncEngine:
    """``read_only``: an engine for lookups that change nothing (a socket's sign-in, the service catalog). On
    SQLite its transactions begin deferred and are refused any write (``query_only``): in WAL mode they read a
    snapshot beside the one writer instead of queueing for its lock, as every ``BEGIN IMMEDIATE`` does."""
    if url.startswith("sqlite"):
        aiosqlite_stop.install()  # a cancelled task's connection must not leave a close that never ends
        path = _sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_conn: Any, _rec: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            if read_only:
                cur.execute("PRAGMA query_only=ON")
            cur.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True)


def make_read_engine(url: str, engine: AsyncEngine) -> AsyncEngine:
    """The engine for read-only lookups: its own on a SQLite file (see ``make_engine``), ``engine`` otherwise
    (PostgreSQL reads never wait for a writer; an in-memory SQLite is one connection's database)."""
    if url.startswith("sqlite") and ":memory:" not in url:
        return make_engine(url, read_only=True)
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: committed on success, rolled back on error."""
    async with maker() as session, session.begin():
        yield session
