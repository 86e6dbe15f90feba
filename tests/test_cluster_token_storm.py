"""The connect path absorbs a storm (DESIGN §7): many kiosks asking for tokens at once right after a restart
all get valid tokens, with no 'database is locked' (first with device secrets still hashed with argon2, which
each such request upgrades, then with the fast hashes); logins and enrollments under concurrency stay correct
(a code works once, a wrong secret is refused). Times are measured by bench/token_storm.py, not asserted."""

from __future__ import annotations

import asyncio
import logging
import secrets
from pathlib import Path

import httpx
import pytest
from sqlalchemy import insert, select

from server.admin_ops import create_enrollment
from server.api.routes.auth import DEVICE_HASH_PREFIX
from server.auth import decode_token, hash_secret
from server.db.base import utcnow
from server.db.models import AuditEvent, Branch, Kiosk
from server.db.seed import DEMO_PASSWORD
from server.db.session import make_engine, make_sessionmaker
from server.run import running_server
from server.settings import Settings
from tests.cluster_support import seeded_settings

N = 50


async def add_kiosks(settings: Settings, n: int) -> list[tuple[int, str]]:
    """n kiosks enrolled before device secrets were hashed the fast way (argon2). They share one secret: the
    server checks each request alike, and the setup hashes once instead of n times."""
    secret = secrets.token_urlsafe(32)
    hashed = await asyncio.to_thread(hash_secret, secret)
    engine = make_engine(settings.database_url)
    maker = make_sessionmaker(engine)
    async with maker() as db, db.begin():
        branch = (await db.execute(select(Branch).order_by(Branch.id).limit(1))).scalars().first()
        assert branch is not None
        await db.execute(insert(Kiosk), [{"name": f"storm-{i}", "branch_id": branch.id, "credential_hash": hashed,
                                          "enrolled_at": utcnow(), "app_version": "", "screen": "idle"}
                                         for i in range(n)])
    async with maker() as db:
        ids = {name: kid for name, kid in (await db.execute(
            select(Kiosk.name, Kiosk.id).where(Kiosk.name.like("storm-%")))).all()}
    await engine.dispose()
    return [(ids[f"storm-{i}"], secret) for i in range(n)]


async def credential_schemes(settings: Settings) -> dict[str, int]:
    engine = make_engine(settings.database_url)
    async with make_sessionmaker(engine)() as db:
        hashes = (await db.execute(select(Kiosk.credential_hash).where(Kiosk.name.like("storm-%")))).scalars().all()
    await engine.dispose()
    out: dict[str, int] = {}
    for h in hashes:
        scheme = "sha256" if (h or "").startswith(DEVICE_HASH_PREFIX) else "argon2" if (h or "").startswith(
            "$argon2") else "other"
        out[scheme] = out.get(scheme, 0) + 1
    return out


def no_locked_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "database is locked" in r.getMessage()
            or (r.exc_text and "database is locked" in r.exc_text)]


async def test_fifty_kiosks_asking_at_once_after_a_restart_all_get_valid_tokens(
        tmp_path: Path, backend: str, caplog: pytest.LogCaptureFixture) -> None:
    settings = await seeded_settings(tmp_path, backend)
    kiosks = await add_kiosks(settings, N)
    wrong = kiosks[:5]  # five more ask with a wrong secret meanwhile
    caplog.set_level(logging.WARNING)
    for storm in ("argon2, upgraded by these requests", "fast hashes"):
        async with running_server(settings) as srv:  # a fresh server each time: nothing warm
            limits = httpx.Limits(max_connections=2 * N)
            async with httpx.AsyncClient(base_url=srv.http_url, timeout=120, limits=limits) as http:
                good = [http.post("/api/kiosk/token", json={"kiosk_id": k, "secret": s}) for k, s in kiosks]
                bad = [http.post("/api/kiosk/token", json={"kiosk_id": k, "secret": s[::-1]}) for k, s in wrong]
                logins = [http.post("/api/auth/login", json={"username": u, "password": DEMO_PASSWORD})
                          for u in ("sato", "suzuki", "takahashi")]
                replies = await asyncio.gather(*good, *bad, *logins)
        good_r, bad_r, login_r = replies[:N], replies[N:N + len(wrong)], replies[N + len(wrong):]
        assert [r.status_code for r in good_r] == [200] * N, storm
        claims = [decode_token(settings.secret_key, r.json()["access_token"]) for r in good_r]
        assert [(c.kind, c.principal_id) for c in claims] == [("kiosk", k) for k, _ in kiosks]
        assert [r.status_code for r in bad_r] == [401] * len(wrong)
        assert [r.status_code for r in login_r] == [200] * 3
        assert no_locked_errors(caplog) == []
        assert await credential_schemes(settings) == {"sha256": N}


async def test_an_enrollment_code_works_once_even_when_used_twice_at_once(tmp_path: Path, backend: str) -> None:
    settings = await seeded_settings(tmp_path, backend)
    engine = make_engine(settings.database_url)
    maker = make_sessionmaker(engine)
    async with maker() as db, db.begin():
        kid, code = await create_enrollment(db, "bihoro", "", "test")
    async with running_server(settings) as srv, httpx.AsyncClient(base_url=srv.http_url, timeout=60) as http:
        first, second = await asyncio.gather(*(http.post("/api/kiosk/enroll", json={"kiosk_id": kid, "code": code})
                                               for _ in range(2)))
        assert sorted([first.status_code, second.status_code]) == [200, 401]
        secret = (first if first.status_code == 200 else second).json()["secret"]
        r = await http.post("/api/kiosk/token", json={"kiosk_id": kid, "secret": secret})
        assert r.status_code == 200
        wrong = await http.post("/api/kiosk/token", json={"kiosk_id": kid, "secret": secret[:-1] + "?"})
        assert wrong.status_code == 401
        failed = await http.post("/api/auth/login", json={"username": "nobody-here", "password": "x" * 12})
        assert failed.status_code == 401
    async with maker() as db:
        actions = (await db.execute(select(AuditEvent.action).where(
            AuditEvent.action.in_(("kiosk.enrolled", "auth.login_failed"))))).scalars().all()
        stored = await db.get(Kiosk, kid)
    await engine.dispose()
    assert sorted(actions) == ["auth.login_failed", "kiosk.enrolled"]
    assert stored is not None and stored.credential_hash is not None
    assert stored.credential_hash.startswith(DEVICE_HASH_PREFIX) and secret not in stored.credential_hash
