"""「相談番号をお持ちの方」 on the kiosk (issue 12 item 2): the real window against a real server. The resident types
the case number on the large keypad over the needs screen; a number of the wrong form is explained and not kept;
the number goes with the ticket; an unknown one is served as a walk-in and the waiting screen says the number
was not found; the privacy reset forgets it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import segno
from sqlalchemy import select

from server.case_records import open_case
from server.db.models import Municipality, Staff, Ticket
from signaling.media import PictureTrack
from signaling.observer import wait_for
from signaling.protocol.case_number import card_text
from signaling.protocol.messages import StatusSet
from tests.kiosk.helpers import click, kiosk_app, shot, visible_texts, wrong_language
from tests.support import WAIT_S, Env, eventually


async def kitami_case(env: Env) -> str:
    async with env.ctx.maker() as db, db.begin():
        muni = (await db.execute(select(Municipality).where(Municipality.code == "kitami"))).scalar_one()
        sato = (await db.execute(select(Staff).where(Staff.username == "sato"))).scalar_one()
        case = await open_case(db, muni, sato, datetime(2026, 6, 1, tzinfo=UTC), name="山田 太郎")
        return case.number


async def last_ticket(env: Env) -> Ticket:
    async with env.ctx.maker() as db:
        return (await db.execute(select(Ticket).order_by(Ticket.id.desc()).limit(1))).scalar_one()


def type_digits(w, digits: str) -> None:  # type: ignore[no-untyped-def]
    click(w.case_number.pad.clear_all)
    for d in digits:
        click(w.case_number.pad.keys[d])


@pytest.mark.parametrize("language", ["ja", "en"])
async def test_the_case_number_is_typed_checked_and_sent_with_the_ticket(sqlite_env: Env, tmp_path: Path,
                                                                        language: str) -> None:
    env = sqlite_env
    number = await kitami_case(env)
    assert number == "KIT-2026-0001"
    console, _ = await env.staff_client("sato")
    await console.ask(StatusSet(status="available"))
    app = await kiosk_app(env, tmp_path, "kitami-tokoro", media_source="none", language=language)
    ctl, w = app.controller, app.window
    t = w.ctx.t
    try:
        for typed, found in (("20260002", False), ("20260001", True)):
            click(w.welcome.start)
            await eventually(lambda: ctl.screen == "choosing")
            click(w.services_page.buttons["disability"])
            await eventually(lambda: ctl.screen == "needs")
            assert w.needs.case.text() == t("case.open")
            click(w.needs.case)
            assert w.case_number.isVisible() and not w.case_number.error.isVisible()
            type_digits(w, "20261")                      # too short for a year and a serial
            click(w.case_number.ok)
            assert w.case_number.error.isVisible() and w.case_number.error.text() == t("case.problem.format")
            assert ctl.visit.case_number is None         # nothing kept
            assert not wrong_language(visible_texts(w), language)
            if found:
                await shot(w, "case_number_error", language)
            click(w.case_number.pad.keys["0"])
            assert not w.case_number.error.isVisible()   # typing again clears the message
            type_digits(w, typed)
            click(w.case_number.ok)
            assert not w.case_number.isVisible()
            shown = f"{typed[:4]}-{typed[4:]}"
            assert ctl.visit.case_number == shown and w.needs.case.text() == t("case.change", number=shown)
            if found:
                await shot(w, "needs_with_case", language)
            click(w.needs.next)
            await eventually(lambda: ctl.screen == "waiting")
            await eventually(lambda found=found: ctl.visit.case_found is found, what="the server's answer")
            ticket = await last_ticket(env)
            assert (ticket.case_id is not None) is found
            assert w.waiting.case_unknown.isVisible() is (not found)
            if not found:
                assert w.waiting.case_unknown.text() == t("waiting.case_not_found")
                assert not wrong_language(visible_texts(w), language)
                await shot(w, "waiting_case_not_found", language)
            click(w.waiting.cancel)
            await eventually(lambda: ctl.screen == "idle")
            assert ctl.visit.case_number is None and w.case_number.field.text() == ""  # the privacy reset
            assert w.needs.case.text() == t("case.open")
    finally:
        await app.stop()


def card_picture(text: str, noise: str = "") -> np.ndarray:
    """A case card as the camera sees it: white, the QR code of ``text`` (and, with ``noise``, another QR code
    beside it that is not a case card), 640x480 grey."""
    page = np.full((480, 640), 235, dtype=np.uint8)
    for i, content in enumerate([text, *([noise] if noise else [])]):
        m = np.array(list(segno.make(content, error="m").matrix), dtype=np.uint8)
        code = np.kron(1 - m, np.ones((7, 7), dtype=np.uint8)) * 235
        top, left = 60, 40 + i * 320
        page[top:top + code.shape[0], left:left + code.shape[1]] = code
    return page


@pytest.mark.parametrize("language", ["ja", "en"])
async def test_a_case_card_held_to_the_camera_gives_the_number(sqlite_env: Env, tmp_path: Path,
                                                              language: str) -> None:
    """「カードをかざす」: the resident holds a printed case card to the kiosk camera (here a picture of one, beside
    a QR code that is not a case card, which is ignored); the number is read, kept and sent with the ticket as if
    typed, and the case is found. A kiosk whose camera cannot be opened says so and the keypad stays."""
    env = sqlite_env
    number = await kitami_case(env)
    console, _ = await env.staff_client("sato")
    await console.ask(StatusSet(status="available"))
    cameras: list[PictureTrack] = []

    def camera() -> PictureTrack:
        cameras.append(PictureTrack(card_picture(card_text(number), noise="https://example.org/not-a-card")))
        return cameras[-1]

    app = await kiosk_app(env, tmp_path, "kitami-tokoro", media_source="none", language=language, card_camera=camera)
    ctl, w = app.controller, app.window
    t = w.ctx.t
    try:
        click(w.welcome.start)
        await eventually(lambda: ctl.screen == "choosing")
        click(w.services_page.buttons["disability"])
        await eventually(lambda: ctl.screen == "needs")
        click(w.needs.case)
        scanned = asyncio.ensure_future(wait_for(ctl, "card_scanned", WAIT_S))
        click(w.case_number.scan)
        assert w.case_number.camera.isVisible() and not w.case_number.pad.isVisible()
        await eventually(lambda: w.case_number.camera.frames_painted > 0, what="the camera on screen, to aim")
        assert not wrong_language(visible_texts(w), language)
        await shot(w, "case_card_scan", language)
        assert (await scanned)["number"] == number
        await eventually(lambda: not w.case_number.isVisible(), what="the screen closes with the number")
        assert ctl.visit.case_number == number and w.needs.case.text() == t("case.change", number=number)
        assert cameras[0].readyState == "ended"  # the camera is closed once the card is read
        click(w.needs.next)
        await eventually(lambda: ctl.visit.case_found is True, what="the case found by the server")
        assert (await last_ticket(env)).case_id is not None
        click(w.waiting.cancel)
        await eventually(lambda: ctl.screen == "idle")
    finally:
        await app.stop()
    # no camera: said in words, the keypad is back
    app = await kiosk_app(env, tmp_path / "b", "kitami-tokoro", media_source="none", language=language,
                          card_camera=lambda: None)
    ctl, w = app.controller, app.window
    try:
        click(w.welcome.start)
        await eventually(lambda: ctl.screen == "choosing")
        click(w.services_page.buttons["disability"])
        await eventually(lambda: ctl.screen == "needs")
        click(w.needs.case)
        click(w.case_number.scan)
        await eventually(lambda: w.case_number.error.isVisible(), what="no camera, said")
        assert w.case_number.error.text() == w.ctx.t("case.problem.scan_no_camera") and w.case_number.pad.isVisible()
    finally:
        await app.stop()
