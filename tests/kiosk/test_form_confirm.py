"""書かない窓口 on the kiosk window (issue 11 item 4), against a real server on a manual clock, in a call with a real
console controller: the form the specialist sends appears in large text; 「なおしてほしい」 with 「ここがちがう」 on one
item reaches the specialist; the corrected form replaces it, and a change while the resident reads it is shown and
said (a tap naming the old hash is refused); 「この内容でよい」 is stored with the server's time and this kiosk.
Japanese and English, with screenshots."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from server.db.models import FormConfirmation
from server.queue.clock import ManualClock
from signaling.client import RequestFailed
from signaling.protocol.messages import FormAnswer
from tests.integration.calls import staff_controller
from tests.kiosk.helpers import a11y_problems, click, kiosk_app, shot, visible_texts, wrong_language
from tests.support import Env, eventually, make_settings, server_env

# before today, so that enrollment codes and tokens made on the wall clock are valid on the server's clock
T0 = datetime(2026, 11, 30, 1, 15, tzinfo=UTC)
FILLED = {"topic": "job_search", "hours": "20", "documents": ["resume", "hellowork"], "next_date": "2026-12-14",
          "details": "週3日、午前中の仕事を希望"}


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with server_env(make_settings(tmp_path, "sqlite", offer_timeout_s=600.0), clock=ManualClock(T0)) as e:
        yield e


@pytest.mark.parametrize("language", ["ja", "en"])
async def test_the_resident_reads_asks_for_a_change_then_confirms(env: Env, tmp_path: Path, language: str) -> None:
    console = await staff_controller(env, "takahashi", media_source="none")   # Bihoro, employment
    assert await console.set_available()
    app = await kiosk_app(env, tmp_path, "bihoro", media_source="none", language=language)
    ctl, w = app.controller, app.window
    t = w.ctx.t
    overlay = w.form_confirm
    try:
        click(w.welcome.start)
        await eventually(lambda: ctl.screen == "choosing")
        click(w.services_page.buttons["employment"])
        await eventually(lambda: ctl.screen == "needs")
        click(w.needs.next)
        await eventually(lambda: console.offer is not None, what="the console is offered the resident")
        assert await console.accept()
        await eventually(lambda: ctl.screen == "in_call" and console.call is not None)
        await eventually(lambda: console.forms.forms, what="the forms of the call's service")

        assert await console.forms.send("employment_consult", FILLED)
        await eventually(lambda: overlay.isVisible() and overlay.rows, what="the form on the kiosk")
        en = language == "en"
        shown = {r.key: (r.label.text(), r.value.text()) for r in overlay.rows}
        assert shown == {f.key: (f.label_en if en else f.label_ja, f.shown_en if en else f.shown_ja)
                         for f in ctl.forms.show.content.fields}   # type: ignore[union-attr]
        assert shown["next_date"][1] == ("Mon 14 Dec 2026" if en else "2026年12月14日（月）")
        assert overlay.title.text() == t("form.title") and overlay.ok.text() == t("form.ok")
        assert not any(r.wrong.isVisible() for r in overlay.rows)
        assert not wrong_language([(n, s) for n, s in visible_texts(overlay)
                                   if not n.startswith("form_value_") and n != "form_name"
                                   and not n.startswith("form_row_")], language)
        assert not a11y_problems(overlay, 40)
        await shot(w, "form_confirm", language)

        # 「なおしてほしい」: 「ここがちがう」 beside each item; the date is marked and sent
        click(overlay.change)
        assert all(r.wrong.isVisible() for r in overlay.rows) and not overlay.ok.isVisible()
        assert overlay.send_changes.text() == t("form.explain_again")   # nothing marked yet
        row = next(r for r in overlay.rows if r.key == "next_date")
        click(row.wrong)
        assert overlay.send_changes.text() == t("form.send_changes") and overlay.marked() == ["next_date"]
        overlay.show_row("next_date")
        await shot(w, "form_confirm_change", language)
        click(overlay.send_changes)
        entry = console.forms.entries["employment_consult"]
        await eventually(lambda: entry.state == "change_requested", what="the specialist is told")
        assert (entry.changes, entry.reason) == (["next_date"], "wrong")
        await eventually(lambda: not overlay.isVisible())
        assert ctl.forms.state == "change_sent"

        # the specialist corrects the date and asks again: a new revision
        assert await console.forms.send("employment_consult", {**FILLED, "next_date": "2026-12-21"})
        await eventually(lambda: overlay.isVisible() and ctl.forms.show is not None and ctl.forms.show.revision == 2)
        assert next(r for r in overlay.rows if r.key == "next_date").value.text() == (
            "Mon 21 Dec 2026" if en else "2026年12月21日（月）")
        assert not overlay.notice.isVisible()
        # … and changes it once more while the resident reads it: the screen follows and says so
        old_hash = entry.content_hash
        assert await console.forms.send("employment_consult", {**FILLED, "next_date": "2026-12-21", "hours": "15"})
        await eventually(lambda: ctl.forms.show is not None and ctl.forms.show.revision == 3)
        assert next(r for r in overlay.rows if r.key == "hours").value.text() == ("15 hours" if en else "15時間")
        assert overlay.notice.isVisible() and overlay.notice.text() == t("form.replaced")
        with pytest.raises(RequestFailed) as stale:   # a tap that names what was shown before cannot confirm
            await ctl.client.ask(FormAnswer(confirmation_id=entry.confirmation_id, content_hash=old_hash,
                                            answer="confirm"))
        assert stale.value.code == "conflict" and stale.value.details["reason"] == "stale"

        click(overlay.ok)
        await eventually(lambda: entry.state == "confirmed", what="the confirmation reaches the specialist")
        await eventually(lambda: not overlay.isVisible())
        assert w.call.isVisible()   # back to the call, which goes on
        async with env.ctx.maker() as db:
            (row_db,) = (await db.execute(select(FormConfirmation))).scalars().all()
        assert (row_db.state, row_db.revision, row_db.confirmed_at, row_db.kiosk_id) == (
            "confirmed", 3, T0, ctl.credential.kiosk_id)
        assert row_db.content_hash == entry.content_hash != old_hash
    finally:
        await app.stop()
        await console.stop()
