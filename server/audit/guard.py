"""The database refuses to change the audit log: triggers on ``audit_event`` and ``audit_checkpoint``.

- UPDATE of either table: always refused.
- DELETE of a checkpoint, TRUNCATE (PostgreSQL): always refused.
- DELETE of an audit row: refused unless, in the same transaction, a row of ``audit_purge_permit`` names a
  checkpoint at or past the row's ``seq`` (the retention purge, server/audit/purge.py, writes the checkpoint,
  the permit, deletes, and removes the permit, all in one transaction; nobody else ever sees the permit).

PostgreSQL raises ``insufficient_privilege`` (SQLSTATE 42501); SQLite ``RAISE(ABORT, ...)``. The triggers stop
ordinary SQL by anyone, the application included. Run the server as a non-owner role and the owner can go
further (docs in README, "Privacy"): ``madoguchi db app-role`` (server/db/app_role.py) revokes UPDATE, DELETE and
TRUNCATE of the audit tables and everything on ``audit_purge_permit`` from the application role, which leaves the
audit purge to the owner alone (``madoguchi retention run`` with the owner's database URL). A superuser can still
drop the triggers: that is what the hash chain and ``madoguchi audit verify`` are for.

SQLite caution: Alembic's batch mode recreates a table and drops its triggers; a migration that alters
``audit_event`` or ``audit_checkpoint`` on SQLite must call :func:`install` again afterwards.
"""

from __future__ import annotations

MESSAGE = "audit log is append-only"

_PG_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION madoguchi_audit_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_event' THEN  -- nested: OLD.seq exists on audit_event only
            IF EXISTS (SELECT 1 FROM audit_purge_permit p JOIN audit_checkpoint c ON c.through_seq = p.through_seq
                       WHERE p.through_seq >= OLD.seq) THEN
                RETURN OLD;
            END IF;
        END IF;
        RAISE EXCEPTION '{MESSAGE}: % on % refused', TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
    END $$
    """,
    "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION madoguchi_audit_guard()",
    "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
    "FOR EACH STATEMENT EXECUTE FUNCTION madoguchi_audit_guard()",
    "CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE ON audit_checkpoint "
    "FOR EACH ROW EXECUTE FUNCTION madoguchi_audit_guard()",
    "CREATE TRIGGER audit_checkpoint_no_truncate BEFORE TRUNCATE ON audit_checkpoint "
    "FOR EACH STATEMENT EXECUTE FUNCTION madoguchi_audit_guard()",
]
_PG_REMOVE = [
    "DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event",
    "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event",
    "DROP TRIGGER IF EXISTS audit_checkpoint_append_only ON audit_checkpoint",
    "DROP TRIGGER IF EXISTS audit_checkpoint_no_truncate ON audit_checkpoint",
    "DROP FUNCTION IF EXISTS madoguchi_audit_guard()",
]
_SQLITE_INSTALL = [
    f"""CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}: UPDATE on audit_event refused'); END""",
    f"""CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
    WHEN NOT EXISTS (SELECT 1 FROM audit_purge_permit p JOIN audit_checkpoint c ON c.through_seq = p.through_seq
                     WHERE p.through_seq >= OLD.seq)
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}: DELETE on audit_event refused'); END""",
    f"""CREATE TRIGGER audit_checkpoint_no_update BEFORE UPDATE ON audit_checkpoint
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}: UPDATE on audit_checkpoint refused'); END""",
    f"""CREATE TRIGGER audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}: DELETE on audit_checkpoint refused'); END""",
]
_SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS audit_event_no_update",
    "DROP TRIGGER IF EXISTS audit_event_no_delete",
    "DROP TRIGGER IF EXISTS audit_checkpoint_no_update",
    "DROP TRIGGER IF EXISTS audit_checkpoint_no_delete",
]


def install(dialect: str) -> list[str]:
    """The statements that install the guard (run after the tables exist)."""
    return list(_PG_INSTALL if dialect == "postgresql" else _SQLITE_INSTALL)


def remove(dialect: str) -> list[str]:
    return list(_PG_REMOVE if dialect == "postgresql" else _SQLITE_REMOVE)
