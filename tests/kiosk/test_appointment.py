"""「予約の方」 on the kiosk (issue 12 item 3): the real window against a real server. The resident taps 予約の方 on the
welcome screen, types the reservation number on the keypad (a number of the wrong form, an unknown one and another
day's are explained in words, nothing changes), sees the appointment's time and service, checks in, and waits on
the waiting screen, which shows the appointment's time; the privacy reset forgets the number."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from server.db.models import Appointment, Ticket
from signaling.protocol.models import JST
from tests.kiosk.helpers import click, kiosk_app, shot, visible_texts, wrong_language
from tests.support import Env, eventually


def soon_today() -> datetime:
    """Half an hour from now, but on today's date in Japan (the kiosk checks in only on the appointment's day)."""
    now = datetime.now(UTC)
    midnight = datetime.combine(now.astimezone(JST).date() + timedelta(days=1), time(0), JST)
    at = min(now + timedelta(minutes=30), midnight - timedelta(minutes=2))
    if at <= now + timedelta(seconds=30):
        pytest.skip("too close to midnight in Japan for an appointment today")
    return at.replace(second=0, microsecond=0)


async def book(env: Env, starts_at: datetime) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {await env.issued_token('sato')}"}
    async with httpx.AsyncClient(base_url=env.url) as http:
        r = await http.post("/api/appointments", headers=headers, json={
            "branch_code": "kitami-tokoro", "service_code": "disability", "starts_at": starts_at.isoformat(),
            "duration_min": 30})
        assert r.status_code == 201, r.text
        return dict(r.json())


def type_digits(w, digits: str) -> None:  # type: ignore[no-untyped-def]
    click(w.appointment.pad.clear_all)
    for d in digits:
        click(w.appointment.pad.keys[d])


@pytest.mark.parametrize("language", ["ja", "en"])
async def test_a_resident_checks_in_with_the_reservation_number_and_waits_for_the_time(
        sqlite_env: Env, tmp_path: Path, language: str) -> None:
    env = sqlite_env
    at = soon_today()
    mine = await book(env, at)
    tomorrow = await book(env, at + timedelta(days=1))
    unknown = next(n for n in ("000000", "000001", "000002") if n not in (mine["number"], tomorrow["number"]))
    app = await kiosk_app(env, tmp_path, "kitami-tokoro", media_source="none", language=language)
    ctl, w = app.controller, app.window
    t = w.ctx.t
    try:
        assert w.welcome.appointment.isVisible() and w.welcome.appointment.text() == t("welcome.appointment")
        await shot(w, "welcome_appointment", language)
        click(w.welcome.appointment)
        await eventually(lambda: ctl.screen == "appointment")
        assert w.appointment.isVisible() and not w.appointment.error.isVisible()
        type_digits(w, "12345")  # five digits: explained, nothing sent
        click(w.appointment.next)
        await eventually(lambda: w.appointment.error.isVisible())
        assert w.appointment.error.text() == t("appointment.problem.format")
        for number, problem in ((unknown, "unknown"), (tomorrow["number"], "other_day")):
            type_digits(w, number)
            assert not w.appointment.error.isVisible()  # typing clears the message
            click(w.appointment.next)
            await eventually(lambda problem=problem: ctl.appointment.problem == problem, what=problem)
            await eventually(lambda: w.appointment.error.isVisible())
            assert ctl.screen == "appointment"
        day = (at + timedelta(days=1)).astimezone(JST).date()
        assert w.appointment.error.text() == t("appointment.problem.other_day",
                                               date=t("appointment.date", year=day.year, month=day.month, day=day.day))
        assert not wrong_language(visible_texts(w), language)
        await shot(w, "appointment_other_day", language)
        type_digits(w, mine["number"])
        await shot(w, "appointment_number", language)
        click(w.appointment.next)
        await eventually(lambda: ctl.screen == "appointment_confirm")
        shown = f"{at.astimezone(JST):%H:%M}"
        assert w.appointment_confirm.time.text() == t("appointment_confirm.time", time=shown, minutes=30)
        assert w.appointment_confirm.note.text() == t("appointment_confirm.early")
        assert not wrong_language(visible_texts(w), language)
        await shot(w, "appointment_confirm", language)
        click(w.appointment_confirm.ok)
        await eventually(lambda: ctl.screen == "waiting")
        await eventually(lambda: w.waiting.appointment.isVisible(), what="the appointment's time")
        assert w.waiting.appointment.text() == t("waiting.appointment", time=shown)
        async with env.ctx.maker() as db:
            ticket = (await db.execute(select(Ticket).where(Ticket.id == ctl.visit.ticket_id))).scalar_one()
            appt = await db.get(Appointment, mine["appointment_id"])
            assert appt is not None and (appt.state, appt.ticket_id) == ("checked_in", ticket.id)
            assert ticket.due_at == at and ticket.state == "waiting"
        assert not wrong_language(visible_texts(w), language)
        await shot(w, "waiting_appointment", language)
        click(w.waiting.cancel)
        await eventually(lambda: ctl.screen == "idle")
        assert ctl.appointment.number == "" and w.appointment.field.text() == ""  # the privacy reset
        assert not w.waiting.appointment.isVisible()
    finally:
        await app.stop()
