"""The console program itself goes away mid-call (closed, crashed, PC restarted) and the specialist signs in
again: the server hands the live session back, the console offers the resident a fresh link, and the call
goes on — the resident never had to start again."""

from __future__ import annotations

import asyncio
from pathlib import Path

from signaling.observer import wait_for
from tests.console.conftest import scene
from tests.integration.calls import kiosk_controller, staff_controller
from tests.kiosk.helpers import SHOTS
from tests.support import WAIT_S, eventually


async def test_console_restart_mid_call(tmp_path: Path) -> None:
    async with scene(tmp_path) as (env, windows):
        first = await staff_controller(env, "takahashi")
        kiosk = await kiosk_controller(env, tmp_path, "bihoro")
        windows.track(kiosk, first)
        assert await first.set_available()
        offer = asyncio.ensure_future(wait_for(first, "offer", WAIT_S))
        kiosk.begin()
        assert await kiosk.request_service("employment", [])
        await offer
        connected = asyncio.ensure_future(wait_for(first, "call_status", WAIT_S,
                                                   lambda d: d["status"] == "connected"))
        assert await first.accept()
        await connected
        assert first.call is not None
        sid = first.call.session_id
        await first.stop()  # the program is gone; the server keeps the session (the specialist is still in it)

        again = await staff_controller(env, "takahashi")
        win = windows.open(again)
        await eventually(lambda: again.call is not None and again.call.session_id == sid, what="session handed back")
        assert again.status == "in_call" and again.call is not None and again.call.role == "specialist"
        await eventually(lambda: kiosk.mesh is not None and kiosk.mesh.link() is not None
                         and kiosk.mesh.link().generation > 0
                         and kiosk.mesh.link().call.video_frames_received > 10, what="the kiosk got a fresh link")
        await eventually(lambda: win.call_view.remote.frames_painted > 0, what="resident on screen again")
        assert kiosk.screen == "in_call" and kiosk.visit.session_id == sid
        ended = asyncio.ensure_future(wait_for(again, "call_ended", WAIT_S))
        assert await again.hang_up()
        assert (await ended)["wrap_up"] is True


async def test_same_account_on_two_consoles_does_not_flap(tmp_path: Path) -> None:
    """The specialist opens the console on a second PC: the first window says so and stops (before, the two
    evicted each other for ever); its "reconnect on this computer" button takes the connection back."""
    async with scene(tmp_path) as (env, windows):
        first = await staff_controller(env, "takahashi")
        win = windows.open(first)
        assert await first.set_available()
        second = await staff_controller(env, "takahashi")
        windows.track(second)
        await eventually(lambda: first.connection == "closed" and win.banner.isVisible(), what="first window stops")
        assert win.banner.text() == win.texts.t("conn.stopped_replaced") and "別の端末" in win.banner.text()
        assert win.reconnect_button.isVisible() and first.status == "offline"
        assert first.status_reason == "replaced" and win.idle.big.text() == win.texts.t("idle.stopped")
        await asyncio.sleep(0.15)  # let the loop paint before grabbing
        assert win.grab().save(str(SHOTS / "console_replaced_ja.png"))
        # no retry, no flapping: the replaced client's reconnect loop has ended for good
        assert first.client is not None
        await asyncio.wait_for(first.client.given_up(), WAIT_S)
        assert win.statusBar().currentMessage() == ""  # no "waiting to reconnect" beside a banner that says stop
        assert first.client is not None and second.client is not None
        assert (first.client.connects, second.client.connects, second.connection) == (1, 1, "online")
        win.reconnect_button.click()
        await eventually(lambda: first.connection == "online" and second.connection == "closed",
                         what="connection taken back")
        assert not win.banner.isVisible() and not win.reconnect_button.isVisible()
