"""The resident takes consent back mid-call (protocol 1.15), through the real kiosk window against a real server
and a real console: a family member joined by link with the resident's agreement; the call screen then offers
「○○さんに退出してもらう」; a tap asks once more (「このまま続ける」 keeps them), 「退出してもらう」 sends them out —
the console is told it was the resident, the guest is told too, and the call goes on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from signaling.observer import wait_for
from tests.integration.calls import staff_controller
from tests.kiosk.helpers import choose_language, click, kiosk_app, shot
from tests.support import WAIT_S, Env, eventually
from tests.test_guest_access import guest_client


@pytest.mark.parametrize("language", ["ja", "en"])
async def test_the_resident_asks_a_guest_to_leave(sqlite_env: Env, tmp_path: Path, language: str) -> None:
    env = sqlite_env
    console = await staff_controller(env, "takahashi")
    app = await kiosk_app(env, tmp_path)
    ctl, w = app.controller, app.window
    try:
        if ctl.language != language:
            choose_language(w, language)
            await eventually(lambda: ctl.language == language)
        t = w.ctx.t
        assert await console.set_available()
        offer = asyncio.ensure_future(wait_for(console, "offer", WAIT_S))
        click(w.welcome.start)
        await eventually(lambda: ctl.screen == "choosing")
        click(w.services_page.buttons["employment"])
        await eventually(lambda: ctl.screen == "needs")
        click(w.needs.next)
        await offer
        assert await console.accept()
        await eventually(lambda: ctl.screen == "in_call")

        name = "美幌 花子" if language == "ja" else "Hanako Bihoro"
        entry = await console.invite_guest("family", name)
        assert entry is not None
        guest, g_in = await guest_client(env, entry.link[entry.link.index("/g/"):])
        await eventually(lambda: console.guests.lobby(), what="the guest in the lobby")
        assert await console.admit_guest(entry.invitation_id, True)
        await eventually(w.guest_consent.isVisible, what="the guest announced")
        click(w.guest_consent.agree)
        peer = f"guest:{entry.invitation_id}"
        await eventually(lambda: peer in w.call.guest_buttons and w.call.guest_buttons[peer].isVisible(),
                         what="「退出してもらう」 for the guest")
        button = w.call.guest_buttons[peer]
        assert t("guest.role.family") in button.text()  # and the name, where the language shows names (ja)
        assert name in button.text() or language == "en"
        await shot(w, "call_with_guest", language)

        click(button)  # asked once more; 「このまま続ける」 keeps the guest
        await eventually(w.guest_leave.isVisible, what="asked once more")
        assert t("guest.role.family") in w.guest_leave.title.text()
        await shot(w, "guest_leave", language)
        click(w.guest_leave.no)
        assert not w.guest_leave.isVisible() and peer in {p.peer for p in ctl.visit.participants}

        told = asyncio.ensure_future(wait_for(console, "guest_state", WAIT_S,
                                              lambda d: d["entry"].state == "refused"))
        click(button)
        await eventually(w.guest_leave.isVisible, what="asked again")
        click(w.guest_leave.yes)
        assert (await told)["entry"].refused_by == "resident"
        assert (await g_in.next("guest.state", state="refused")).by == "resident"
        await eventually(lambda: peer not in w.call.guest_buttons and peer not in {p.peer for p in
                         ctl.visit.participants}, what="the guest is out, the button gone")
        assert ctl.screen == "in_call" and not w.guest_leave.isVisible()
        assert t("call.guest_out", who="") not in " ".join(b.text() for b in w.call.guest_buttons.values())
        await guest.close()
    finally:
        await console.stop()
        await app.stop()
