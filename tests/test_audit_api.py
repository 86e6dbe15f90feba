"""``GET /api/audit``: the administrators' audit view on a real server, SQLite and PostgreSQL: filters by actor,
subject, action and time, pages by seq, and answers every other role 403."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from server.db.audit import audit_at
from tests.support import Env

T0 = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)


async def test_admins_read_the_audit_log_with_filters_and_paging(env: Env) -> None:
    async with env.ctx.maker() as db, db.begin():
        for i in range(5):
            audit_at(db, T0 + timedelta(hours=i), "staff:1", "note.read", f"session:{i}")
        audit_at(db, T0 + timedelta(hours=2), "kiosk:2", "ticket.create", "ticket:9", service="disability")
    token = await env.staff_token("admin")
    async with httpx.AsyncClient(base_url=env.url, headers={"Authorization": f"Bearer {token}"}) as http:
        r = await http.get("/api/audit", params={"actor": "staff:1", "limit": 2})
        assert r.status_code == 200, r.text
        page = r.json()
        assert [i["subject"] for i in page["items"]] == ["session:4", "session:3"]  # newest first
        r = await http.get("/api/audit", params={"actor": "staff:1", "limit": 2, "before": page["next_before"]})
        assert [i["subject"] for i in r.json()["items"]] == ["session:2", "session:1"]
        r = await http.get("/api/audit", params={"actor": "staff:1", "limit": 2, "before": r.json()["next_before"]})
        assert [i["subject"] for i in r.json()["items"]] == ["session:0"] and r.json()["next_before"] is None

        r = await http.get("/api/audit", params={"subject": "ticket:9"})
        (row,) = r.json()["items"]
        assert (row["actor"], row["action"], row["detail"]) == ("kiosk:2", "ticket.create", {"service": "disability"})
        r = await http.get("/api/audit", params={"action": "note.*", "from": (T0 + timedelta(hours=1)).isoformat(),
                                                 "to": (T0 + timedelta(hours=3)).isoformat()})
        assert [i["subject"] for i in r.json()["items"]] == ["session:2", "session:1"]

        assert (await http.get("/api/audit", params={"from": "2026-12-07T00:00:00"})).status_code == 422
        assert (await http.get("/api/audit", params={"limit": 0})).status_code == 422
        # reading the log is audited too (the filters, never the rows)
        r = await http.get("/api/audit", params={"action": "audit.read", "limit": 1})
        (read,) = r.json()["items"]
        assert read["actor"].startswith("staff:") and read["detail"] == {  # the last read that answered 200
            "rows": 2, "filters": {"action": "note.*", "from": (T0 + timedelta(hours=1)).isoformat(),
                                   "to": (T0 + timedelta(hours=3)).isoformat()}}


async def test_no_other_role_reads_the_audit_log(env: Env) -> None:
    async with httpx.AsyncClient(base_url=env.url) as http:
        assert (await http.get("/api/audit")).status_code == 401
        for user in ("sato", "tanaka", "it"):
            token = await env.staff_token(user)
            r = await http.get("/api/audit", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 403, user
