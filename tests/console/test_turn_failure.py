"""A TURN server that refuses the credential is said in words on both screens: the kiosk's feedback page and
the console's wrap-up page and status line (Japanese), with a real coturn, server, kiosk window and console
window. The clients' connect timeout and media grace are far beyond the test's wait: the end comes from the
TURN refusal, not from a timeout."""

from __future__ import annotations

import asyncio
from pathlib import Path

from signaling.observer import wait_for
from signaling.protocol.models import IceServer
from tests.console.conftest import scene
from tests.coturn import start_coturn
from tests.integration.calls import staff_controller
from tests.kiosk.helpers import kiosk_app
from tests.support import WAIT_S, eventually

NEVER = dict(connect_timeout_s=600.0, media_grace_s=600.0)


async def test_refused_turn_credential_is_said_on_kiosk_and_console(tmp_path: Path) -> None:
    turn = await start_coturn(tmp_path, "the-secret-coturn-has-000000000000")
    try:
        async with scene(tmp_path, ice_servers=[IceServer(urls=[turn.url])], ice_relay_only=True,
                         turn_secret="a-different-secret-0000000000000000") as (env, windows):
            console = await staff_controller(env, "takahashi", **NEVER)
            win = windows.open(console)
            kiosk = await kiosk_app(env, tmp_path, "bihoro", **NEVER)
            windows.track(kiosk)
            assert await console.set_available()
            offer = asyncio.ensure_future(wait_for(console, "offer", WAIT_S))
            kiosk.controller.begin()
            assert await kiosk.controller.request_service("employment", [])
            await offer
            assert await console.accept()

            await eventually(lambda: kiosk.controller.screen == "feedback", what="kiosk: call ended")
            note = kiosk.window.feedback.cut_off
            assert note.isVisible()
            assert "中継するサーバー" in note.text() and "職員にお知らせください" in note.text(), note.text()

            await eventually(lambda: win.wrapup_view.summary.text() != "", what="console: wrap-up")
            assert "中継サーバー（TURN）が認証を拒否" in win.wrapup_view.summary.text()
            assert "IT担当に連絡" in win.statusBar().currentMessage()
    finally:
        await turn.stop()
