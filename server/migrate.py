"""Run Alembic programmatically (``madoguchi db upgrade`` and at server start)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(database_url: str | None = None) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["configure_logging"] = False
    if database_url:
        cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str | None = None) -> None:
    command.upgrade(alembic_config(database_url), "head")


async def upgrade_async(database_url: str | None = None) -> None:
    await asyncio.to_thread(upgrade, database_url)  # env.py runs its own event loop


def head_revision() -> str:
    return str(ScriptDirectory.from_config(alembic_config()).get_current_head())
