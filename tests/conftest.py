"""Shared fixtures. Database tests run on SQLite always and on PostgreSQL when MADOGUCHI_TEST_PG_URL is set."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.cups import Cups, start_cups
from tests.cups import available as cups_unavailable
from tests.support import WAIT_S, Env, make_settings, server_env

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The tests' own HTTP clients wait as long as the tests do (WAIT_S) when they give no timeout: httpx's 5 s
# default is shorter than an argon2 sign-in on a loaded CI machine (the server hashes at a lower CPU priority).
# The programs' clients set their own timeouts and are not affected.
_client_init = httpx.AsyncClient.__init__


def _client_init_with_test_timeout(self: httpx.AsyncClient, *args: object, **kwargs: object) -> None:
    kwargs.setdefault("timeout", WAIT_S)
    _client_init(self, *args, **kwargs)  # type: ignore[arg-type]


httpx.AsyncClient.__init__ = _client_init_with_test_timeout  # type: ignore[method-assign]

if os.environ.get("MADOGUCHI_REQUIRE_PG") and not os.environ.get("MADOGUCHI_TEST_PG_URL"):
    raise RuntimeError("MADOGUCHI_REQUIRE_PG is set (CI) but MADOGUCHI_TEST_PG_URL is not: "
                       "PostgreSQL tests would be skipped")


def _worker_database() -> None:
    """Under pytest-xdist (``-n 2``) each worker empties and fills its own PostgreSQL database: the tests reset
    the schema of the database they are given. The worker's is the given one's name + ``_gw0``, ``_gw1``...,
    made here (from the server's ``postgres`` database) if it is missing. Redis needs nothing: every cluster
    test has its own key prefix."""
    worker, url = os.environ.get("PYTEST_XDIST_WORKER", ""), os.environ.get("MADOGUCHI_TEST_PG_URL", "")
    if not worker or not url:
        return
    import asyncio

    import asyncpg

    location, query = url.split("?", 1) if "?" in url else (url, "")
    base, _, name = location.rpartition("/")
    mine = f"{name}_{worker}"

    async def create() -> None:
        conn = await asyncpg.connect(f"{base}/postgres".replace("postgresql+asyncpg://", "postgresql://"))
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", mine):
                await conn.execute(f'CREATE DATABASE "{mine}"')
        finally:
            await conn.close()

    asyncio.run(create())
    os.environ["MADOGUCHI_TEST_PG_URL"] = f"{base}/{mine}" + (f"?{query}" if query else "")


_worker_database()
BACKENDS = ["sqlite"] + (["pg"] if os.environ.get("MADOGUCHI_TEST_PG_URL") else [])


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def env(tmp_path: Path, backend: str) -> AsyncIterator[Env]:
    async with server_env(make_settings(tmp_path, backend)) as e:
        yield e


@pytest.fixture
async def sqlite_env(tmp_path: Path) -> AsyncIterator[Env]:
    async with server_env(make_settings(tmp_path, "sqlite")) as e:
        yield e


@pytest.fixture
async def cups() -> AsyncIterator[Cups]:
    """A private CUPS scheduler with a cups-pdf queue ``pdf``, ``paperout`` and ``paused`` (tests/cups.py)."""
    why = cups_unavailable()
    if why is not None:
        if os.geteuid() == 0:
            pytest.fail(why)  # root (CI) has what sysdeps.sh installs: a missing package is a failure
        pytest.skip(why)
    server = await start_cups()
    try:
        yield server
    finally:
        server.stop()
