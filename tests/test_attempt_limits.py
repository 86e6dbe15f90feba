"""Issue 10, brute force: login and kiosk enrollment limited per client address and per account with a growing
backoff (``limits`` moving windows; Redis with several nodes), 429 with Retry-After, failures audited, one argon2
check for known and unknown usernames alike, and a bounded hashing pool."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import httpx
import pytest
from limits.aio.storage import RedisStorage
from sqlalchemy import select

from server.attempt_limits import AttemptLimiter, ClockedMemoryStorage, make_limits, redis_storage
from server.auth import hash_secret
from server.db.models import AuditEvent
from server.db.seed import DEMO_PASSWORD
from server.password_hashing import HashingBusy, PasswordHashing
from server.settings import Settings
from tests.cluster_support import redis_url
from tests.support import Env, ManualClock, make_settings, server_env

WRONG = "not the password"


def limiter(clock: ManualClock, per_address: str = "100/minute",
            per_account: str = "5/minute;20/hour") -> AttemptLimiter:
    return AttemptLimiter(ClockedMemoryStorage(clock), "login", per_address, per_account, clock)


async def test_backoff_grows_with_the_windows() -> None:
    clock = ManualClock(1_000_000.0)
    lim = limiter(clock)
    assert [(await lim.attempt("10.0.0.1", "sato")).allowed for _ in range(6)] == [True] * 5 + [False]
    refused = await lim.attempt("10.0.0.1", "sato")
    assert (refused.allowed, refused.retry_after_s) == (False, 60)
    clock.advance(59.5)
    assert (await lim.attempt("10.0.0.1", "sato")).retry_after_s == 1
    clock.advance(0.5)  # the first five leave the minute window
    assert (await lim.attempt("10.0.0.1", "sato")).allowed
    for _ in range(14):  # five a minute until the hour's twenty are used
        clock.advance(60)
        for _ in range(5):
            if not (await lim.attempt("10.0.0.1", "sato")).allowed:
                break
    hour = await lim.attempt("10.0.0.1", "sato")
    assert not hour.allowed and hour.retry_after_s > 60  # now the hour window: a longer wait
    assert (await lim.attempt("10.0.0.1", "suzuki")).allowed  # another account is not affected
    await lim.succeeded("sato")  # a right password clears the account's windows
    assert (await lim.attempt("10.0.0.1", "sato")).allowed


async def test_per_address_window_covers_every_username() -> None:
    clock = ManualClock(2_000_000.0)
    lim = limiter(clock, per_address="3/minute", per_account="100/minute")
    for i in range(3):  # successes from one address (a town hall at nine) do not count
        assert (await lim.attempt("192.0.2.7", f"ok{i}")).allowed
    for i in range(3):
        assert (await lim.attempt("192.0.2.7", f"user{i}")).allowed
        await lim.failed("192.0.2.7")
    refused = await lim.attempt("192.0.2.7", "user9")
    assert (refused.allowed, refused.retry_after_s) == (False, 60)
    assert (await lim.attempt("192.0.2.8", "user9")).allowed


async def test_limits_are_shared_by_nodes_through_redis() -> None:
    prefix = f"t-{uuid.uuid4().hex[:12]}:limits"
    (storage_a, pool_a), (storage_b, pool_b) = (redis_storage(redis_url(), prefix) for _ in range(2))
    node_a = AttemptLimiter(storage_a, "login", "100/minute", "5/minute")
    node_b = AttemptLimiter(storage_b, "login", "100/minute", "5/minute")
    try:
        for i in range(5):
            assert (await (node_a if i % 2 else node_b).attempt("10.1.1.1", "tanaka")).allowed
        refused = await node_b.attempt("10.9.9.9", "tanaka")
        assert not refused.allowed and 1 <= refused.retry_after_s <= 60
    finally:
        await storage_a.reset()
        await pool_a.disconnect()
        await pool_b.disconnect()


async def test_settings_make_redis_storage_with_several_nodes(tmp_path: Path) -> None:
    limits = make_limits(make_settings(tmp_path, redis_url=redis_url()))
    assert isinstance(limits.login.limiter.storage, RedisStorage) and limits.login.limiter.storage is \
        limits.enroll.limiter.storage
    await limits.close()
    assert isinstance(make_limits(make_settings(tmp_path)).login.limiter.storage, ClockedMemoryStorage)


async def login(http: httpx.AsyncClient, username: str, password: str, forwarded_for: str = "") -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return await http.post("/api/auth/login", json={"username": username, "password": password}, headers=headers)


async def audited(env: Env, action: str) -> int:
    async with env.ctx.maker() as db:
        return len((await db.execute(select(AuditEvent).where(AuditEvent.action == action))).scalars().all())


async def test_login_locks_the_account_with_retry_after_and_audits(env: Env) -> None:
    clock = ManualClock(3_000_000.0)
    env.ctx.limits = make_limits(env.settings, ClockedMemoryStorage(clock), clock)
    async with httpx.AsyncClient(base_url=env.url) as http:
        assert [(await login(http, "sato", WRONG)).status_code for _ in range(5)] == [401] * 5
        locked = await login(http, "sato", DEMO_PASSWORD)  # even the right password waits
        assert locked.status_code == 429 and locked.headers["Retry-After"] == "60"
        assert "access_token" not in locked.text
        assert (await login(http, "suzuki", DEMO_PASSWORD)).status_code == 200  # others are not locked out
        clock.advance(60)
        assert (await login(http, "sato", DEMO_PASSWORD)).status_code == 200
    assert await audited(env, "auth.login_failed") == 5


async def test_login_limit_per_address(tmp_path: Path) -> None:
    async with server_env(make_settings(tmp_path, login_limit_per_address="4/minute")) as env, \
            httpx.AsyncClient(base_url=env.url) as http:
        codes = [(await login(http, user, WRONG)).status_code for user in ("a1", "a2", "a3", "a4", "a5")]
        assert codes == [401, 401, 401, 401, 429]


async def test_enrollment_guesses_are_limited_and_audited(env: Env) -> None:
    from server.admin_ops import create_enrollment

    async with env.ctx.maker() as db, db.begin():
        kid, code = await create_enrollment(db, "oketo", "", "test")
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    async with httpx.AsyncClient(base_url=env.url) as http:
        codes = [(await http.post("/api/kiosk/enroll", json={"kiosk_id": kid, "code": wrong})).status_code
                 for _ in range(6)]
        assert codes == [401] * 5 + [429]
        last = await http.post("/api/kiosk/enroll", json={"kiosk_id": kid, "code": code})
        assert last.status_code == 429 and int(last.headers["Retry-After"]) > 0
    assert await audited(env, "kiosk.enroll_failed") == 5


async def test_known_and_unknown_usernames_cost_one_check_each(env: Env) -> None:
    hashing = env.ctx.hashing
    async with httpx.AsyncClient(base_url=env.url) as http:
        for user in ("takahashi", "no-such-user", "admin", "ghost"):
            before = hashing.verifications
            assert (await login(http, user, WRONG)).status_code == 401
            assert hashing.verifications == before + 1, user


async def test_the_hashing_pool_is_bounded() -> None:
    pool = PasswordHashing(max_waiting=1, threads=1)
    try:
        hashed = hash_secret("x" * 12)
        results = await asyncio.gather(*(pool.verify(hashed, "x" * 12) for _ in range(3)), return_exceptions=True)
        assert results[:2] == [True, True] and isinstance(results[2], HashingBusy)
        assert await pool.verify(hashed, "wrong") is False  # free again
    finally:
        pool.close()


@pytest.mark.parametrize("path", ["/api/auth/login"])
async def test_busy_pool_answers_503(sqlite_env: Env, path: str) -> None:
    env = sqlite_env
    env.ctx.hashing.close()
    env.ctx.hashing = PasswordHashing(max_waiting=0, threads=1)
    async with httpx.AsyncClient(base_url=env.url) as http:
        rs = await asyncio.gather(*(login(http, f"user{i}", WRONG) for i in range(4)))
    codes = sorted(r.status_code for r in rs)
    assert 401 in codes and 503 in codes
    assert all(r.headers.get("Retry-After") == "1" for r in rs if r.status_code == 503)


async def test_memory_storage_forgets_addresses_seen_long_ago() -> None:
    clock = ManualClock(4_000_000.0)
    lim = limiter(clock, per_address="100/minute", per_account="100/minute")
    storage = lim.limiter.storage
    assert isinstance(storage, ClockedMemoryStorage)
    for i in range(1024):  # 1,024 accounts seen once, a day ago
        await lim.attempt("203.0.113.1", f"once{i}")
    clock.advance(86_401)
    for i in range(1024):  # the next prune drops them
        await lim.attempt("203.0.113.2", f"now{i}")
    assert not any("once" in k for k in storage.windows) and not any("once" in k for k in storage.locks)


def thread_nices() -> dict[str, set[int]]:
    """This process's threads by OS name, with their nice values (Linux /proc)."""
    nices: dict[str, set[int]] = {}
    for tid in os.listdir(f"/proc/{os.getpid()}/task"):
        comm = Path(f"/proc/{os.getpid()}/task/{tid}/comm").read_text().strip()
        fields = Path(f"/proc/{os.getpid()}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        nices[comm] = nices.get(comm, set()) | {int(fields[16])}
    return nices


async def test_hashing_threads_run_at_the_configured_priority() -> None:
    pool = PasswordHashing(max_waiting=1, threads=1, nice=19)
    try:
        await pool.verify(hash_secret("x" * 12), "y")
        nices = set().union(*thread_nices().values())  # threads carry no OS names here
        assert 19 in nices, nices  # the pool thread
        assert os.getpriority(os.PRIO_PROCESS, 0) == 0  # the event loop's thread keeps its priority
    finally:
        pool.close()
    assert make_settings(Path("/tmp")).hash_nice == 0 and Settings.model_fields["hash_nice"].default == 10


async def test_a_forged_forwarded_for_does_not_escape_the_address_limit(tmp_path: Path) -> None:
    """No proxy is trusted by default: a client that writes a new X-Forwarded-For on each guess is still one
    address (uvicorn alone would believe any X-Forwarded-For sent from 127.0.0.1)."""
    async with server_env(make_settings(tmp_path, login_limit_per_address="4/minute")) as env, \
            httpx.AsyncClient(base_url=env.url) as http:
        codes = [(await login(http, f"a{i}", WRONG, forwarded_for=f"203.0.113.{i}")).status_code for i in range(5)]
        assert codes == [401, 401, 401, 401, 429]
    async with env.ctx.maker() as db:
        rows = (await db.execute(select(AuditEvent).where(AuditEvent.action == "auth.login_failed"))).scalars().all()
    assert {r.detail["address"] for r in rows} == {"127.0.0.1"}


async def test_behind_a_trusted_proxy_each_client_has_its_own_limit(tmp_path: Path) -> None:
    """MADOGUCHI_TRUSTED_PROXIES names the reverse proxy: the address it forwards (the right-most one it added)
    is the client's, for the limits and the audit; an address the client itself put in front counts for nothing."""
    settings = make_settings(tmp_path, login_limit_per_address="2/minute", trusted_proxies=["127.0.0.1"])
    async with server_env(settings) as env, httpx.AsyncClient(base_url=env.url) as http:
        first = [(await login(http, f"b{i}", WRONG, forwarded_for="198.51.100.7")).status_code for i in range(3)]
        other = [(await login(http, f"c{i}", WRONG, forwarded_for="1.2.3.4, 198.51.100.8")).status_code
                 for i in range(3)]
        assert first == [401, 401, 429] and other == [401, 401, 429]
    async with env.ctx.maker() as db:
        rows = (await db.execute(select(AuditEvent).where(AuditEvent.action == "auth.login_failed"))).scalars().all()
    assert sorted(r.detail["address"] for r in rows) == ["198.51.100.7"] * 2 + ["198.51.100.8"] * 2
