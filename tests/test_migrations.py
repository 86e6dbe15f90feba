"""Alembic migrations and the SQLAlchemy models say the same thing, on SQLite and PostgreSQL, and every
migration goes down and up again (an upgrade must never need a fresh database)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import server.db.models  # noqa: F401  (registers every table on Base.metadata)
from server.db.base import Base
from server.migrate import alembic_config, head_revision, upgrade
from tests.support import make_settings, reset_pg


def _diff(conn: Connection) -> list[Any]:
    ctx = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(ctx, Base.metadata))


def _revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


async def _inspect(url: str) -> tuple[list[Any], str | None]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_diff), await conn.run_sync(_revision)
    finally:
        await engine.dispose()


async def test_models_match_migrations_and_every_step_reverses(tmp_path: Path, backend: str) -> None:
    url = make_settings(tmp_path, backend).database_url
    if backend == "pg":
        await reset_pg(url)
    await asyncio.to_thread(upgrade, url)
    diff, rev = await _inspect(url)
    assert rev == head_revision()
    assert diff == [], f"models and migrations differ: {diff}"
    cfg = alembic_config(url)
    await asyncio.to_thread(command.downgrade, cfg, "base")
    _, rev = await _inspect(url)
    assert rev is None
    await asyncio.to_thread(command.upgrade, cfg, "head")
    diff, rev = await _inspect(url)
    assert rev == head_revision() and diff == []
