"""Appointments over REST and the kiosk's check-in over /ws, against a real server on a manual clock (issue 12 item
3): specialists and supervisors of the municipality book, list a day (per branch, per specialist), print the day
view (HTML and PDF through Chromium) and cancel; every change is audited and pushed to the connected colleagues
(``appointment.update``); another municipality's staff get 404, IT monitors, admins, partners and kiosks 403. A kiosk
of the branch looks the number up and checks in. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from server.admin_ops import create_enrollment
from server.db.models import AuditEvent, Kiosk
from server.queue.clock import ManualClock
from signaling.client import RequestFailed, SignalingClient
from signaling.protocol.errors import ErrorCode
from signaling.protocol.messages import AppointmentCheckIn, AppointmentLookup
from signaling.protocol.replies import AppointmentCheckedIn, AppointmentFound
from tests.queue.world import T0
from tests.support import Env, Inbox, make_settings, server_env
from tests.test_partner import make_partner

AT = T0 + timedelta(hours=1)  # 10:00 in Japan, Monday 7 December 2026


@pytest.fixture
async def env(tmp_path: Path, backend: str) -> AsyncIterator[Env]:
    async with server_env(make_settings(tmp_path, backend), clock=ManualClock(T0)) as e:
        yield e


async def enroll(env: Env, branch: str) -> tuple[int, str]:
    """A kiosk enrolled at ``branch``. (env.enroll_kiosk's code expires by the wall clock, the server checks it on
    its own — here the manual — clock: the code is made valid on the server's.)"""
    async with env.ctx.maker() as db, db.begin():
        kid, code = await create_enrollment(db, branch, "", "test")
        k = await db.get(Kiosk, kid)
        assert k is not None
        k.enroll_expires_at = env.ctx.now() + timedelta(hours=1)
    async with httpx.AsyncClient(base_url=env.url) as http:
        r = await http.post("/api/kiosk/enroll", json={"kiosk_id": kid, "code": code})
        r.raise_for_status()
        return kid, str(r.json()["secret"])


async def kiosk_client(env: Env, branch: str) -> tuple[SignalingClient, Inbox]:
    kid, secret = await enroll(env, branch)
    inbox = Inbox()

    async def tok() -> str:
        return await env.kiosk_token(kid, secret)

    return await env.client(tok, inbox.queue), inbox


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def booking(**over: Any) -> dict[str, Any]:
    return {"branch_code": "kitami-tokoro", "service_code": "disability", "starts_at": AT.isoformat(),
            "duration_min": 30, **over}


async def test_staff_book_list_print_and_cancel_and_colleagues_see_each_change(env: Env) -> None:
    sato, tanaka = [bearer(await env.issued_token(n)) for n in ("sato", "tanaka")]
    sato_id = (await env.ctx.engine.run(_staff_id, "sato"))
    colleague, inbox = await env.staff_client("suzuki")  # connected: gets appointment.update
    async with httpx.AsyncClient(base_url=env.url) as http:
        case = (await http.post("/api/cases", json={}, headers=sato)).json()["number"]
        r = await http.post("/api/appointments", json=booking(case_number=case[4:], staff_id=sato_id), headers=tanaka)
        assert r.status_code == 201, r.text
        first = r.json()
        assert (first["state"], first["staff_name"], first["case_number"], first["day"]) == (
            "booked", "佐藤 花子", case, "2026-12-07")
        assert len(first["number"]) == 6 and first["number"].isdigit()
        pushed = await inbox.next("appointment.update")
        assert pushed.item.appointment_id == first["appointment_id"] and pushed.item.state == "booked"
        # sato is booked 10:00-10:30: another slot for sato at 10:15 is refused, at 10:30 taken
        r = await http.post("/api/appointments", json=booking(staff_id=sato_id, starts_at=(
            AT + timedelta(minutes=15)).isoformat()), headers=sato)
        assert r.status_code == 409, r.text
        r = await http.post("/api/appointments", json=booking(staff_id=sato_id, starts_at=(
            AT + timedelta(minutes=30)).isoformat(), service_code="general"), headers=sato)
        assert r.status_code == 201, r.text
        second = r.json()
        assert second["number"] != first["number"]
        r = await http.post("/api/appointments", json=booking(starts_at=(AT - timedelta(hours=2)).isoformat()),
                            headers=sato)
        assert r.status_code == 422  # in the past (the server's clock)
        for bad in (booking(branch_code="bihoro"), booking(case_number="KIT-2026-0099"), booking(service_code="x")):
            assert (await http.post("/api/appointments", json=bad, headers=sato)).status_code == 404
        assert (await http.post("/api/appointments", json=booking(duration_min=1), headers=sato)).status_code == 422
        r = await http.post("/api/appointments", json=booking(staff_id=await env.ctx.engine.run(
            _staff_id, "suzuki")), headers=sato)  # suzuki does not serve disability
        assert r.status_code == 422

        r = await http.get("/api/appointments", headers=sato)  # today, on the server's clock
        assert r.status_code == 200
        assert r.json()["day"] == "2026-12-07"
        assert [i["appointment_id"] for i in r.json()["items"]] == [first["appointment_id"], second["appointment_id"]]
        r = await http.get("/api/appointments", params={"day": "2026-12-08"}, headers=sato)
        assert r.json()["items"] == []
        r = await http.get("/api/appointments", params={"branch": "kitami-tokoro", "staff_id": sato_id}, headers=sato)
        assert len(r.json()["items"]) == 2

        r = await http.get("/api/appointments/day", params={"day": "2026-12-07"}, headers=sato)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        page = r.text
        assert "予約一覧 2026年12月7日（月）" in page and first["number"] in page and case in page
        assert "10:00" in page and "10:30" in page and "<script" not in page
        r = await http.get("/api/appointments/day", params={"lang": "en", "format": "pdf"}, headers=sato)
        assert r.status_code == 200 and r.content.startswith(b"%PDF")

        r = await http.post(f"/api/appointments/{second['appointment_id']}/cancel", headers=sato)
        assert r.status_code == 200 and r.json()["state"] == "cancelled"
        assert (await http.post(f"/api/appointments/{second['appointment_id']}/cancel", headers=sato)
                ).status_code == 409
        cancelled = [m for m in [await inbox.next("appointment.update") for _ in range(2)]
                     if m.item.appointment_id == second["appointment_id"]]
        assert [m.item.state for m in cancelled] == ["booked", "cancelled"]
    await colleague.close()
    async with env.ctx.maker() as db:
        rows = (await db.execute(select(AuditEvent).where(AuditEvent.action.startswith("appointment."))
                                 .order_by(AuditEvent.seq))).scalars().all()
    assert [r.action for r in rows] == ["appointment.book", "appointment.book", "appointment.print",
                                        "appointment.print", "appointment.cancel"]
    assert not any(first["number"] in str(r.detail) for r in rows)  # the reservation number is never audited


async def _staff_id(step: Any, username: str) -> int:
    from server.db.models import Staff
    return int((await step.db.execute(select(Staff.id).where(Staff.username == username))).scalar_one())


async def test_only_the_municipalitys_specialists_and_supervisors_reach_its_appointments(env: Env) -> None:
    sato = bearer(await env.issued_token("sato"))
    kid, secret = await enroll(env, "kitami-tokoro")
    _, partner = await make_partner(env)
    async with httpx.AsyncClient(base_url=env.url) as http:
        a = (await http.post("/api/appointments", json=booking(), headers=sato)).json()
        takahashi = bearer(await env.issued_token("takahashi"))  # Bihoro
        assert (await http.get("/api/appointments", params={"branch": "kitami-tokoro"}, headers=takahashi)
                ).status_code == 404
        r = await http.get("/api/appointments", headers=takahashi)
        assert r.status_code == 200 and r.json()["items"] == []  # their own municipality's day: none
        assert (await http.post(f"/api/appointments/{a['appointment_id']}/cancel", headers=takahashi)
                ).status_code == 404
        assert (await http.post("/api/appointments", json=booking(), headers=takahashi)).status_code == 404
        assert (await http.get("/api/appointments/day", headers=takahashi)).status_code == 200  # own, empty
        refused = {
            "IT monitor": bearer(await env.issued_token("it")), "admin": bearer(await env.issued_token("admin")),
            "partner": bearer(partner), "kiosk": bearer(await env.kiosk_token(kid, secret)),
        }
        for who, hdrs in refused.items():
            assert (await http.get("/api/appointments", headers=hdrs)).status_code == 403, who
            assert (await http.get("/api/appointments/day", headers=hdrs)).status_code == 403, who
            assert (await http.post("/api/appointments", json=booking(), headers=hdrs)).status_code == 403, who
            assert (await http.post(f"/api/appointments/{a['appointment_id']}/cancel", headers=hdrs)
                    ).status_code == 403, who
        assert (await http.get("/api/appointments")).status_code == 401
        r = await http.get("/api/appointments", headers=sato)
        assert [i["state"] for i in r.json()["items"]] == ["booked"]


async def test_a_kiosk_of_the_branch_looks_the_number_up_and_checks_in(env: Env) -> None:
    sato = bearer(await env.issued_token("sato"))
    async with httpx.AsyncClient(base_url=env.url) as http:
        a = (await http.post("/api/appointments", json=booking(), headers=sato)).json()
    spec, _ = await env.staff_client("sato")  # on duty: the resident is not turned away as "nobody on duty"
    other, _ = await kiosk_client(env, "bihoro")
    kiosk, inbox = await kiosk_client(env, "kitami-tokoro")
    try:
        with pytest.raises(RequestFailed) as refused:
            await other.ask(AppointmentLookup(number=a["number"]))  # Bihoro's kiosk: Kitami's number is unknown
        assert (refused.value.code, refused.value.details["reason"]) == (ErrorCode.NOT_FOUND, "unknown")
        found = await kiosk.ask(AppointmentLookup(number=a["number"]))
        assert isinstance(found, AppointmentFound)
        assert (found.service_code, found.starts_at, found.early) == ("disability", AT, True)
        done = await kiosk.ask(AppointmentCheckIn(number=a["number"]))
        assert isinstance(done, AppointmentCheckedIn) and done.starts_at == AT
        update = await inbox.next("ticket.update", ticket_id=done.ticket_id)
        assert update.state == "waiting"
        with pytest.raises(RequestFailed) as again:
            await kiosk.ask(AppointmentCheckIn(number=a["number"]))
        assert again.value.code == ErrorCode.CONFLICT
    finally:
        for c in (spec, other, kiosk):
            await c.close()
    async with httpx.AsyncClient(base_url=env.url) as http:
        (item,) = (await http.get("/api/appointments", headers=sato)).json()["items"]
    assert (item["state"], item["ticket_id"]) == ("checked_in", done.ticket_id)
