"""Issue 10, secrets: the server refuses the published development key and short keys (unless the demo or the
explicit development flag), says how to make a key, and ``db seed`` creates no account with a known password."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from server.app import create_app
from server.auth import verify_secret
from server.db.models import Staff
from server.db.seed import DEMO_PASSWORD
from server.db.session import make_engine, make_sessionmaker
from server.settings import DEV_SECRET_KEY, Settings
from server.signing_key import InsecureSigningKey, key_problem, new_signing_key

ROOT = Path(__file__).resolve().parents[1]


def _settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'k.db'}", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", [DEV_SECRET_KEY, "", "short-key", "x" * 31])
def test_app_refuses_a_published_or_short_key(tmp_path: Path, key: str) -> None:
    with pytest.raises(InsecureSigningKey) as err:
        create_app(_settings(tmp_path, secret_key=key))
    assert "madoguchi keygen" in str(err.value) and "secrets.token_urlsafe(48)" in str(err.value)


def test_app_accepts_a_random_key_and_the_explicit_dev_flag(tmp_path: Path) -> None:
    create_app(_settings(tmp_path, secret_key=new_signing_key()))
    create_app(_settings(tmp_path, secret_key=DEV_SECRET_KEY, dev_insecure=True))


def test_the_default_settings_key_is_refused() -> None:
    assert key_problem(Settings.model_fields["secret_key"].default) is not None


def test_env_example_carries_no_usable_key() -> None:
    values = dict(line.split("=", 1) for line in (ROOT / ".env.example").read_text("utf-8").splitlines()
                  if line.startswith("MADOGUCHI_SECRET_KEY="))
    assert key_problem(values["MADOGUCHI_SECRET_KEY"].strip()) is not None


def _cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MADOGUCHI_")}
    base.update({"MADOGUCHI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}", "MADOGUCHI_PORT": "0",
                 "MADOGUCHI_LOG_JSON": "false", "PYTHONPATH": str(ROOT), **env})
    return subprocess.run([sys.executable, "-c", "from server.cli import main; main()", *args], cwd=tmp_path,
                          capture_output=True, text=True, env=base, timeout=120)


def test_madoguchi_server_exits_with_how_to_make_a_key(tmp_path: Path) -> None:
    r = _cli(tmp_path, "server")  # no MADOGUCHI_SECRET_KEY: the built-in development key
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "published development key" in r.stderr and "madoguchi keygen" in r.stderr
    short = _cli(tmp_path, "server", MADOGUCHI_SECRET_KEY="too-short")
    assert short.returncode == 2 and "shorter than 32 bytes" in short.stderr


def test_keygen_prints_a_usable_key(tmp_path: Path) -> None:
    r = _cli(tmp_path, "keygen")
    key = r.stdout.strip()
    assert r.returncode == 0 and len(key) >= 64 and key_problem(key) is None
    assert key != _cli(tmp_path, "keygen").stdout.strip()


async def _password_hashes(db_url: str) -> dict[str, str]:
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as db:
            return {s.username: s.password_hash for s in (await db.execute(select(Staff))).scalars().unique()}
    finally:
        await engine.dispose()


def test_db_seed_creates_no_account_with_the_published_password(tmp_path: Path) -> None:
    r = _cli(tmp_path, "db", "seed")
    assert r.returncode == 0, r.stderr
    printed = r.stdout.split("(shown once; change it): ")[1].split()[0]
    hashes = asyncio.run(_password_hashes(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"))
    assert "admin" in hashes
    assert not any(verify_secret(h, DEMO_PASSWORD) for h in hashes.values())
    assert verify_secret(hashes["admin"], printed) and len(printed) >= 12
    assert "nothing inserted" in _cli(tmp_path, "db", "seed").stdout


def test_db_seed_with_a_given_password(tmp_path: Path) -> None:
    assert _cli(tmp_path, "db", "seed", "--password", "short").returncode != 0
    r = _cli(tmp_path, "db", "seed", MADOGUCHI_SEED_PASSWORD="a long chosen password")
    assert r.returncode == 0 and "shown once" not in r.stdout
    hashes = asyncio.run(_password_hashes(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"))
    assert verify_secret(hashes["admin"], "a long chosen password")
