"""`madoguchi admin ...` (the administrator's CLI, DESIGN §2) run as real processes on a real SQLite file."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from server.db.models import AuditEvent, Staff
from server.db.session import make_engine, make_sessionmaker


def _madoguchi(db_url: str, *args: str, password: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MADOGUCHI_DATABASE_URL": db_url, "MADOGUCHI_LOG_JSON": "false"}
    if password:
        env["MADOGUCHI_NEW_STAFF_PASSWORD"] = password
    return subprocess.run([sys.executable, "-c", "from server.cli import main; main()", *args],
                          capture_output=True, text=True, env=env, timeout=120)


async def _staff(db_url: str, username: str) -> tuple[Staff | None, list[str]]:
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as db:
            s = (await db.execute(select(Staff).where(Staff.username == username))).scalar_one_or_none()
            actions = list((await db.execute(select(AuditEvent.action).where(AuditEvent.actor == "cli"))).scalars())
            return s, actions
    finally:
        await engine.dispose()


def test_add_and_disable_staff_from_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'admin.db'}"
    assert _madoguchi(url, "db", "seed").returncode == 0
    r = _madoguchi(url, "admin", "add-staff", "--username", "kimura", "--display-name", "木村 太郎",
                   "--municipality", "tsubetsu", "--skill", "disability", "--capability", "written",
                   password="a long enough secret")
    assert r.returncode == 0, r.stderr
    staff_id = int(r.stdout.split("staff id:")[1].split()[0])
    s, _ = asyncio.run(_staff(url, "kimura"))
    assert s is not None and s.id == staff_id and s.active and [x.code for x in s.skills] == ["disability"]
    assert s.password_hash.startswith("$argon2") and "a long enough secret" not in s.password_hash
    again = _madoguchi(url, "admin", "add-staff", "--username", "kimura", "--display-name", "x",
                       "--municipality", "tsubetsu", password="a long enough secret")
    assert again.returncode != 0 and "taken" in again.stderr
    weak = _madoguchi(url, "admin", "add-staff", "--username", "ono", "--display-name", "x",
                      "--municipality", "tsubetsu", password="short")
    assert weak.returncode != 0 and "at least 12" in weak.stderr
    assert _madoguchi(url, "admin", "set-staff-active", str(staff_id), "--disabled").returncode == 0
    s, actions = asyncio.run(_staff(url, "kimura"))
    assert s is not None and not s.active
    assert actions.count("staff.created") == 1 and "staff.updated" in actions
    missing = _madoguchi(url, "admin", "set-staff-active", "9999", "--active")
    assert missing.returncode != 0 and "no staff member 9999" in missing.stderr
