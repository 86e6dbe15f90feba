"""A reconnect storm's sign-ins share their reads (issue 9 item 6): the accounts of one moment are looked up
together, the service catalog is read once however many sockets wait for it, and those reads never queue for
SQLite's write lock. bench/signaling_load.py measures what that saves; these tests check that it holds and
that nobody is let in or kept out by it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from server.api.batcher import Batcher, for_each
from server.auth import issue_token
from server.db.base import utcnow
from server.db.models import Branch, Kiosk, Staff
from server.db.session import make_engine, make_read_engine, make_sessionmaker
from signaling.hub import AuthRejected
from signaling.protocol.messages import Auth, StatusSet
from tests.conftest import BACKENDS
from tests.support import WAIT_S, Env, closed_with, make_settings, raw_ws, server_env

N = 40


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def add_kiosks(env: Env, n: int, revoked: int = 0) -> list[int]:
    now = utcnow()
    async with env.ctx.maker() as db, db.begin():
        branch = (await db.execute(select(Branch).where(Branch.code == "bihoro"))).scalar_one()
        await db.execute(insert(Kiosk), [
            {"name": f"storm-{i}", "branch_id": branch.id, "credential_hash": "x", "enrolled_at": now,
             "app_version": "", "screen": "idle", "revoked_at": now if i < revoked else None} for i in range(n)])
        return list((await db.execute(
            select(Kiosk.id).where(Kiosk.name.like("storm-%")).order_by(Kiosk.id))).scalars())


async def test_a_storm_of_sign_ins_reads_the_accounts_and_the_catalog_once(env: Env) -> None:
    """N kiosks, a revoked kiosk, an unknown kiosk, a specialist and a specialist whose token was revoked sign
    in at the same moment: one kiosk lookup, one staff lookup, one catalog read; each is answered for itself."""
    key = env.settings.secret_key
    revoked, *kiosks = await add_kiosks(env, N + 1, revoked=1)
    async with env.ctx.maker() as db:
        tanaka = (await db.execute(select(Staff).where(Staff.username == "tanaka"))).scalar_one()
        bihoro = (await db.execute(select(Branch).where(Branch.code == "bihoro"))).scalar_one()
    tokens = [issue_token(key, "kiosk", k, "kiosk", 600) for k in kiosks]
    tokens += [issue_token(key, "kiosk", revoked, "kiosk", 600), issue_token(key, "kiosk", 10**9, "kiosk", 600),
               issue_token(key, "staff", tanaka.id, tanaka.role, 600, ver=tanaka.token_version),
               issue_token(key, "staff", tanaka.id, tanaka.role, 600, ver=tanaka.token_version + 1)]
    handler = env.ctx.hub.handler
    handler._catalog_cache = None  # type: ignore[attr-defined]  # as right after a change on this node
    reader = env.ctx.reader.kw["bind"]
    with statements(reader) as seen:
        results = await asyncio.gather(*(handler.authenticate(Auth(id=f"a{i}", token=t))
                                         for i, t in enumerate(tokens)), return_exceptions=True)
    kiosk_lookups = [s for s in seen if "FROM kiosk JOIN branch" in s]
    staff_lookups = [s for s in seen if "FROM staff JOIN municipality" in s]
    catalog_reads = [s for s in seen if "FROM staff_skill JOIN staff" in s]
    assert (len(kiosk_lookups), len(staff_lookups), len(catalog_reads)) == (1, 1, 1), seen

    welcomed = results[:N]
    for kid, result in zip(kiosks, welcomed, strict=True):
        assert not isinstance(result, BaseException), result
        principal, welcome = result
        assert (principal.peer, welcome.peer, welcome.branch, welcome.municipality) == (
            f"kiosk:{kid}", f"kiosk:{kid}", bihoro.name_ja, bihoro.municipality.name_ja)
        assert [s.code for s in welcome.services] == [s.code for s in welcomed[0][1].services]  # type: ignore[index]
    refused_kiosk, unknown_kiosk, staff, stale_staff = results[N:]
    assert isinstance(refused_kiosk, AuthRejected) and "revoked" in refused_kiosk.message
    assert isinstance(unknown_kiosk, AuthRejected) and "unknown" in unknown_kiosk.message
    assert not isinstance(staff, BaseException)
    assert staff[0].peer == f"staff:{tanaka.id}" and staff[1].municipality == tanaka.municipality.name_ja
    assert isinstance(stale_staff, AuthRejected) and "token revoked" in stale_staff.message
    assert len({w[1].resume_token for w in welcomed}) == N  # type: ignore[index]


async def test_the_catalog_is_read_again_after_a_change_on_this_node(env: Env) -> None:
    """The shared catalog follows a change at once on the node that made it (a specialist goes on duty)."""
    kid = (await add_kiosks(env, 1))[0]
    handler = env.ctx.hub.handler
    auth = Auth(id="a", token=issue_token(env.settings.secret_key, "kiosk", kid, "kiosk", 600))
    before = {s.code: s.on_duty for s in (await handler.authenticate(auth))[1].services}
    specialist, _ = await env.staff_client("tanaka")
    await specialist.request(StatusSet(status="available"))
    after = {s.code: s.on_duty for s in (await handler.authenticate(auth))[1].services}
    assert not any(before.values())
    assert any(after.values()) and after != before


async def test_the_read_only_engine_reads_beside_a_writer_and_cannot_write(tmp_path: Path) -> None:
    """SQLite: a sign-in's lookup reads the last committed state while another connection holds the write
    lock (it used to queue behind it with BEGIN IMMEDIATE), and the read-only engine refuses writes."""
    url = make_settings(tmp_path).database_url
    writer = make_engine(url)
    reader = make_read_engine(url, writer)
    assert reader is not writer
    try:
        async with writer.begin() as conn:
            await conn.execute(text("CREATE TABLE t (v INTEGER)"))
            await conn.execute(text("INSERT INTO t VALUES (1)"))
        async with make_sessionmaker(writer)() as w, w.begin():
            await w.execute(text("UPDATE t SET v = 2"))  # the write lock is held until this block ends
            async with make_sessionmaker(reader)() as r, r.begin():
                assert (await r.execute(text("SELECT v FROM t"))).scalar_one() == 1
        async with make_sessionmaker(reader)() as r, r.begin():
            assert (await r.execute(text("SELECT v FROM t"))).scalar_one() == 2
            with pytest.raises(OperationalError, match="readonly"):
                await r.execute(text("UPDATE t SET v = 3"))
    finally:
        await reader.dispose()
        await writer.dispose()


async def test_postgresql_reads_through_the_one_pool() -> None:
    writer = make_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        assert make_read_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none", writer) is writer
    finally:
        await writer.dispose()


async def test_a_batch_answers_each_caller_and_a_failure_reaches_only_its_batch() -> None:
    batches: list[list[int]] = []

    async def square(items: list[int]) -> list[int]:
        batches.append(items)
        if -1 in items:
            raise ValueError("no negatives")
        return [i * i for i in items]

    batcher: Batcher[int, int] = Batcher(square, limit=3)
    assert await asyncio.gather(*(batcher.submit(i) for i in range(5))) == [0, 1, 4, 9, 16]
    assert batches == [[0, 1, 2], [3, 4]]  # those of one moment together, at most ``limit`` at a time
    failed = await asyncio.gather(batcher.submit(-1), batcher.submit(2), return_exceptions=True)
    assert [type(r) for r in failed] == [ValueError, ValueError]
    assert await batcher.submit(5) == 25  # the next batch runs

    wrong: Batcher[int, int] = Batcher(lambda items: square(items[:1]))
    with pytest.raises(RuntimeError, match="a batch of 2 gave 1 results"):
        await asyncio.gather(wrong.submit(1), wrong.submit(2))

    done: list[list[str]] = []

    async def record(items: list[str]) -> None:
        done.append(items)

    whole: Batcher[str, None] = Batcher(for_each(record))
    assert await asyncio.gather(whole.submit("a"), whole.submit("b")) == [None, None]
    assert done == [["a", "b"]]


@pytest.mark.skipif("pg" not in BACKENDS, reason="a PostgreSQL table lock is the stall")
async def test_a_sign_in_the_database_cannot_check_in_time_is_told_to_try_again(tmp_path: Path) -> None:
    """A stalled database (a migration's lock on the kiosk table) holds no socket: past the hub's bound the kiosk
    is told ``internal`` and closed 1011, which it retries; once the lock is gone the same token signs in.
    (Its own server and database: a lock beside a server shared with other tests could deadlock with its work.)"""
    async with server_env(make_settings(tmp_path, "pg")) as env:
        [kid] = await add_kiosks(env, 1)
        token = issue_token(env.settings.secret_key, "kiosk", kid, "kiosk", 600)
        auth = json.dumps({"type": "auth", "id": "auth-1", "token": token})
        env.ctx.hub.auth_check_timeout_s = 0.5
        locker = create_async_engine(env.settings.database_url)
        try:
            async with locker.connect() as lock:  # nothing else writes the kiosk table while no kiosk is online
                await lock.execute(text("LOCK TABLE kiosk IN ACCESS EXCLUSIVE MODE"))
                async with raw_ws(env) as ws:
                    await ws.send(auth)
                    code, frames = await closed_with(ws)
                assert [(f["type"], f["code"], f["ref"]) for f in frames] == [("error", "internal", "auth-1")]
                assert code == 1011
                await lock.rollback()
            async with raw_ws(env, token):  # welcome checked
                pass
        finally:
            await locker.dispose()


async def test_a_cancelled_batch_leaves_no_caller_waiting() -> None:
    """The loop closing cancels the batch that is running: its callers, and those queued behind it, are told so
    instead of waiting for ever (a sign-in left waiting would hold its server's shutdown)."""
    started = asyncio.Event()

    async def stall(items: list[int]) -> list[int]:
        started.set()
        await asyncio.Event().wait()
        return items

    batcher: Batcher[int, int] = Batcher(stall, limit=1)
    running, queued = asyncio.ensure_future(batcher.submit(1)), asyncio.ensure_future(batcher.submit(2))
    await started.wait()
    assert batcher._task is not None
    batcher._task.cancel()
    async with asyncio.timeout(WAIT_S):
        results = await asyncio.gather(running, queued, return_exceptions=True)
    assert [str(r) for r in results] == ["the batch was cancelled before it was done"] * 2
