"""Issue 10, tokens: access tokens of at most 10 minutes, rotating refresh tokens (stored hashed, revocable,
a reused one ends its family), a per-account token version bumped on password reset, role change and disable,
checked on every REST call and applied to live sockets (on other nodes too), and the monitor feed's own
credential. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from pydantic import ValidationError
from sqlalchemy import select, update
from websockets.asyncio.client import ClientConnection, connect

from server.admin_ops import revoke_kiosk, update_staff
from server.auth import InvalidToken, decode_token, issue_token
from server.db.models import AuditEvent, RefreshToken, Staff
from server.settings import Settings
from signaling.client import RequestFailed, SignalingClient
from signaling.protocol.errors import CloseCode
from signaling.protocol.messages import SessionJoin
from signaling.protocol.version import SUBPROTOCOL
from staff_console.services.server_api import ApiError, StaffApi
from tests.support import WAIT_S, Env, eventually, make_settings
from tests.test_two_nodes import two_nodes


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def login(env: Env, username: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=env.url) as http:
        r = await http.post("/api/auth/login", json={"username": username, "password": "madoguchi-demo"})
        assert r.status_code == 200, r.text
        return dict(r.json())


async def refresh(env: Env, token: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=env.url) as http:
        return await http.post("/api/auth/refresh", json={"refresh_token": token})


async def get(env: Env, path: str, token: str) -> int:
    async with httpx.AsyncClient(base_url=env.url) as http:
        return (await http.get(path, headers=bearer(token))).status_code


async def ws_open(env: Env, token: str) -> tuple[dict[str, Any], ClientConnection]:
    ws = await connect(env.server.ws_url, subprotocols=[SUBPROTOCOL], compression=None)  # type: ignore[list-item]
    await ws.send(json.dumps({"type": "auth", "id": "a1", "token": token}))
    return json.loads(await asyncio.wait_for(ws.recv(), WAIT_S)), ws


async def closed_with(ws: ClientConnection) -> int | None:
    """Read until the server closes the socket; its close code."""
    try:
        async with asyncio.timeout(WAIT_S):
            async for _ in ws:
                pass
    except websockets.ConnectionClosed:
        pass
    return ws.close_code


async def admin_patch(env: Env, staff_id: int, body: dict[str, Any]) -> None:
    admin = (await login(env, "admin"))["access_token"]
    async with httpx.AsyncClient(base_url=env.url) as http:
        r = await http.patch(f"/api/admin/staff/{staff_id}", json=body, headers=bearer(admin))
        assert r.status_code == 200, r.text


async def staff_id(env: Env, username: str) -> int:
    async with env.ctx.maker() as db:
        return int((await db.execute(select(Staff.id).where(Staff.username == username))).scalar_one())


# ---------------------------------------------------------------- lifetimes and refresh


def test_access_tokens_live_at_most_ten_minutes(tmp_path: Path) -> None:
    assert Settings.model_fields["access_token_ttl_s"].default <= 600
    assert Settings.model_fields["kiosk_token_ttl_s"].default <= 600
    for field in ("access_token_ttl_s", "kiosk_token_ttl_s"):
        with pytest.raises(ValidationError):
            make_settings(tmp_path, **{field: 3600})


async def test_refresh_rotates_and_a_reused_token_ends_the_family(env: Env) -> None:
    body = await login(env, "sato")
    assert body["expires_in"] <= 600 and body["refresh_expires_in"] == env.settings.refresh_token_ttl_s
    r1 = body["refresh_token"]
    second = await refresh(env, r1)
    assert second.status_code == 200
    r2, access2 = second.json()["refresh_token"], second.json()["access_token"]
    assert r2 != r1 and await get(env, "/api/staff", access2) == 200
    # stored hashed: no column holds the token itself
    async with env.ctx.maker() as db:
        rows = (await db.execute(select(RefreshToken))).scalars().all()
    assert len(rows) == 2 and all(r1 not in (t.token_hash, t.family) and r2 != t.token_hash for t in rows)
    # r1 again (a stolen copy): refused, and the family with it, so r2 is dead too
    assert (await refresh(env, r1)).status_code == 401
    assert (await refresh(env, r2)).status_code == 401
    async with env.ctx.maker() as db:
        actions = list((await db.execute(select(AuditEvent.action))).scalars())
    assert "auth.refresh_reused" in actions
    # another login is a family of its own, untouched; garbage is refused
    other = await login(env, "sato")
    assert (await refresh(env, other["refresh_token"])).status_code == 200
    assert (await refresh(env, "x" * 43)).status_code == 401


async def test_logout_revokes_the_login(env: Env) -> None:
    body = await login(env, "suzuki")
    async with httpx.AsyncClient(base_url=env.url) as http:
        r = await http.post("/api/auth/logout", json={"refresh_token": body["refresh_token"]})
    assert r.json() == {"logged_out": True}
    assert (await refresh(env, body["refresh_token"])).status_code == 401


# ---------------------------------------------------------------- token version: REST and live sockets


async def test_password_reset_ends_tokens_refresh_and_socket(env: Env) -> None:
    body = await login(env, "takahashi")
    access, sid = body["access_token"], body["staff"]["id"]
    welcome, ws = await ws_open(env, access)
    assert welcome["type"] == "welcome"
    admin = (await login(env, "admin"))["access_token"]
    async with httpx.AsyncClient(base_url=env.url) as http:
        r = await http.post(f"/api/admin/staff/{sid}/password", json={"password": "a brand new secret"},
                            headers=bearer(admin))
        assert r.status_code == 200
    assert await closed_with(ws) == CloseCode.REVOKED
    assert await get(env, "/api/sessions", access) == 401  # the old token, still unexpired
    assert (await refresh(env, body["refresh_token"])).status_code == 401
    again, ws2 = await ws_open(env, access)
    await ws2.close()
    assert (again["type"], again["code"]) == ("error", "auth_failed")


async def test_role_change_reauthorises_the_socket_and_a_demoted_supervisor_cannot_join(env: Env) -> None:
    api = StaffApi(env.url)
    await api.login("tanaka", "madoguchi-demo")
    old_access = api.token
    assert old_access is not None
    client = SignalingClient(env.server.ws_url, api.refresh, backoff_max_s=0.5)  # as the console: refresh per connect
    env.clients.append(client)
    await client.start()
    assert (await client.wait_online(WAIT_S)).role == "supervisor"
    connects = client.connects
    await admin_patch(env, api.staff["id"], {"role": "it_monitor"})
    await eventually(lambda: client.connects > connects and client.state == "online", what="reconnected")
    assert client.welcome is not None and client.welcome.role == "it_monitor"
    with pytest.raises(RequestFailed) as refused:
        await client.request(SessionJoin(session_id=1))
    assert refused.value.code == "forbidden"
    assert await get(env, "/api/sessions", old_access) == 401  # the supervisor's token is over
    assert decode_token(env.settings.secret_key, api.token or "").role == "it_monitor"


async def test_console_api_renews_an_expired_access_token(env: Env) -> None:
    api = StaffApi(env.url)
    await api.login("sato", "madoguchi-demo")
    me = await staff_id(env, "sato")
    api.token = issue_token(env.settings.secret_key, "staff", me, "specialist", -5)  # expired
    assert isinstance(await api.history(), list)  # 401, refreshed once, retried
    assert api.token is not None and decode_token(env.settings.secret_key, api.token).principal_id == me
    await api.logout()
    api.token = issue_token(env.settings.secret_key, "staff", me, "specialist", -5)
    with pytest.raises(ApiError) as ended:
        await api.history()
    assert ended.value.status == 401


async def test_changes_made_outside_the_api_reach_live_sockets(env: Env) -> None:
    """The CLI (or SQL) changes the database only: each node's account watch closes the sockets."""
    sato = await login(env, "sato")
    suzuki = await login(env, "suzuki")
    _, ws_sato = await ws_open(env, sato["access_token"])
    _, ws_suzuki = await ws_open(env, suzuki["access_token"])
    kid, secret = await env.enroll_kiosk("oketo")
    _, ws_kiosk = await ws_open(env, await env.kiosk_token(kid, secret))
    async with env.ctx.maker() as db, db.begin():
        await update_staff(db, sato["staff"]["id"], "cli", active=False)
        await db.execute(update(Staff).where(Staff.id == suzuki["staff"]["id"])
                         .values(token_version=Staff.token_version + 1))
        await revoke_kiosk(db, kid, "cli")
    started = time.monotonic()
    codes = await asyncio.gather(closed_with(ws_sato), closed_with(ws_suzuki), closed_with(ws_kiosk))
    print(f"account watch closed 3 sockets {time.monotonic() - started:.2f} s after the commit")
    assert codes == [CloseCode.REVOKED, CloseCode.CREDENTIALS_CHANGED, CloseCode.REVOKED]


