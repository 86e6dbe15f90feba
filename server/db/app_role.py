"""The application's own PostgreSQL role (README "Privacy", database roles): the server runs as a role that does
not own the tables, so the database itself — not only the audit triggers — refuses it what it never needs:

- UPDATE, DELETE, TRUNCATE of ``audit_event``; any change of ``audit_checkpoint`` but nothing at all of
  ``audit_purge_permit``: the audit log's purge by retention is the owner's (``madoguchi retention run`` with the
  owner's database URL); the server's daily run skips it and says so.
- Any change of ``alembic_version`` and any DDL: migrations are the owner's (``madoguchi db upgrade``).
- Everything else: SELECT, INSERT, UPDATE, DELETE on the tables, USAGE on the sequences.

:func:`grant_app_role` runs as the owner, creates the role if it does not exist, and is idempotent: run it again
after every ``db upgrade`` (tables a migration adds are also covered by default privileges). PostgreSQL only."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
AUDIT_TABLES = ("audit_event", "audit_checkpoint")


class AppRoleError(ValueError):
    pass


async def _exec_formatted(conn: AsyncConnection, template: str, *args: str) -> None:
    """A statement whose identifiers/literals PostgreSQL's format() quotes (%I, %L): never Python string pasting."""
    placeholders = ", ".join(f"CAST(:a{i} AS text)" for i in range(len(args)))
    stmt = (await conn.execute(text(f"SELECT format(CAST(:t AS text), {placeholders})"),
                               {"t": template, **{f"a{i}": a for i, a in enumerate(args)}})).scalar_one()
    await conn.execute(text(stmt))


async def grant_app_role(conn: AsyncConnection, role: str, password: str | None = None) -> list[str]:
    """Create (if missing) and grant ``role`` as the application's role. Returns what was done, in words."""
    if conn.dialect.name != "postgresql":
        raise AppRoleError("database roles exist on PostgreSQL only (SQLite has no roles: keep its file's "
                           "permissions to the server's user)")
    if not ROLE_NAME.match(role):
        raise AppRoleError(f"role name {role!r}: lower-case letters, digits and _ only, at most 63")
    done: list[str] = []
    exists = (await conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})).first()
    owner = (await conn.execute(text("SELECT current_user"))).scalar_one()
    if role == owner:
        raise AppRoleError(f"{role} is the role running this command (the owner): choose another name")
    if exists is None:
        await _exec_formatted(conn, "CREATE ROLE %I LOGIN", role)
        done.append(f"created role {role}")
    if password:
        await _exec_formatted(conn, "ALTER ROLE %I PASSWORD %L", role, password)
        done.append("set its password")
    database = (await conn.execute(text("SELECT current_database()"))).scalar_one()
    await _exec_formatted(conn, "GRANT CONNECT ON DATABASE %I TO %I", database, role)
    await _exec_formatted(conn, "GRANT USAGE ON SCHEMA public TO %I", role)
    await _exec_formatted(conn, "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %I", role)
    await _exec_formatted(conn, "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %I", role)
    await _exec_formatted(conn, "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE "
                                "ON TABLES TO %I", role)
    await _exec_formatted(conn, "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO %I",
                          role)
    done.append("granted reading and writing the tables")
    for table in AUDIT_TABLES:
        await _exec_formatted(conn, "REVOKE UPDATE, DELETE, TRUNCATE ON %I FROM %I", table, role)
    await _exec_formatted(conn, "REVOKE INSERT ON audit_checkpoint FROM %I", role)
    await _exec_formatted(conn, "REVOKE ALL ON audit_purge_permit FROM %I", role)
    await _exec_formatted(conn, "REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM %I", role)
    done.append("revoked changing the audit log, its checkpoints and purge permits, and the migration version")
    return done
