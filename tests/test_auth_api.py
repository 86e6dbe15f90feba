"""Authentication and the REST role rules (DESIGN §6): staff login, kiosk enrollment and device tokens,
revocation, who may read consultation notes, and whose history a caller sees."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import select, update
from websockets.asyncio.client import connect

from server.auth import issue_token
from server.db.base import utcnow
from server.db.models import AuditEvent, CallSession, Kiosk, Staff
from server.db.seed import DEMO_PASSWORD
from signaling.protocol.messages import OfferAccept, SessionEnd, StatusSet, TicketCreate, WrapupDone
from signaling.protocol.version import SUBPROTOCOL
from tests.support import Env
from tests.test_routing import Party, World, world


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def login(http: httpx.AsyncClient, username: str, password: str = DEMO_PASSWORD) -> httpx.Response:
    return await http.post("/api/auth/login", json={"username": username, "password": password})


async def ws_auth(env: Env, token: str) -> tuple[dict[str, Any], websockets.ClientConnection]:
    ws = await connect(env.server.ws_url, subprotocols=[SUBPROTOCOL], compression=None)  # type: ignore[list-item]
    await ws.send(json.dumps({"type": "auth", "id": "a1", "token": token}))
    return json.loads(await ws.recv()), ws


async def audit_actions(env: Env) -> list[tuple[str, str]]:
    async with env.ctx.maker() as db:
        return [(a, s) for a, s in (await db.execute(select(AuditEvent.actor, AuditEvent.action))).all()]


# ---------------------------------------------------------------- staff login


async def test_login_right_and_wrong(tmp_path: Path, backend: str) -> None:
    async with world(tmp_path, backend) as w, httpx.AsyncClient(base_url=w.env.url) as http:
        r = await login(http, "takahashi")
        assert r.status_code == 200
        body = r.json()
        assert body["token_type"] == "bearer" and body["expires_in"] == w.env.settings.access_token_ttl_s
        assert body["staff"]["role"] == "specialist" and body["staff"]["municipality"] == "美幌町"
        assert set(body["staff"]["skills"]) == {"employment", "disability"}
        assert not any("password" in k or "hash" in k for k in body["staff"])
        token = body["access_token"]
        assert (await http.get("/api/staff", headers=bearer(token))).status_code == 200
        welcome, ws = await ws_auth(w.env, token)
        await ws.close()
        assert welcome["type"] == "welcome" and welcome["peer"] == f"staff:{body['staff']['id']}"

        for user, pw in (("takahashi", "wrong-password"), ("nobody", DEMO_PASSWORD), ("takahashi", "")):
            r = await login(http, user, pw)
            assert r.status_code in (401, 422), (user, r.status_code)
            assert "access_token" not in r.text
        assert ("user:takahashi", "auth.login_failed") in await audit_actions(w.env)
        # a disabled account cannot log in, and its earlier token stops working
        async with w.env.ctx.maker() as db, db.begin():
            await db.execute(update(Staff).where(Staff.username == "takahashi").values(active=False))
        assert (await login(http, "takahashi")).status_code == 401
        assert (await http.get("/api/staff", headers=bearer(token))).status_code == 401
        welcome, ws = await ws_auth(w.env, token)
        await ws.close()
        assert (welcome["type"], welcome["code"]) == ("error", "auth_failed")


async def test_bearer_token_checks(tmp_path: Path, backend: str) -> None:
    async with world(tmp_path, backend) as w, httpx.AsyncClient(base_url=w.env.url) as http:
        key = w.env.settings.secret_key
        assert (await http.get("/api/staff")).status_code == 401
        assert (await http.get("/api/staff", headers=bearer("garbage"))).status_code == 401
        assert (await http.get("/api/staff", headers=bearer(issue_token(key, "staff", 1, "specialist", -10)))
                ).status_code == 401
        other_key = issue_token("x" * 40, "staff", 1, "specialist", 600)
        assert (await http.get("/api/staff", headers=bearer(other_key))).status_code == 401
        kiosk_tok = issue_token(key, "kiosk", 1, "kiosk", 600)
        assert (await http.get("/api/staff", headers=bearer(kiosk_tok))).status_code == 403
        assert (await http.get("/api/sessions", headers=bearer(kiosk_tok))).status_code == 403


# ---------------------------------------------------------------- kiosk enrollment and tokens


async def new_enrollment(http: httpx.AsyncClient, admin_token: str, branch: str = "tsubetsu") -> tuple[int, str]:
    r = await http.post("/api/admin/kiosks", json={"branch_code": branch, "name": "test"},
                        headers=bearer(admin_token))
    assert r.status_code == 200, r.text
    return int(r.json()["kiosk_id"]), str(r.json()["code"])


async def test_kiosk_enrollment_code_works_once_and_expires(tmp_path: Path, backend: str) -> None:
    async with world(tmp_path, backend) as w, httpx.AsyncClient(base_url=w.env.url) as http:
        admin = (await login(http, "admin")).json()["access_token"]
        sato = (await login(http, "sato")).json()["access_token"]
        assert (await http.post("/api/admin/kiosks", json={"branch_code": "oketo"}, headers=bearer(sato))
                ).status_code == 403
        assert (await http.post("/api/admin/kiosks", json={"branch_code": "atlantis"}, headers=bearer(admin))
                ).status_code == 404
        kid, code = await new_enrollment(http, admin)
        assert len(code) == 8 and code.isdigit()
        wrong = f"{(int(code) + 1) % 10**8:08d}"
        assert (await http.post("/api/kiosk/enroll", json={"kiosk_id": kid, "code": wrong})).status_code == 401
        assert (await http.post("/api/kiosk/enroll", json={"kiosk_id": kid, "code": "12ab"})).status_code == 422
        r = await http.post("/api/kiosk/enroll", json={"kiosk_id": kid, "code": code})
        assert r.status_code == 200
        secret = r.json()["secret"]
        assert r.json()["branch"] == "津別町役場 窓口" and len(secret) >= 32
        # once only
        again = await http.post("/api/kiosk/enroll", json={"kiosk_id": kid, "code": code})
        assert again.status_code == 401
        # an expired code
        kid2, code2 = await new_enrollment(http, admin)
        async with w.env.ctx.maker() as db, db.begin():
            await db.execute(update(Kiosk).where(Kiosk.id == kid2)
                             .values(enroll_expires_at=utcnow() - timedelta(seconds=1)))
        assert (await http.post("/api/kiosk/enroll", json={"kiosk_id": kid2, "code": code2})).status_code == 401
        # another kiosk's code does not enroll this one
        kid3, code3 = await new_enrollment(http, admin)
        assert (await http.post("/api/kiosk/enroll", json={"kiosk_id": kid3, "code": code})).status_code == 401
        assert (await http.post("/api/kiosk/enroll", json={"kiosk_id": 99999, "code": code3})).status_code == 401

        # the device secret gets short-lived tokens; a wrong secret gets nothing
        r = await http.post("/api/kiosk/token", json={"kiosk_id": kid, "secret": secret})
        assert r.status_code == 200 and r.json()["expires_in"] == w.env.settings.kiosk_token_ttl_s
        welcome, ws = await ws_auth(w.env, r.json()["access_token"])
        await ws.close()
        assert (welcome["type"], welcome["role"], welcome["peer"]) == ("welcome", "kiosk", f"kiosk:{kid}")
        assert welcome["branch"] == "津別町役場 窓口"
        for bad in (secret[:-1] + ("A" if secret[-1] != "A" else "B"), "x" * 40):
            assert (await http.post("/api/kiosk/token", json={"kiosk_id": kid, "secret": bad})).status_code == 401
        assert (await http.post("/api/kiosk/token", json={"kiosk_id": kid3, "secret": secret})).status_code == 401
        # not yet enrolled: no credential at all
        assert (await http.post("/api/kiosk/token", json={"kiosk_id": kid3, "secret": "y" * 40})).status_code == 401
        # a kiosk token is not a staff token
        assert (await http.get("/api/sessions", headers=bearer(r.json()["access_token"]))).status_code == 403


async def test_revoked_kiosk_is_disconnected_and_gets_no_token(tmp_path: Path, backend: str,
                                                               request: pytest.FixtureRequest) -> None:
    async with world(tmp_path, backend) as w, httpx.AsyncClient(base_url=w.env.url) as http:
        admin = (await login(http, "admin")).json()["access_token"]
        kid, code = await new_enrollment(http, admin)
        secret = (await http.post("/api/kiosk/enroll", json={"kiosk_id": kid, "code": code})).json()["secret"]
        token = (await http.post("/api/kiosk/token", json={"kiosk_id": kid, "secret": secret})).json()["access_token"]
        welcome, ws = await ws_auth(w.env, token)
        assert welcome["type"] == "welcome"
        sato = (await login(http, "sato")).json()["access_token"]
        assert (await http.post(f"/api/admin/kiosks/{kid}/revoke", headers=bearer(sato))).status_code == 403
        r = await http.post(f"/api/admin/kiosks/{kid}/revoke", headers=bearer(admin))
        assert r.status_code == 200, r.text
        with pytest.raises(websockets.ConnectionClosed) as info:
            while True:
                await ws.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 4001
        # no new token; the token it still holds no longer opens a socket
        assert (await http.post("/api/kiosk/token", json={"kiosk_id": kid, "secret": secret})).status_code == 401
        welcome, ws = await ws_auth(w.env, token)
        await ws.close()
        assert (welcome["type"], welcome["code"]) == ("error", "auth_failed")
        listed = (await http.get("/api/admin/kiosks", headers=bearer(admin))).json()
        assert next(k for k in listed if k["id"] == kid)["revoked"] is True
        assert (await http.post("/api/admin/kiosks/99999/revoke", headers=bearer(admin))).status_code == 404


# ---------------------------------------------------------------- notes and history


async def served(w: World, staff: Party, kiosk: Party, service: str, note: dict[str, Any]) -> int:
    """A finished call with a note. The specialist takes the ticket from the queue or its offer; nobody
    else must be available for it (the offer would go to them)."""
    tid = (await kiosk.req(TicketCreate(service_code=service)))["ticket_id"]
    sid = int((await staff.req(OfferAccept(ticket_id=tid)))["session_id"])
    await kiosk.req(SessionEnd(session_id=sid))
    assert (await w.note(staff, sid, note)).status_code == 200
    await staff.req(WrapupDone(session_id=sid))
    return sid


async def test_notes_stay_with_the_residents_municipality(tmp_path: Path, backend: str) -> None:
    async with world(tmp_path, backend) as w, httpx.AsyncClient(base_url=w.env.url) as http:
        takahashi = await w.staff("takahashi", available=True)   # bihoro
        sato = await w.staff("sato", available=True)             # kitami
        tanaka = await w.staff("tanaka")                         # kitami supervisor
        bihoro = await w.kiosk("bihoro")
        # a Bihoro resident served by a Bihoro specialist
        sid = await served(w, takahashi, bihoro, "employment", {"category": "就労", "summary": "面接の練習"})
        # a Bihoro resident served from the shared pool by a Kitami specialist: the note is Bihoro's
        await takahashi.req(StatusSet(status="away"))
        sid_pool = await served(w, sato, bihoro, "disability", {"category": "手当", "summary": "申請"})
        it = (await login(http, "it")).json()["access_token"]
        admin = (await login(http, "admin")).json()["access_token"]

        async def read(p: Party | str, s: int) -> int:
            tok = p if isinstance(p, str) else p.token
            return (await http.get(f"/api/sessions/{s}/note", headers=bearer(tok))).status_code

        assert await read(takahashi, sid) == 200
        assert (await http.get(f"/api/sessions/{sid}/note", headers=bearer(takahashi.token))).json()["summary"] \
            == "面接の練習"
        assert await read(sato, sid) == 404          # town B cannot read town A's note
        assert await read(tanaka, sid) == 404        # not even a supervisor of town B
        assert await read(it, sid) in (403, 404)     # the IT monitor never reads notes
        assert await read(admin, sid) in (403, 404)  # nor does the admin
        assert await read(sato, sid_pool) == 200     # the author may
        assert await read(takahashi, sid_pool) == 200  # and the resident's municipality may
        assert await read(tanaka, sid_pool) == 404   # but not the author's colleagues
        assert await read(sato, 99999) == 404
        # another town may not write it either
        r = await http.put(f"/api/sessions/{sid}/note", json={"category": "x"}, headers=bearer(sato.token))
        assert r.status_code == 404
        # shared: then specialists of other towns may read it; still never IT or admin
        r = await w.note(takahashi, sid, {"category": "就労", "summary": "面接の練習", "shared": True})
        assert r.status_code == 200 and r.json()["shared"] is True
        assert await read(sato, sid) == 200 and await read(tanaka, sid) == 200
        assert await read(it, sid) in (403, 404) and await read(admin, sid) in (403, 404)
        # every read of a note is audited
        actions = await audit_actions(w.env)
        assert (f"staff:{sato.id}", "note.read") in actions


async def test_history_only_the_callers_own_sessions(tmp_path: Path, backend: str) -> None:
    async with world(tmp_path, backend) as w, httpx.AsyncClient(base_url=w.env.url) as http:
        sato = await w.staff("sato", available=True)
        suzuki = await w.staff("suzuki")
        tanaka = await w.staff("tanaka")
        kitami, bihoro = await w.kiosk("kitami-tokoro"), await w.kiosk("bihoro")
        s1 = await served(w, sato, kitami, "disability", {"category": "a"})
        s2 = await served(w, sato, kitami, "general", {"category": "b"})
        s3 = await served(w, sato, bihoro, "disability", {"category": "c"})  # shared pool, another town
        await sato.req(StatusSet(status="away"))
        await suzuki.req(StatusSet(status="available"))
        s4 = await served(w, suzuki, kitami, "guardianship", {"category": "d"})
        s5 = await served(w, suzuki, kitami, "general", {"category": "e"})
        old = utcnow() - timedelta(days=10)
        async with w.env.ctx.maker() as db, db.begin():  # s1 happened ten days ago
            await db.execute(update(CallSession).where(CallSession.id == s1).values(
                ticket_created_at=old, accepted_at=old, ended_at=old + timedelta(minutes=5)))

        async def hist(p: Party, **params: Any) -> list[int]:
            r = await http.get("/api/sessions", params=params, headers=bearer(p.token))
            assert r.status_code == 200, r.text
            return sorted(s["id"] for s in r.json())

        today, tomorrow = date.today(), date.today() + timedelta(days=1)
        assert await hist(sato) == [s1, s2, s3]
        assert await hist(suzuki) == [s4, s5]
        assert await hist(sato, branch="kitami-tokoro") == [s1, s2]
        assert await hist(sato, branch="bihoro") == [s3]
        assert await hist(sato, service="disability") == [s1, s3]
        assert await hist(sato, service="guardianship") == []              # suzuki's, not sato's
        assert await hist(sato, **{"from": str(today - timedelta(days=1))}) == [s2, s3]
        assert await hist(sato, to=str(today - timedelta(days=5))) == [s1]
        assert await hist(sato, **{"from": str(tomorrow)}) == []
        assert await hist(sato, branch="kitami-tokoro", service="general", to=str(today)) == [s2]
        assert await hist(sato, staff_id=suzuki.id) == [s1, s2, s3]        # a specialist sees only their own
        assert await hist(suzuki, service="disability") == []
        # a supervisor may look at a specialist's history, otherwise sees their own (none)
        assert await hist(tanaka, staff_id=sato.id) == [s1, s2, s3]
        assert await hist(tanaka, staff_id=sato.id, service="general") == [s2]
        assert await hist(tanaka) == []
        # the notes in a history follow the note rule: sato's own notes, never a colleague's other-town note
        rows = (await http.get("/api/sessions", headers=bearer(sato.token))).json()
        assert {r["id"]: r["note"]["category"] for r in rows} == {s1: "a", s2: "b", s3: "c"}
        rows = (await http.get("/api/sessions", params={"staff_id": sato.id}, headers=bearer(tanaka.token))).json()
        notes = {r["id"]: (r["note"] or {}).get("category") for r in rows}
        assert notes == {s1: "a", s2: "b", s3: None}  # s3's note belongs to Bihoro
        for who in ("it", "admin"):
            tok = (await login(http, who)).json()["access_token"]
            assert (await http.get("/api/sessions", headers=bearer(tok))).status_code == 403
