"""The audit log is a hash chain that the database keeps append-only (issue 10, hole 5), on SQLite and PostgreSQL:
plain SQL UPDATE and DELETE are refused; with the guard dropped (as the owner or a superuser could), ``madoguchi
audit verify`` names the first row an UPDATE, DELETE or INSERT broke; appenders on several nodes keep one linear
chain; the retention purge of the oldest rows leaves a checkpoint the chain continues from."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.audit import guard
from server.audit.chain import row_hash
from server.audit.purge import purge_before
from server.audit.verify import Verdict, verify_chain
from server.db.audit import audit, audit_at
from server.db.models import AuditCheckpoint, AuditEvent, AuditLogIsAppendOnly
from server.db.session import make_engine, make_sessionmaker
from server.migrate import upgrade_async
from tests.support import make_settings, reset_pg

T0 = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)


@pytest.fixture
async def db_url(tmp_path: Path, backend: str) -> str:
    url = make_settings(tmp_path, backend).database_url
    if backend == "pg":
        await reset_pg(url)
    await upgrade_async(url)
    return url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    e = make_engine(db_url)
    yield e
    await e.dispose()


async def write(engine: AsyncEngine, n: int, *, at: datetime | None = None, actor: str = "staff:1") -> None:
    async with make_sessionmaker(engine)() as db, db.begin():
        for i in range(n):
            audit_at(db, at or datetime.now(UTC), actor, "note.read", f"session:{i}", n=i, text_ja="閲覧")


async def verify(engine: AsyncEngine, anchor: tuple[int, str] | None = None) -> Verdict:
    async with engine.connect() as conn:
        return await conn.run_sync(verify_chain, anchor)


async def raw(engine: AsyncEngine, sql: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(sql))


async def drop_guard(engine: AsyncEngine) -> None:
    """What a database owner or superuser can do: the hash chain must still show what happened next."""
    async with engine.begin() as conn:
        for statement in guard.remove(conn.dialect.name):
            await conn.execute(text(statement))


async def test_the_database_refuses_update_and_delete_of_audit_rows(engine: AsyncEngine) -> None:
    await write(engine, 3)
    for sql in ("UPDATE audit_event SET action = 'nothing.happened' WHERE seq = 2",
                "DELETE FROM audit_event WHERE seq = 2",
                "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"):
            await raw(engine, sql)
    if engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"):
            await raw(engine, "TRUNCATE audit_event")
    # a permit without a matching checkpoint opens nothing
    with pytest.raises(DBAPIError, match="append-only"):
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO audit_purge_permit (through_seq) VALUES (3)"))
            await conn.execute(text("DELETE FROM audit_event WHERE seq = 1"))
    # the ORM refuses too, before the database is asked
    async with make_sessionmaker(engine)() as db:
        row = (await db.execute(select(AuditEvent).where(AuditEvent.seq == 1))).scalar_one()
        row.action = "nothing.happened"
        with pytest.raises(AuditLogIsAppendOnly):
            await db.flush()
    v = await verify(engine)
    assert v.ok and (v.rows, v.head_seq) == (3, 3)


async def test_each_row_carries_the_previous_rows_hash(engine: AsyncEngine) -> None:
    await write(engine, 2)
    await write(engine, 1, actor="kiosk:4")
    async with make_sessionmaker(engine)() as db:
        rows = (await db.execute(select(AuditEvent).order_by(AuditEvent.seq))).scalars().all()
    assert [r.seq for r in rows] == [1, 2, 3]
    assert rows[0].prev_hash == "0" * 64
    for before, row in itertools.pairwise(rows):
        assert row.prev_hash == before.hash
    for r in rows:
        assert r.hash == row_hash(r.seq, r.at, r.actor, r.action, r.subject, r.detail, r.prev_hash)
    assert rows[0].detail == {"n": 0, "text_ja": "閲覧"}


async def test_a_rolled_back_transaction_writes_no_audit_row(engine: AsyncEngine) -> None:
    with pytest.raises(RuntimeError):
        async with make_sessionmaker(engine)() as db, db.begin():
            audit(db, "staff:1", "note.save", "session:1")
            raise RuntimeError("the change failed")
    await write(engine, 1)
    v = await verify(engine)
    assert v.ok and v.head_seq == 1


@pytest.mark.parametrize("tamper", ["update", "update_rehashed", "delete", "insert"])
async def test_verify_names_the_first_broken_row(engine: AsyncEngine, tamper: str) -> None:
    await write(engine, 6)
    before = await verify(engine)
    assert before.ok and before.head_seq == 6
    await drop_guard(engine)
    if tamper == "update":  # row 3 says something else now
        await raw(engine, "UPDATE audit_event SET actor = 'staff:99' WHERE seq = 3")
        expect_seq, words = 3, "does not give its hash"
    elif tamper == "update_rehashed":  # row 3 changed and given a matching hash: row 4 no longer follows it
        async with make_sessionmaker(engine)() as db:
            r = (await db.execute(select(AuditEvent).where(AuditEvent.seq == 3))).scalar_one()
            forged = row_hash(3, r.at, "staff:99", r.action, r.subject, r.detail, r.prev_hash)
        await raw(engine, f"UPDATE audit_event SET actor = 'staff:99', hash = '{forged}' WHERE seq = 3")
        expect_seq, words = 4, "prev_hash is not the hash of row 3"
    elif tamper == "delete":
        await raw(engine, "DELETE FROM audit_event WHERE seq = 4")
        expect_seq, words = 5, "rows 4..4 before it are missing"
    else:  # a row slipped in at the end, chained to the head but with a made-up hash
        async with make_sessionmaker(engine)() as db:
            head = (await db.execute(select(AuditEvent.hash).where(AuditEvent.seq == 6))).scalar_one()
        ts = "2026-12-07 00:00:00" if engine.dialect.name == "sqlite" else "2026-12-07 00:00:00+00"
        await raw(engine, "INSERT INTO audit_event (seq, at, actor, action, subject, detail, prev_hash, hash) "
                          f"VALUES (7, '{ts}', 'staff:1', 'note.read', 'session:1', '{{}}', '{head}', '{'f' * 64}')")
        expect_seq, words = 7, "does not give its hash"
    v = await verify(engine)
    assert v.broken is not None, tamper
    assert v.broken.seq == expect_seq and words in v.broken.reason


async def test_an_anchor_catches_rows_cut_off_the_end(engine: AsyncEngine) -> None:
    await write(engine, 5)
    head = await verify(engine)
    anchor = (head.head_seq, head.head_hash)
    assert (await verify(engine, anchor)).ok
    await drop_guard(engine)
    await raw(engine, "DELETE FROM audit_event WHERE seq >= 4")
    assert (await verify(engine)).ok  # a chain alone cannot see its end cut off...
    v = await verify(engine, anchor)  # ...the anchor kept elsewhere can
    assert v.broken is not None and v.broken.seq == 5 and "cut off the end" in v.broken.reason


async def test_appenders_on_several_nodes_keep_one_linear_chain(db_url: str) -> None:
    """Two engines stand for two server nodes sharing the database; 40 concurrent transactions append 3 rows each."""
    nodes = [make_engine(db_url), make_engine(db_url)]
    try:
        async def one(i: int) -> None:
            async with make_sessionmaker(nodes[i % 2])() as db, db.begin():
                for k in range(3):
                    audit(db, f"staff:{i}", "ticket.accept", f"ticket:{i}", k=k)
                await db.flush()

        await asyncio.gather(*(one(i) for i in range(40)))
        v = await verify(nodes[0])
        assert v.ok and (v.rows, v.head_seq) == (120, 120)
        async with make_sessionmaker(nodes[1])() as db:
            by_actor = (await db.execute(select(AuditEvent.actor, func.min(AuditEvent.seq), func.max(AuditEvent.seq))
                                         .group_by(AuditEvent.actor))).all()
        assert all(hi - lo == 2 for _, lo, hi in by_actor)  # each transaction's rows are contiguous
    finally:
        for e in nodes:
            await e.dispose()


async def test_the_retention_purge_leaves_a_checkpoint_the_chain_continues_from(engine: AsyncEngine) -> None:
    await write(engine, 4, at=T0 - timedelta(days=400))
    await write(engine, 2, at=T0 - timedelta(days=10))
    async with make_sessionmaker(engine)() as db, db.begin():
        done = await (await db.connection()).run_sync(purge_before, T0 - timedelta(days=365), T0, "retention")
        assert done is not None and (done.through_seq, done.rows) == (4, 4)
        audit(db, "system", "retention.purged", "audit", rows=done.rows)
    v = await verify(engine)
    assert v.ok and (v.from_seq, v.rows, v.head_seq) == (5, 3, 7)
    async with make_sessionmaker(engine)() as db:
        cp = (await db.execute(select(AuditCheckpoint))).scalar_one()
        first = (await db.execute(select(AuditEvent).where(AuditEvent.seq == 5))).scalar_one()
    assert first.prev_hash == cp.hash and cp.rows == 4 and cp.last_at == T0 - timedelta(days=400)
    # nothing more is old enough; the checkpoint itself cannot be removed or changed
    async with engine.begin() as conn:
        assert await conn.run_sync(purge_before, T0 - timedelta(days=365), T0, "retention") is None
    for sql in ("DELETE FROM audit_checkpoint", "UPDATE audit_checkpoint SET rows = 0",
                "DELETE FROM audit_event WHERE seq = 5"):
        with pytest.raises(DBAPIError, match="append-only"):
            await raw(engine, sql)
    # a chain whose every row was purged continues from the checkpoint
    async with engine.begin() as conn:
        assert (await conn.run_sync(purge_before, T0 + timedelta(days=1), T0, "retention")) is not None
    await write(engine, 1)
    v = await verify(engine)
    assert v.ok and (v.from_seq, v.head_seq) == (8, 8)


def test_verify_on_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"

    def madoguchi(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "MADOGUCHI_DATABASE_URL": url, "MADOGUCHI_LOG_JSON": "false"}
        return subprocess.run([sys.executable, "-c", "from server.cli import main; main()", *args],
                              capture_output=True, text=True, env=env, timeout=120)

    async def prepare() -> None:
        await upgrade_async(url)
        e = make_engine(url)
        try:
            await write(e, 3)
        finally:
            await e.dispose()

    asyncio.run(prepare())
    ok = madoguchi("audit", "verify")
    assert ok.returncode == 0 and "intact: 3 rows" in ok.stdout, ok.stderr
    anchor = ok.stdout.strip().rsplit("head ", 1)[1]
    assert madoguchi("audit", "verify", "--anchor", anchor).returncode == 0

    async def tamper() -> None:
        e = make_engine(url)
        try:
            await drop_guard(e)
            await raw(e, "UPDATE audit_event SET subject = 'session:2' WHERE seq = 2")
        finally:
            await e.dispose()

    asyncio.run(tamper())
    bad = madoguchi("audit", "verify")
    assert bad.returncode == 1 and "BROKEN at row seq 2" in bad.stderr
    assert madoguchi("audit", "verify", "--anchor", "nonsense").returncode == 2
