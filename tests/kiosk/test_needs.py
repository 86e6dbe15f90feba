"""A resident who asks for sign language when nobody on duty signs (issue 12): the real window against a real
server and a real console. Before, the kiosk said at once that nobody was on duty; now it takes the ticket,
says on the waiting screen that the talk will be in writing, and the call opens with the text box ready."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from signaling.observer import wait_for
from tests.integration.calls import staff_controller
from tests.kiosk.helpers import click, kiosk_app, shot, visible_texts, wrong_language
from tests.support import WAIT_S, Env, eventually


@pytest.mark.parametrize("language", ["ja", "en"])
async def test_sign_language_without_a_signer_is_served_in_writing(sqlite_env: Env, tmp_path: Path,
                                                                    language: str) -> None:
    env = sqlite_env
    suzuki = await staff_controller(env, "suzuki", media_source="none")  # guardianship; does not sign
    app = await kiosk_app(env, tmp_path, "kitami-tokoro", media_source="none", language=language)
    ctl, w = app.controller, app.window
    t = w.ctx.t
    try:
        assert await suzuki.set_available()
        offer = asyncio.ensure_future(wait_for(suzuki, "offer", WAIT_S))
        click(w.welcome.start)
        await eventually(lambda: ctl.screen == "choosing")
        click(w.services_page.buttons["guardianship"])
        await eventually(lambda: ctl.screen == "needs")
        click(w.needs.toggles["sign_language"])
        click(w.needs.next)
        await eventually(lambda: ctl.screen == "waiting", what="placed, not turned away")
        # the ticket's first push can reach the kiosk's handler before the awaiting request resumes with the
        # reply (which carries unmet_needs): wait for the reply's effect, not just the screen
        await eventually(lambda: ctl.visit.unmet_needs == ["sign_language"], what="the reply's unmet needs")
        await eventually(w.waiting.unmet.isVisible, what="the written-conversation notice")
        assert w.waiting.unmet.text() == t("waiting.unmet_sign")
        assert ("手話" in w.waiting.unmet.text()) == (language == "ja")
        assert not wrong_language(visible_texts(w), language)
        await shot(w, "waiting_unmet", language)

        got = (await offer)["offer"]
        assert (got.needs, got.unmet_needs, got.written) == (["sign_language"], ["sign_language"], True)
        assert await suzuki.accept()
        await eventually(lambda: ctl.screen == "in_call")
        await eventually(w.call.written_note.isVisible, what="the call says it is in writing")
        assert w.call.written_note.text() == t("call.written_unmet")
        assert ctl.visit.written and w.call.entry.hasFocus()
        assert suzuki.call is not None and suzuki.call.written and suzuki.call.unmet_needs == ["sign_language"]
        assert not wrong_language(visible_texts(w), language)
        await shot(w, "call_written", language)
    finally:
        await app.stop()
        await suzuki.stop()
