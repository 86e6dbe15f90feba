"""Cases over REST against a real server (issue 12 item 2): a specialist or supervisor of the municipality opens
a case (the number issued by the server), reads it by number with its history, attaches sessions; the name and
contact are read only by that municipality's specialists and supervisors — never by another municipality's
specialist, IT, an admin, a partner, a guest or a kiosk. Creates, reads and attaches are audited without the name
or contact. SQLite and PostgreSQL."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from server.db.models import AuditEvent
from server.guest_auth import issue_guest_token
from tests.support import Env, finished_session
from tests.test_attachments import bihoro_session
from tests.test_partner import make_partner

NAME, CONTACT = "山田 太郎", "0152-72-1111"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def kitami_session(env: Env, username: str = "sato", category: str | None = "生活の困りごと") -> int:
    """A finished call of ``username`` with a Kitami resident, with a note of ``category``."""
    return await finished_session(env, "kitami-tokoro", "disability", username, category)


async def test_a_case_is_opened_read_and_attached_by_its_municipalitys_staff(env: Env) -> None:
    sato, tanaka, suzuki = [bearer(await env.issued_token(n)) for n in ("sato", "tanaka", "suzuki")]
    first, second = await kitami_session(env), await kitami_session(env, "sato", None)
    async with httpx.AsyncClient(base_url=env.url) as http:
        r = await http.post("/api/cases", json={"name": NAME, "contact": CONTACT}, headers=sato)
        assert r.status_code == 201, r.text
        case = r.json()
        assert re.fullmatch(r"KIT-20\d\d-0001", case["number"])
        assert (case["name"], case["contact"], case["created_by"], case["history"]) == (NAME, CONTACT, "佐藤 花子", [])
        number, short = case["number"], case["number"][4:]
        r = await http.post("/api/cases", json={}, headers=tanaka)  # no name or contact: both optional
        assert r.status_code == 201 and r.json()["number"] == f"{number[:-1]}2" and r.json()["name"] == ""
        assert (await http.post("/api/cases", json={"name": "x" * 65}, headers=sato)).status_code == 422

        # the session's own specialist attaches, during or after the call; again: nothing changes
        for _ in range(2):
            r = await http.post(f"/api/cases/{number}/sessions", json={"session_id": first}, headers=sato)
            assert r.status_code == 200, r.text
        (visit,) = r.json()["history"]
        assert (visit["session_id"], visit["service_code"], visit["staff_name"], visit["note_category"]) == (
            first, "disability", "佐藤 花子", "生活の困りごと")
        # another specialist of the town may not attach sato's session; the supervisor may
        r = await http.post(f"/api/cases/{number}/sessions", json={"session_id": second}, headers=suzuki)
        assert r.status_code == 404
        r = await http.post(f"/api/cases/{short}/sessions", json={"session_id": second}, headers=tanaka)
        assert r.status_code == 200 and [v["session_id"] for v in r.json()["history"]] == [first, second]
        assert r.json()["history"][1]["note_category"] is None  # no note yet
        # a session already under another case is not moved
        r = await http.post(f"/api/cases/{number[:-1]}2/sessions", json={"session_id": first}, headers=tanaka)
        assert r.status_code == 409

        # read by number, with or without the prefix, by the town's specialists and supervisor
        for who in (sato, suzuki, tanaka):
            for n in (number, short, number.lower()):
                r = await http.get(f"/api/cases/{n}", headers=who)
                assert r.status_code == 200 and (r.json()["name"], r.json()["contact"]) == (NAME, CONTACT)
        r = await http.put(f"/api/cases/{number}", json={"name": "山田 花子", "contact": ""}, headers=suzuki)
        assert r.status_code == 200 and (r.json()["name"], r.json()["contact"]) == ("山田 花子", "")
        for bad in ("KIT-2026-9999", "nonsense", "BIH-2026-0001"):
            assert (await http.get(f"/api/cases/{bad}", headers=sato)).status_code == 404

    async with env.ctx.maker() as db:
        rows = (await db.execute(select(AuditEvent).where(AuditEvent.action.startswith("case."))
                                 .order_by(AuditEvent.seq))).scalars().all()
    actions = [r.action for r in rows]
    assert actions.count("case.create") == 2 and actions.count("case.attach") == 2  # the repeat wrote nothing
    assert actions.count("case.read") == 9 and actions.count("case.update") == 1
    assert not any(word in str(r.detail) for r in rows for word in ("山田", "0152"))


async def test_nobody_outside_the_municipalitys_staff_reads_or_opens_a_case(env: Env) -> None:
    sato = bearer(await env.issued_token("sato"))
    async with httpx.AsyncClient(base_url=env.url) as http:
        number = (await http.post("/api/cases", json={"name": NAME, "contact": CONTACT}, headers=sato)).json()["number"]
        kid, secret = await env.enroll_kiosk("kitami-tokoro")
        _, partner = await make_partner(env)
        refused = {
            "another municipality's specialist": (bearer(await env.issued_token("takahashi")), 404),
            "IT monitor": (bearer(await env.issued_token("it")), 403),
            "admin": (bearer(await env.issued_token("admin")), 403),
            "partner": (bearer(partner), 403),
            "guest": (bearer(issue_guest_token(env.settings.secret_key, 1, 600)), 401),
            "kiosk": (bearer(await env.kiosk_token(kid, secret)), 403),
            "nobody": ({}, 401),
        }
        takahashi_session = await bihoro_session(env)
        for who, (hdrs, status) in refused.items():
            for n in (number, number[4:]):
                r = await http.get(f"/api/cases/{n}", headers=hdrs)
                assert r.status_code == status and NAME not in r.text, (who, n, r.status_code)
            r = await http.put(f"/api/cases/{number}", json={"name": "x"}, headers=hdrs)
            assert r.status_code == status, (who, r.status_code)
            r = await http.post(f"/api/cases/{number}/sessions", json={"session_id": takahashi_session}, headers=hdrs)
            assert r.status_code == status, (who, r.status_code)
            if status != 404:  # another municipality's specialist may open cases of their own town
                assert (await http.post("/api/cases", json={}, headers=hdrs)).status_code == status, who
        # Bihoro's specialist opens a Bihoro case; its serial is Bihoro's own, and Kitami's staff cannot read it
        takahashi = refused["another municipality's specialist"][0]
        r = await http.post("/api/cases", json={"name": "美幌 一郎"}, headers=takahashi)
        assert r.status_code == 201 and r.json()["number"].startswith("BIH-") and r.json()["number"].endswith("-0001")
        bihoro_number = r.json()["number"]
        assert (await http.get(f"/api/cases/{bihoro_number}", headers=sato)).status_code == 404
        # a Bihoro resident's session cannot go under a Kitami case, even by the supervisor
        tanaka = bearer(await env.issued_token("tanaka"))
        r = await http.post(f"/api/cases/{number}/sessions", json={"session_id": takahashi_session}, headers=tanaka)
        assert r.status_code == 404
        r = await http.post(f"/api/cases/{bihoro_number}/sessions", json={"session_id": takahashi_session},
                            headers=takahashi)
        assert r.status_code == 200 and r.json()["name"] == "美幌 一郎"
