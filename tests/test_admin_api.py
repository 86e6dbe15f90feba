"""The admin REST API behind /admin (issue 13 item 1): who may call it, whose data each administrator reaches,
field errors, and the audit rows every change leaves. Real server, real SQLite file (and PostgreSQL when
MADOGUCHI_TEST_PG_URL is set)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from server.audit.verify import verify_chain
from server.db.models import AuditEvent, Branch, Kiosk, Service, Staff
from tests.support import Env

REGION_ADMIN = "admin"  # Kitami's: Kitami hosts the shared window (MADOGUCHI_REGION_ADMIN_MUNICIPALITY)
OKETO_ADMIN = {"username": "oketo-admin", "display_name": "置戸 管理者", "municipality_code": "oketo",
               "role": "admin", "password": "oketo admin passphrase"}
NEW_BRANCH = {"municipality_code": "oketo", "code": "oketo-katsuyama", "name_ja": "置戸町 勝山出張所",
              "name_en": "Oketo Katsuyama Office", "distance_km": 48.5}
# every admin route, with a body that would be valid for an administrator
ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/admin/staff", None), ("GET", "/api/admin/kiosks", None),
    ("GET", "/api/admin/municipalities", None), ("GET", "/api/admin/branches", None),
    ("GET", "/api/admin/services", None), ("GET", "/api/admin/settings", None), ("GET", "/api/audit", None),
    ("POST", "/api/admin/staff", {**OKETO_ADMIN, "role": "specialist"}),
    ("PATCH", "/api/admin/staff/1", {"display_name": "x"}), ("POST", "/api/admin/staff/1/password", {}),
    ("POST", "/api/admin/kiosks", {"branch_code": "oketo"}), ("PATCH", "/api/admin/kiosks/1", {"name": "x"}),
    ("POST", "/api/admin/kiosks/1/revoke", None),
    ("PATCH", "/api/admin/municipalities/oketo", {"name_en": "x"}),
    ("POST", "/api/admin/branches", NEW_BRANCH), ("PATCH", "/api/admin/branches/oketo", {"distance_km": 1}),
    ("POST", "/api/admin/services", {"code": "housing", "name_ja": "住まい", "name_en": "Housing"}),
    ("PATCH", "/api/admin/services/employment", {"name_en": "x"}),
]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def call(http: httpx.AsyncClient, token: str, method: str, path: str,
               body: dict[str, Any] | None = None) -> httpx.Response:
    return await http.request(method, path, json=body, headers=bearer(token))


async def audit_rows(env: Env, actor: str) -> list[tuple[str, str, dict[str, Any]]]:
    async with env.ctx.maker() as db:
        rows = (await db.execute(select(AuditEvent.action, AuditEvent.subject, AuditEvent.detail)
                                 .where(AuditEvent.actor == actor).order_by(AuditEvent.seq))).all()
    return [(a, s, d) for a, s, d in rows if a != "audit.read"]


async def staff_id(env: Env, username: str) -> int:
    async with env.ctx.maker() as db:
        return int((await db.execute(select(Staff.id).where(Staff.username == username))).scalar_one())


async def test_other_roles_are_refused_everywhere(env: Env) -> None:
    async with httpx.AsyncClient(base_url=env.url) as http:
        for username in ("it", "tanaka", "sato"):  # IT monitor, supervisor, specialist
            token = await env.issued_token(username)
            for method, path, body in ROUTES:
                r = await call(http, token, method, path, body)
                assert r.status_code == 403, (username, method, path, r.text)
        assert (await http.get("/api/admin/staff")).status_code == 401  # no token at all
    async with env.ctx.maker() as db:
        assert (await db.execute(select(func.count()).select_from(Branch))).scalar() == 5
        assert (await db.execute(select(Service.name_en).where(Service.code == "employment"))).scalar() == \
            "Employment support"
        assert (await db.execute(select(func.count()).select_from(Kiosk))).scalar() == 0
        actions = (await db.execute(select(AuditEvent.action))).scalars().all()
    assert not [a for a in actions if a.split(".")[0] in ("staff", "kiosk", "branch", "service", "municipality")]


async def test_a_municipal_admin_reaches_only_their_municipality(env: Env) -> None:
    async with httpx.AsyncClient(base_url=env.url) as http:
        region = await env.issued_token(REGION_ADMIN)
        assert (await call(http, region, "POST", "/api/admin/staff", OKETO_ADMIN)).status_code == 201
        oketo = await env.staff_token(OKETO_ADMIN["username"], OKETO_ADMIN["password"])
        bihoro_kiosk = (await call(http, region, "POST", "/api/admin/kiosks", {"branch_code": "bihoro"})).json()
        sato = await staff_id(env, "sato")
        seen = (await call(http, oketo, "GET", "/api/admin/settings")).json()
        assert (seen["municipality"], seen["region"], seen["username"]) == ("oketo", False, "oketo-admin")

        # another municipality's staff, kiosks, branches, name; the region-wide services: 403, nothing changed
        refused = [("PATCH", f"/api/admin/staff/{sato}", {"active": False}),
                   ("POST", f"/api/admin/staff/{sato}/password", {}),
                   ("POST", "/api/admin/staff", {**OKETO_ADMIN, "username": "intruder", "municipality_code": "kitami"}),
                   ("POST", "/api/admin/kiosks", {"branch_code": "bihoro"}),
                   ("PATCH", f"/api/admin/kiosks/{bihoro_kiosk['kiosk_id']}", {"name": "mine now"}),
                   ("POST", f"/api/admin/kiosks/{bihoro_kiosk['kiosk_id']}/revoke", None),
                   ("PATCH", "/api/admin/municipalities/bihoro", {"outside_supervision": True}),
                   ("PATCH", "/api/admin/branches/bihoro", {"distance_km": 1}),
                   ("POST", "/api/admin/branches", {**NEW_BRANCH, "municipality_code": "bihoro", "code": "bihoro-x"}),
                   ("PATCH", "/api/admin/services/employment", {"name_en": "Jobs"}),
                   ("POST", "/api/admin/services", {"code": "housing", "name_ja": "住まい", "name_en": "Housing"})]
        for method, path, body in refused:
            r = await call(http, oketo, method, path, body)
            assert r.status_code == 403, (method, path, r.text)
        assert (await env.staff_token("sato")) != ""  # sato's password and account are untouched
        async with env.ctx.maker() as db:
            k = await db.get(Kiosk, bihoro_kiosk["kiosk_id"])
            assert k is not None and k.revoked_at is None and k.name != "mine now"
            b = (await db.execute(select(Branch).where(Branch.code == "bihoro"))).scalar_one()
            assert (b.distance_km, b.municipality.outside_supervision) == (27.0, False)
            assert (await db.execute(select(Staff.id).where(Staff.username == "intruder"))).first() is None

        # lists hold only their own municipality
        listed = {path: (await call(http, oketo, "GET", path)).json() for path in (
            "/api/admin/staff", "/api/admin/kiosks", "/api/admin/municipalities", "/api/admin/branches")}
        assert {s["municipality"] for s in listed["/api/admin/staff"]} == {"oketo"}
        assert listed["/api/admin/kiosks"] == []
        assert [m["code"] for m in listed["/api/admin/municipalities"]] == ["oketo"]
        assert [b["code"] for b in listed["/api/admin/branches"]] == ["oketo"]
        assert len((await call(http, oketo, "GET", "/api/admin/services")).json()) == 4  # read, not changed

        # their own: allowed
        assert (await call(http, oketo, "POST", "/api/admin/branches", NEW_BRANCH)).status_code == 201
        assert (await call(http, oketo, "PATCH", "/api/admin/municipalities/oketo",
                           {"name_en": "Oketo"})).json()["name_en"] == "Oketo"
        own = (await call(http, oketo, "POST", "/api/admin/kiosks", {"branch_code": "oketo-katsuyama"})).json()
        assert [k["id"] for k in (await call(http, oketo, "GET", "/api/admin/kiosks")).json()] == [own["kiosk_id"]]
        takahashi = await staff_id(env, "takahashi")
        r = await call(http, region, "PATCH", f"/api/admin/staff/{takahashi}", {"languages": ["ja", "en"]})
        assert r.status_code == 200  # the region's administrator reaches every municipality

        # the audit view: only rows whose actor or subject is Oketo's
        oketo_id = await staff_id(env, "oketo-admin")
        rows = (await call(http, oketo, "GET", "/api/audit?limit=500")).json()["items"]
        mine = {f"staff:{oketo_id}", f"kiosk:{own['kiosk_id']}", "branch:oketo-katsuyama", "municipality:oketo"}
        assert {r["action"] for r in rows} >= {"staff.created", "branch.created", "municipality.updated",
                                              "kiosk.enroll_code"}
        assert all(r["actor"] in mine or r["subject"] in mine for r in rows), rows
        assert not [r for r in rows if r["subject"] in (f"kiosk:{bihoro_kiosk['kiosk_id']}", f"staff:{takahashi}")]
        assert len((await call(http, region, "GET", "/api/audit?limit=500")).json()["items"]) > len(rows)
    # refused requests wrote nothing; allowed ones wrote what they did
    assert [a for a, _, _ in await audit_rows(env, f"staff:{oketo_id}") if not a.startswith("auth.")] == [
        "branch.created", "municipality.updated", "kiosk.enroll_code"]


async def test_rule_errors_name_their_field(env: Env) -> None:
    async with httpx.AsyncClient(base_url=env.url) as http:
        admin = await env.issued_token(REGION_ADMIN)
        cases: list[tuple[str, str, dict[str, Any], int, str, str]] = [
            ("POST", "/api/admin/branches", {**NEW_BRANCH, "distance_km": -1}, 422, "distance_km",
             "greater_than_equal"),
            ("POST", "/api/admin/branches", {**NEW_BRANCH, "distance_km": "far"}, 422, "distance_km", "float_parsing"),
            ("POST", "/api/admin/branches", {**NEW_BRANCH, "code": "Oketo East"}, 422, "code",
             "string_pattern_mismatch"),
            ("POST", "/api/admin/branches", {**NEW_BRANCH, "code": "oketo"}, 409, "code", "madoguchi.code_taken"),
            ("POST", "/api/admin/branches", {**NEW_BRANCH, "name_ja": ""}, 422, "name_ja", "string_too_short"),
            ("PATCH", "/api/admin/branches/oketo", {"distance_km": 5000}, 422, "distance_km", "less_than_equal"),
            ("PATCH", "/api/admin/services/employment", {"name_ja": ""}, 422, "name_ja", "string_too_short"),
            ("PATCH", "/api/admin/services/employment", {"hours_en": "x" * 129}, 422, "hours_en", "string_too_long"),
            ("POST", "/api/admin/services", {"code": "general", "name_ja": "a", "name_en": "b"}, 409, "code",
             "madoguchi.code_taken"),
            ("POST", "/api/admin/kiosks", {"branch_code": "oketo", "selfcheck_pin": "123456"}, 422, "selfcheck_pin",
             "madoguchi.pin_weak"),
            ("PATCH", "/api/admin/kiosks/1", {"name": ""}, 422, "name", "string_too_short"),
            ("POST", "/api/admin/staff", {**OKETO_ADMIN, "password": "short"}, 422, "password",
             "madoguchi.password_short"),
            ("POST", "/api/admin/staff", {**OKETO_ADMIN, "username": "sato"}, 409, "username",
             "madoguchi.username_taken"),
            ("POST", "/api/admin/staff", {**OKETO_ADMIN, "skills": ["astrology"]}, 422, "skills",
             "madoguchi.unknown_service"),
            ("PATCH", "/api/admin/municipalities/oketo", {"name_en": "x" * 65}, 422, "name_en", "string_too_long"),
        ]
        for method, path, body, status, field, kind in cases:
            r = await call(http, admin, method, path, body)
            assert r.status_code == status, (path, body, r.text)
            errors = r.json()["detail"]
            assert [(e["loc"][:2], e["type"]) for e in errors] == [(["body", field], kind)], (path, body, errors)
            assert errors[0]["msg"]
        r = await call(http, admin, "POST", "/api/admin/staff", {**OKETO_ADMIN, "password": "short"})
        assert r.json()["detail"][0]["ctx"] == {"min": 12}
        for method, path, body in [("PATCH", "/api/admin/services/astrology", {"name_en": "x"}),
                                   ("PATCH", "/api/admin/branches/atlantis", {"distance_km": 1}),
                                   ("POST", "/api/admin/branches", {**NEW_BRANCH, "municipality_code": "atlantis"}),
                                   ("PATCH", "/api/admin/kiosks/999", {"name": "x"})]:
            assert (await call(http, admin, method, path, body)).status_code == 404, path
    async with env.ctx.maker() as db:
        assert (await db.execute(select(Branch.distance_km).where(Branch.code == "oketo"))).scalar() == 43.0
        assert (await db.execute(select(Service.name_ja).where(Service.code == "employment"))).scalar() == "就労の相談"
    admin_id = await staff_id(env, REGION_ADMIN)
    assert [a for a, _, _ in await audit_rows(env, f"staff:{admin_id}")] == []  # nothing half-done


async def test_each_change_is_audited_with_what_changed(env: Env) -> None:
    async with httpx.AsyncClient(base_url=env.url) as http:
        admin = await env.issued_token(REGION_ADMIN)
        assert (await call(http, admin, "PATCH", "/api/admin/municipalities/oketo",
                           {"name_ja": "置戸町", "name_en": "Oketo"})).status_code == 200
        assert (await call(http, admin, "PATCH", "/api/admin/municipalities/oketo", {"name_en": "Oketo"})).status_code \
            == 200  # nothing changes: nothing is written
        assert (await call(http, admin, "POST", "/api/admin/branches", NEW_BRANCH)).status_code == 201
        r = await call(http, admin, "PATCH", "/api/admin/branches/oketo-katsuyama", {"distance_km": 47, "name_ja":
                                                                                    "置戸町 勝山出張所"})
        assert r.json()["distance_km"] == 47
        r = await call(http, admin, "PATCH", "/api/admin/services/employment",
                       {"name_ja": "仕事の相談", "name_en": "Work", "shared": False})
        assert (r.json()["name_ja"], r.json()["name_en"], r.json()["shared"]) == ("仕事の相談", "Work", False)
        r = await call(http, admin, "POST", "/api/admin/services",
                       {"code": "housing", "name_ja": "住まいの相談", "name_en": "Housing", "hours_ja": "平日"})
        assert r.status_code == 201
        public = {s["code"]: s for s in (await http.get("/api/services")).json()}  # what kiosks are given
        assert public["housing"]["name_ja"] == "住まいの相談" and public["employment"]["name_en"] == "Work"
        made = (await call(http, admin, "POST", "/api/admin/staff", {**OKETO_ADMIN, "role": "specialist",
                                                                     "password": None, "skills": ["housing"]})).json()
        first = made["password"]
        assert made["skills"] == ["housing"] and len(first) == 19
        assert (await env.staff_token(OKETO_ADMIN["username"], first)) != ""
        second = (await call(http, admin, "POST", f"/api/admin/staff/{made['id']}/password", {})).json()["password"]
        assert second and second != first
        assert (await http.post("/api/auth/login", json={"username": "oketo-admin", "password": first})
                ).status_code == 401
        kiosk = (await call(http, admin, "POST", "/api/admin/kiosks", {"branch_code": "oketo-katsuyama"})).json()
        assert kiosk["qr_svg"].startswith("data:image/svg+xml") and f"code={kiosk['code']}" in kiosk["qr_text"]
        assert (await call(http, admin, "PATCH", f"/api/admin/kiosks/{kiosk['kiosk_id']}", {"name": "勝山 1"})
                ).json()["name"] == "勝山 1"
        listed = (await call(http, admin, "GET", "/api/admin/kiosks")).json()
        assert [(k["name"], k["enrolled"], k["enroll_expires_at"] is not None) for k in listed] == [
            ("勝山 1", False, True)]
        settings = (await call(http, admin, "GET", "/api/admin/settings")).json()
        assert settings["region"] is True and settings["shared_pool_after_s"] == env.settings.shared_pool_after_s
        assert {r["record"]: r["days"] for r in settings["retention"]} == env.settings.retention_days
    admin_id = await staff_id(env, REGION_ADMIN)
    rows = await audit_rows(env, f"staff:{admin_id}")
    assert [(a, s) for a, s, _ in rows] == [
        ("municipality.updated", "municipality:oketo"), ("branch.created", "branch:oketo-katsuyama"),
        ("branch.updated", "branch:oketo-katsuyama"), ("service.updated", "service:employment"),
        ("service.created", "service:housing"), ("staff.created", f"staff:{made['id']}"),
        ("staff.password_reset", f"staff:{made['id']}"), ("kiosk.enroll_code", f"kiosk:{kiosk['kiosk_id']}"),
        ("kiosk.renamed", f"kiosk:{kiosk['kiosk_id']}")]
    details = [d for _, _, d in rows]
    assert details[0] == {"name_en": "Oketo"}  # only what changed
    assert details[2] == {"distance_km": 47}
    assert details[3] == {"name_ja": "仕事の相談", "name_en": "Work", "shared": False}
    assert first not in repr(rows) and second not in repr(rows) and kiosk["code"] not in repr(rows)
    async with env.ctx.maker() as db:
        conn = await db.connection()
        assert (await conn.run_sync(verify_chain)).ok
