"""An outside partner (相談支援事業所, 後見人, interpreter; role ``partner``) in the console, the real window against a
real server: signs in through the login dialog and gets a window with nothing but an invitation to wait for — no
status buttons, no queue, no history tab, no error from a request it may not make. A specialist invites them into a
live call with a resident; the partner joins from the window, sees and hears the call as a third party, leaves,
and is back to waiting, with no wrap-up. An IT account is told at sign-in that the console is not its tool."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from signaling.observer import wait_for
from staff_console.app import ConsoleApp
from staff_console.settings import ConsoleSettings
from staff_console.ui import style
from tests.console.conftest import scene
from tests.integration.calls import SMALL, kiosk_controller, staff_controller
from tests.kiosk.helpers import click, shot
from tests.support import WAIT_S, eventually
from tests.test_partner import PARTNER, make_partner


@pytest.mark.parametrize("language", ["ja", "en"])
async def test_a_partner_waits_for_an_invitation_joins_and_leaves(tmp_path: Path, language: str) -> None:
    async with scene(tmp_path) as (env, windows):
        partner_id, _ = await make_partner(env)
        console = ConsoleApp(ConsoleSettings(server_url=env.url, language=language, **SMALL))  # type: ignore[arg-type]
        windows.track(console)
        t = console.texts
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        style.apply(app)  # as the console's main() does
        console.start()

        # IT signs in: refused in words, no window
        console.login.username.setText("it")
        console.login.password.setText("madoguchi-demo")
        click(console.login.button)
        await eventually(console.login.error.isVisible, what="IT told the console is not theirs")
        assert console.login.error.text() == t.t("login.not_for_console") and console.window is None
        await shot(console.login, "login_not_for_console", language, app="console")

        console.login.username.setText(PARTNER["username"])
        console.login.password.setText(PARTNER["password"])
        click(console.login.button)
        await eventually(lambda: console.window is not None and console.ctl.connection == "online", what="signed in")
        win, partner = console.window, console.ctl
        assert win is not None and partner.is_partner
        await eventually(lambda: win.idle.big.text() == t.t("idle.partner"), what="waiting for an invitation")
        assert win.header.role_badge.text() == t.t("badge.partner")
        assert win.header.pill.text() == t.t("status.partner_waiting") and win.header.sub.text() == "美幌町"
        assert not win.header.available_btn.isVisible() and not win.header.away_btn.isVisible()
        assert not win.idle.button.isVisible() and not win.queue_panel.isVisible()
        assert not win.tabs.isTabVisible(1) and not win.tabs.isTabVisible(2)  # no history, no callbacks
        await shot(win, "partner_waiting", language, app="console")

        # a specialist in a call with a Bihoro resident invites the partner
        takahashi = await staff_controller(env, "takahashi")
        kiosk = await kiosk_controller(env, tmp_path, "bihoro")
        windows.track(kiosk, takahashi)
        assert await takahashi.set_available()
        kiosk.begin()
        connected = asyncio.ensure_future(wait_for(takahashi, "call_status", WAIT_S,
                                                   lambda d: d["status"] == "connected"))
        assert await kiosk.request_service("employment", [])
        await eventually(lambda: takahashi.offer is not None, what="the resident's call rings")
        assert await takahashi.accept()
        await connected
        assert await takahashi.invite(partner_id)
        await eventually(win.invite_dialog.isVisible, what="the invitation rings")
        click(win.invite_dialog.join_btn)
        cv = win.call_view
        await eventually(lambda: partner.call is not None and win.stack.currentWidget() is cv,
                         what="the partner's call view")
        assert partner.call is not None and partner.call.role == "third_party"
        await eventually(lambda: cv.remote.frames_painted > 0, what="the partner sees the resident")
        assert not cv.side.isTabVisible(1)  # no record for a partner
        await eventually(lambda: win.header.pill.text() == t.t("status.in_call"), what="in a call, says the header")
        await shot(win, "partner_in_call", language, app="console")

        left = asyncio.ensure_future(wait_for(kiosk, "participants", WAIT_S,
                                              lambda d: d.get("left") == partner.my_peer))
        click(cv.end_btn)
        await left
        await eventually(lambda: partner.call is None and win.stack.currentWidget() is win.idle
                         and win.idle.big.text() == t.t("idle.partner"), what="waiting again, no wrap-up")
        assert partner.wrapup is None and not win.statusBar().currentMessage()
