"""Offers that are not taken: decline (back to available, the resident waits on) and timeout (the countdown
runs out, the offer goes on and the silent specialist is set away, as routing says)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from signaling.observer import wait_for
from tests.console.conftest import scene
from tests.integration.calls import kiosk_controller, staff_controller
from tests.support import WAIT_S, eventually

OFFER_S = 8.0

async def test_decline_then_timeout(tmp_path: Path) -> None:
    # long enough that a loaded machine shows the dialog and clicks in time; the timeout itself is awaited
    async with scene(tmp_path, offer_timeout_s=OFFER_S) as (env, windows):
        ctl = await staff_controller(env, "takahashi", media_source="none")
        kiosk = await kiosk_controller(env, tmp_path, "bihoro", media_source="none")
        windows.track(kiosk)
        win = windows.open(ctl)
        assert await ctl.set_available()

        # decline: the dialog closes, I am available again, the resident keeps waiting (for someone else)
        offer = asyncio.ensure_future(wait_for(ctl, "offer", WAIT_S))
        kiosk.begin()
        assert await kiosk.request_service("employment", [])
        first = (await offer)["offer"]
        await eventually(win.offer_dialog.isVisible, what="ringing")
        assert win.header.pill.text() == "着信中"
        QTest.mouseClick(win.offer_dialog.decline_btn, Qt.MouseButton.LeftButton)
        await eventually(lambda: ctl.status == "available" and ctl.offer is None, what="declined")
        assert not win.offer_dialog.isVisible() and kiosk.visit.ticket_state in ("waiting", None)
        await eventually(lambda: [i.state for i in ctl.queue if i.ticket_id == first.ticket_id] == ["waiting"],
                         what="the resident waits on")

        # a new request rings; nobody answers: the countdown runs, then the offer goes and I am away
        await kiosk.cancel()
        offer = asyncio.ensure_future(wait_for(ctl, "offer", WAIT_S))
        kiosk.begin()
        assert await kiosk.request_service("employment", [])
        second = (await offer)["offer"]
        assert second.ticket_id != first.ticket_id and second.expires_in_s == OFFER_S
        await eventually(win.offer_dialog.isVisible, what="ringing again")
        shown = win.offer_dialog.countdown.text()
        revoked = asyncio.ensure_future(wait_for(ctl, "offer_revoked", WAIT_S))
        await eventually(lambda: win.offer_dialog.countdown.text() != shown, what="the countdown counts")
        assert (await revoked)["reason"] == "timeout"
        await eventually(lambda: ctl.status == "away" and ctl.status_reason == "no_answer", what="set away")
        assert not win.offer_dialog.isVisible()
        assert win.header.pill.text() == "離席中（着信に応答なし）"
        assert win.idle.button.isVisible() and "自動で離席" in win.idle.hint.text()
        assert "離席" in win.statusBar().currentMessage()