async def test_a_disabled_account_loses_its_monitor_feed(env: Env) -> None:
    it_id = await staff_id(env, "it")
    # a credential close to its expiry: the feed renews it at once, with a monitor-only credential
    short = issue_token(env.settings.secret_key, "staff", it_id, "it_monitor", 20)
    url = env.server.ws_url.replace("/ws", "/monitor/feed")
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "auth", "token": short}))
        renewed: str | None = None
        while renewed is None:
            msg = json.loads(await asyncio.wait_for(ws.recv(), WAIT_S))
            if msg["type"] == "token":
                renewed = str(msg["access_token"])
        with pytest.raises(InvalidToken):
            decode_token(env.settings.secret_key, renewed)  # not an access token
        assert await get(env, "/api/sessions", renewed) == 401
        welcome, ws_main = await ws_open(env, renewed)
        await ws_main.close()
        assert (welcome["type"], welcome["code"]) == ("error", "auth_failed")
        async with websockets.connect(url) as reload:  # ... but it opens the feed (a reload of the page)
            await reload.send(json.dumps({"type": "auth", "token": renewed}))
            assert json.loads(await asyncio.wait_for(reload.recv(), WAIT_S))["type"] == "hello"
        async with env.ctx.maker() as db, db.begin():  # disabled outside the API: no push, the feed's recheck
            await update_staff(db, it_id, "cli", active=False)
        frames: list[dict[str, Any]] = []
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                frames.append(json.loads(await asyncio.wait_for(ws.recv(), WAIT_S)))
        assert frames[-1]["type"] == "error" and frames[-1]["status"] == 401
        assert ws.close_code == CloseCode.UNAUTHENTICATED
    async with env.ctx.maker() as db, db.begin():  # enabled again: the old credential stays dead (version)
        await db.execute(update(Staff).where(Staff.id == it_id).values(active=True))
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "auth", "token": renewed}))
        assert json.loads(await asyncio.wait_for(ws.recv(), WAIT_S))["status"] == 401


# ---------------------------------------------------------------- several nodes


async def test_a_role_change_on_one_node_closes_the_socket_on_another(tmp_path: Path, backend: str) -> None:
    if backend != "pg":
        pytest.skip("several nodes share PostgreSQL")
    async with two_nodes(tmp_path) as (a, b):
        tanaka = await login(b, "tanaka")
        welcome, ws = await ws_open(b, tanaka["access_token"])
        assert welcome["role"] == "supervisor"
        await admin_patch(a, tanaka["staff"]["id"], {"role": "specialist"})
        assert await closed_with(ws) == CloseCode.CREDENTIALS_CHANGED
        assert await get(b, "/api/sessions", tanaka["access_token"]) == 401
        renewed = await refresh(b, tanaka["refresh_token"])
        assert renewed.status_code == 200 and renewed.json()["staff"]["role"] == "specialist"
