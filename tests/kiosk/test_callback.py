"""折り返し電話 on the kiosk (issue 12 item 4): the real window against a real server on a manual clock (Monday
09:00 in Japan, so the bands offered are known). The offer appears when nobody is on duty and when the wait is
long; a wrong number gets a clear message and nothing is sent; the callback gives up the waiting ticket only
once it is recorded; the privacy reset forgets the number."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from server.db.models import Callback, Ticket
from server.queue.clock import ManualClock
from signaling.protocol.messages import CallbackSnapshot, Ping, StatusSet, TicketCreate
from tests.kiosk.helpers import click, kiosk_app, shot, visible_texts, wrong_language
from tests.support import Env, eventually, make_settings, server_env

# Monday 09:00 in Japan, a week before the queue tests' T0: before today, so that enrollment codes and tokens made
# on the wall clock are still valid on the server's clock
T0 = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)


@pytest.fixture
async def monday(tmp_path: Path) -> AsyncIterator[Env]:
    async with server_env(make_settings(tmp_path, "sqlite"), clock=ManualClock(T0)) as env:
        yield env


async def callbacks(env: Env) -> list[Callback]:
    async with env.ctx.maker() as db:
        return list((await db.execute(select(Callback).order_by(Callback.id))).scalars().unique().all())


def type_number(w, digits: str) -> None:  # type: ignore[no-untyped-def]
    click(w.callback.clear_all)
    for d in digits:
        click(w.callback.keys[d])


@pytest.mark.parametrize("language", ["ja", "en"])
async def test_nobody_on_duty_offers_a_callback_and_a_wrong_number_is_explained(monday: Env, tmp_path: Path,
                                                                               language: str) -> None:
    env = monday
    app = await kiosk_app(env, tmp_path, "bihoro", media_source="none", language=language)
    ctl, w = app.controller, app.window
    t = w.ctx.t
    try:
        click(w.welcome.start)
        await eventually(lambda: ctl.screen == "choosing")
        click(w.services_page.buttons["employment"])   # nobody signed in
        await eventually(lambda: ctl.screen == "needs")
        click(w.needs.next)
        await eventually(lambda: ctl.screen == "no_specialist")
        await eventually(w.nospec.callback.isVisible, what="the callback offered")
        assert w.nospec.callback.text() == t("callback.offer_nospec")
        await shot(w, "callback_offer", language)

        click(w.nospec.callback)
        await eventually(lambda: ctl.screen == "callback" and len(w.callback.band_buttons) == 4)
        type_number(w, "015272111")                    # nine digits
        click(w.callback.next)
        assert w.callback.error.isVisible() and w.callback.error.text() == t("callback.problem.too_short")
        assert w.callback.step == "number"
        type_number(w, "05012345678")                  # an IP phone, not fixed or mobile
        click(w.callback.next)
        assert w.callback.error.text() == t("callback.problem.prefix")
        assert not wrong_language(visible_texts(w), language)
        await shot(w, "callback_number_error", language)
        assert await callbacks(env) == []              # nothing was sent

        type_number(w, "0152721111")
        assert not w.callback.error.isVisible()        # typing again clears the message
        click(w.callback.next)
        assert w.callback.step == "band" and w.callback.bands_area.isVisible()
        labels = [b.text() for b, _ in w.callback.band_buttons]
        expected = {"ja": ["今日の午前（09:00〜12:00）", "今日の午後（13:00〜17:00）",
                           "明日の午前（09:00〜12:00）", "明日の午後（13:00〜17:00）"],
                    "en": ["today morning (09:00-12:00)", "today afternoon (13:00-17:00)",
                           "tomorrow morning (09:00-12:00)", "tomorrow afternoon (13:00-17:00)"]}
        assert labels == expected[language]
        click(w.callback.next)                         # no band chosen yet
        assert w.callback.error.text() == t("callback.problem.no_band")
        click(w.callback.band_buttons[1][0])
        assert not w.callback.error.isVisible()
        assert not wrong_language(visible_texts(w), language)
        await shot(w, "callback_band", language)

        click(w.callback.next)
        await eventually(lambda: ctl.screen == "callback_done")
        assert w.callback_done.when.text() == t("callback_done.when", band=expected[language][1])
        assert "0152721111" in w.callback_done.phone.text()
        assert not wrong_language(visible_texts(w), language)
        await shot(w, "callback_done", language)
        (cb,) = await callbacks(env)
        assert (cb.phone, cb.band_part, cb.band_starts_at, cb.state, cb.language) == (
            "0152721111", "pm", T0.replace(hour=4), "open", language)

        click(w.callback_done.finish)                  # the privacy reset forgets the number
        await eventually(lambda: ctl.screen == "idle")
        assert w.callback.field.text() == "" and ctl.callback.phone == "" and w.callback_done.info == {}
    finally:
        await app.stop()


@pytest.mark.parametrize("language", ["ja", "en"])
async def test_a_long_wait_offers_a_callback_that_gives_up_the_place(monday: Env, tmp_path: Path,
                                                                     language: str) -> None:
    """takahashi (Bihoro; employment) is offered the resident ahead and has not answered: ours waits about
    15 minutes (the default handle time), past the kiosk's 10-minute threshold, so the offer shows."""
    env = monday
    console, inbox = await env.staff_client("takahashi")
    await console.ask(StatusSet(status="available"))
    ahead, _ = await env.kiosk_client("bihoro")
    await ahead.ask(TicketCreate(service_code="employment"))
    await inbox.next("offer")
    app = await kiosk_app(env, tmp_path, "bihoro", media_source="none", language=language,
                          callback_offer_after_s=600.0)
    ctl, w = app.controller, app.window
    t = w.ctx.t
    try:
        assert not ctl.callback.offered()
        click(w.welcome.start)
        await eventually(lambda: ctl.screen == "choosing")
        click(w.services_page.buttons["employment"])
        await eventually(lambda: ctl.screen == "needs")
        click(w.needs.next)
        await eventually(lambda: ctl.screen == "waiting")
        await eventually(w.waiting.callback.isVisible, what="the callback offered on a long wait")
        assert ctl.visit.position == 2 and (ctl.visit.estimated_wait_s or 0) >= 600
        assert w.waiting.callback.text() == t("callback.offer")
        ticket_id = ctl.visit.ticket_id
        assert not wrong_language(visible_texts(w), language)
        await shot(w, "waiting_callback", language)

        click(w.waiting.callback)
        await eventually(lambda: ctl.screen == "callback" and w.callback.band_buttons)
        click(w.callback.back)                         # changed their mind: still waiting, same ticket
        await eventually(lambda: ctl.screen == "waiting")
        assert ctl.visit.ticket_id == ticket_id
        click(w.waiting.callback)
        await eventually(lambda: ctl.screen == "callback" and w.callback.band_buttons)
        type_number(w, "09012345678")
        click(w.callback.next)
        click(w.callback.band_buttons[2][0])           # tomorrow morning
        click(w.callback.next)
        await eventually(lambda: ctl.screen == "callback_done")
        snap = await inbox.next("callback.snapshot")   # the Bihoro specialist sees it at once, with the number
        assert isinstance(snap, CallbackSnapshot)
        assert [(i.phone, i.band.part, i.band.day_offset) for i in snap.items] == [("09012345678", "am", 1)]
        async with env.ctx.maker() as db:
            mine = await db.get(Ticket, ticket_id)
            assert mine is not None and mine.state == "cancelled"
        await ctl.client.request(Ping())  # replied after the ticket's "cancelled" push, which is handled by then:
        # it is not taken for a reset of the done screen
        assert ctl.screen == "callback_done"
    finally:
        await app.stop()
