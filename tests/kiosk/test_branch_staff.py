"""「支所の職員を呼ぶ」 (issue 12 item 6) on the kiosk window against a real server: a resident waiting in the queue
calls a person at the branch; the Bihoro specialist's console is told and answers; the kiosk shows 「職員が来ます」; the
ticket keeps its place throughout; a second press soon after is refused kindly (no spamming)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.db.models import Ticket
from signaling.protocol.messages import TicketCreate
from tests.integration.calls import staff_controller
from tests.kiosk.helpers import click, kiosk_app, shot, visible_texts, wrong_language
from tests.support import Env, eventually, make_settings, server_env


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with server_env(make_settings(tmp_path, "sqlite", offer_timeout_s=600.0)) as e:  # the offer stays
        yield e


@pytest.mark.parametrize("language", ["ja", "en"])
async def test_a_waiting_resident_calls_branch_staff_and_keeps_the_place(env: Env, tmp_path: Path,
                                                                         language: str) -> None:
    console = await staff_controller(env, "takahashi", media_source="none")   # Bihoro
    assert await console.set_available()
    ahead, _ = await env.kiosk_client("bihoro")
    await ahead.ask(TicketCreate(service_code="employment"))   # offered to takahashi, not answered
    app = await kiosk_app(env, tmp_path, "bihoro", media_source="none", language=language)
    ctl, w = app.controller, app.window
    t = w.ctx.t
    bar = w.topbar
    try:
        click(w.welcome.start)
        await eventually(lambda: ctl.screen == "choosing")
        click(w.services_page.buttons["employment"])
        await eventually(lambda: ctl.screen == "needs")
        click(w.needs.next)
        await eventually(lambda: ctl.screen == "waiting" and ctl.visit.position == 2)
        ticket_id = ctl.visit.ticket_id
        assert bar.call_staff.isVisible() and bar.call_staff.text() == t("staff.call")

        click(bar.call_staff)
        await eventually(lambda: bar.staff_notice.isVisible(), what="the kiosk says staff were called")
        assert bar.staff_notice.text() == t("staff.calling")
        await eventually(lambda: console.branch_calls.calls, what="the console is told")
        (called,) = console.branch_calls.calls.values()
        assert (called.kiosk_id, called.branch) == (ctl.credential.kiosk_id, "美幌町役場 窓口")
        assert not wrong_language(visible_texts(w), language)
        await shot(w, "staff_calling", language)

        assert await console.branch_calls.answer(called.call_id)
        await eventually(lambda: ctl.branch_staff.state == "coming", what="the answer reaches the kiosk")
        await eventually(lambda: bar.staff_notice.text() == t("staff.coming"))
        assert ctl.screen == "waiting" and ctl.visit.ticket_id == ticket_id and ctl.visit.position == 2
        async with env.ctx.maker() as db:
            mine = await db.get(Ticket, ticket_id)
            assert mine is not None and mine.state == "waiting"   # the place at headquarters is kept
        assert not wrong_language(visible_texts(w), language)
        await shot(w, "staff_coming", language)

        click(bar.call_staff)                         # again, a moment after the answer: refused kindly
        await eventually(lambda: ctl.branch_staff.state == "too_soon")
        assert bar.staff_notice.text() == t("staff.too_soon") and console.branch_calls.calls == {}
    finally:
        await app.stop()
        await console.stop()
