"""The application's own PostgreSQL role (issue 10, audit: "append-only enforced in the database ... revoked
UPDATE/DELETE"): ``madoguchi db app-role`` run as the owner makes a role that the database itself refuses any change
of the audit log, its checkpoints and purge permits, and the migration version — refused by privilege, before the
triggers are reached — while the server runs on it: it signs a specialist in (audit rows and a refresh token
written). The server's retention run as that role purges the notes and leaves the audit log to the owner, whose
own run then purges it. PostgreSQL only (SQLite has no roles)."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.app_role import AppRoleError, grant_app_role
from server.db.audit import audit
from server.db.base import utcnow
from server.db.models import AuditCheckpoint, AuditEvent, Note
from server.db.seed import DEMO_PASSWORD
from server.db.session import make_engine, make_sessionmaker
from server.retention.run import run_retention
from tests.support import finished_session, make_settings, server_env

PG = os.environ.get("MADOGUCHI_TEST_PG_URL", "")
pytestmark = pytest.mark.skipif(not PG, reason="PostgreSQL only (MADOGUCHI_TEST_PG_URL)")


def as_role(role: str) -> str:
    scheme, rest = PG.split("://", 1)
    return f"{scheme}://{role}@{rest.split('@', 1)[1]}"


async def refused(engine: AsyncEngine, sql: str) -> str:
    with pytest.raises(DBAPIError) as caught:
        async with engine.begin() as conn:
            await conn.execute(text(sql))
    return str(caught.value.orig)


async def drop_role(owner: AsyncEngine, role: str) -> None:
    async with owner.begin() as conn:
        if (await conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})).first():
            await conn.execute(text(f"DROP OWNED BY {role}"))
            await conn.execute(text(f"DROP ROLE {role}"))


async def test_the_app_role_cannot_touch_the_audit_log_and_the_server_runs_on_it(tmp_path: Path) -> None:
    role = f"madoguchi_app_{uuid.uuid4().hex[:8]}"
    async with server_env(make_settings(tmp_path, "pg")) as env:  # the owner migrates and seeds
        sid = await finished_session(env, "bihoro", "employment", "takahashi", note_category="相談")
    owner = make_engine(PG)
    try:
        async with owner.begin() as conn:
            done = await grant_app_role(conn, role)
        assert done[0] == f"created role {role}"
        async with owner.begin() as conn:  # again (after an upgrade): nothing breaks
            assert not (await grant_app_role(conn, role))[0].startswith("created")
            with pytest.raises(AppRoleError):
                await grant_app_role(conn, "Robert'); DROP TABLE note;--")

        app = make_engine(as_role(role))
        try:
            for sql in ("UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event", "TRUNCATE audit_event",
                        "INSERT INTO audit_checkpoint (at, through_seq, hash, rows, last_at, actor) "
                        "VALUES (now(), 1, 'x', 1, now(), 'x')",
                        "DELETE FROM audit_checkpoint", "SELECT * FROM audit_purge_permit",
                        "UPDATE alembic_version SET version_num = 'x'", "CREATE TABLE intruder (id int)",
                        "ALTER TABLE note ADD COLUMN intruder int"):
                message = await refused(app, sql)
                assert "permission denied" in message or "must be owner" in message, (sql, message)
            async with make_sessionmaker(app)() as db, db.begin():  # what the app does: read, write, audit
                audit(db, "system", "test.app_role")
                assert (await db.execute(select(func.count()).select_from(Note))).scalar_one() == 1

            # the server runs as the role: migrations at head need no DDL; sign-in writes audit rows and a token
            settings = make_settings(tmp_path, "pg", database_url=as_role(role))
            async with server_env(settings, seed=False, reset=False) as app_env, \
                    httpx.AsyncClient(base_url=app_env.url) as http:
                r = await http.post("/api/auth/login", json={"username": "takahashi", "password": DEMO_PASSWORD})
                assert r.status_code == 200, r.text

            # retention as the role: notes purged, the audit log left to the owner (logged, not a crash)
            later = utcnow() + timedelta(days=4000)
            days = {"note": 1, "feedback": 1, "session": 1, "refresh_token": 1, "callback": 1, "audit": 1}
            counts = await run_retention(make_sessionmaker(app), days, later)
            assert counts["note"] == 1 and "audit_event" not in counts
        finally:
            await app.dispose()
        counts = await run_retention(make_sessionmaker(owner), days, later)
        assert counts["audit_event"] > 0
        async with make_sessionmaker(owner)() as db:
            assert (await db.execute(select(func.count()).select_from(AuditCheckpoint))).scalar_one() == 1
            rest = (await db.execute(select(AuditEvent.action))).scalars().all()
        assert set(rest) == {"retention.purged"}  # only the purges' own rows, stamped at the run's time
        assert sid > 0
    finally:
        await drop_role(owner, role)
        await owner.dispose()
