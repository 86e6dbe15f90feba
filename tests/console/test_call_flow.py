"""A specialist's whole turn through the window: sign in → available → (connection drops, comes back)
→ offer rings → accept → video painted → chat both ways → (connection drops mid-call, the call goes on)
→ end → the record is required → wrap-up → available again → the session is in the history."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from signaling.observer import wait_for
from staff_console.app import ConsoleApp
from staff_console.settings import ConsoleSettings
from tests.console.conftest import scene
from tests.integration.calls import SMALL, kiosk_controller
from tests.support import WAIT_S, eventually

click = QTest.mouseClick
LEFT = Qt.MouseButton.LeftButton


async def test_specialist_turn_through_the_window(tmp_path: Path) -> None:
    async with scene(tmp_path) as (cenv, windows):
        console = ConsoleApp(ConsoleSettings(server_url=cenv.url, **SMALL))  # type: ignore[arg-type]
        kiosk = await kiosk_controller(cenv, tmp_path, "bihoro")
        ctl = console.ctl
        windows.track(kiosk, console)  # stopped at the end even if signing in fails
        # --- sign in: name, municipality and skills on screen
        console.start()
        console.login.username.setText("takahashi")
        console.login.password.setText("wrong")
        click(console.login.button, LEFT)
        await eventually(lambda: console.login.error.isVisible(), what="wrong password refused")
        console.login.password.setText("madoguchi-demo")
        click(console.login.button, LEFT)
        await eventually(lambda: console.window is not None and ctl.connection == "online", what="signed in")
        win = console.window
        assert win is not None
        assert win.header.name.text() == "高橋 美咲"
        assert "美幌町" in win.header.sub.text()
        assert "就労の相談" in win.header.sub.text() and "障がい福祉の相談" in win.header.sub.text()
        assert not console.login.isVisible()

        # --- available, then the connection drops: the console reconnects and restores status and queue
        click(win.header.available_btn, LEFT)
        await eventually(lambda: ctl.status == "available", what="available")
        assert win.header.pill.text() == "受付中"
        assert ctl.client is not None
        connects = ctl.client.connects
        queue_at = ctl.queue_at
        await ctl.client.drop()
        await eventually(lambda: ctl.connection != "online", what="offline")
        assert win.header.pill.text() == "オフライン" and win.banner.isVisible()  # never a stale "available"
        await eventually(lambda: ctl.client is not None and ctl.client.connects > connects and
                         ctl.connection == "online", what="reconnected")
        await eventually(lambda: ctl.status == "available" and ctl.queue_at > queue_at, what="status + queue resynced")
        assert win.header.pill.text() == "受付中" and not win.banner.isVisible()

        # --- an offer rings: who/where/what and the countdown
        offer_evt = asyncio.ensure_future(wait_for(ctl, "offer", WAIT_S))
        kiosk.begin()
        problems: list[object] = []
        kiosk.on_any(lambda name, data: problems.append((name, data)) if name in ("error", "no_specialist") else None)
        ok = await kiosk.request_service("employment", ["written"])
        assert ok, (problems, ctl.status, ctl.connection)
        await offer_evt
        dlg = win.offer_dialog
        await eventually(dlg.isVisible, what="offer dialog")
        assert dlg.service.text() == "就労の相談"
        assert "美幌町" in dlg.where.text() and "筆談" in dlg.needs.text()
        assert "秒" in dlg.countdown.text() and dlg.bar.value() > 0
        assert win.queue_model.rowCount() == 1  # the same resident, shown as offered in the queue

        # --- accept: the call view, painted video (remote and self), quality figures
        connected = asyncio.ensure_future(wait_for(ctl, "call_status", WAIT_S,
                                             lambda d: d["status"] == "connected"))
        click(dlg.accept_btn, LEFT)
        await connected
        cv = win.call_view
        await eventually(lambda: win.stack.currentWidget() is cv and not dlg.isVisible(), what="call view shown")
        assert ctl.status == "in_call" and win.header.pill.text() == "通話中"
        await eventually(lambda: cv.remote.frames_painted > 0 and cv.self_view.frames_painted > 0, what="painted")
        assert "就労の相談" in cv.what.text() and "筆談" in cv.where.text()

        # --- chat both ways through the widgets
        k_chat = asyncio.ensure_future(wait_for(kiosk, "chat", WAIT_S, lambda d: d["who"] != "me"))
        cv.chat_input.setText("こんにちは。高橋です。")
        click(cv.send_btn, LEFT)
        assert (await k_chat)["text"] == "こんにちは。高橋です。"
        c_chat = asyncio.ensure_future(wait_for(ctl, "chat", WAIT_S, lambda d: d["who"] != "me"))
        assert kiosk.send_chat("よろしくお願いします")
        await c_chat
        texts = [cv.chat_list.item(i).text() for i in range(cv.chat_list.count())]
        assert texts == ["自分: こんにちは。高橋です。", "住民の方: よろしくお願いします"]
        await eventually(lambda: "ms" in cv.quality.text(), what="quality shown")
        assert cv.timer.text() != "0:00"

        # --- the server connection drops mid-call: the call (media, chat) goes on, then resyncs
        assert ctl.mesh is not None
        link = ctl.mesh.link()
        assert link is not None
        frames = link.call.video_frames_received
        connects = ctl.client.connects
        await ctl.client.drop()
        await eventually(lambda: ctl.connection != "online", what="offline")
        assert win.banner.isVisible() and "通話はそのまま" in win.banner.text()
        await eventually(lambda: ctl.connection == "online" and ctl.client is not None and
                         ctl.client.connects > connects, what="back online")
        assert ctl.mesh is not None and ctl.mesh.link() is link  # the same peer connection, never re-made
        await eventually(lambda: link.call.video_frames_received > frames + 15, what="media went on")
        assert ctl.status == "in_call" and not win.banner.isVisible()

        # --- end: wrap-up needs a record with a category
        ended = asyncio.ensure_future(wait_for(ctl, "call_ended", WAIT_S))
        click(cv.end_btn, LEFT)
        assert (await ended)["wrap_up"] is True
        await eventually(lambda: kiosk.screen == "feedback", what="kiosk feedback")
        wv = win.wrapup_view
        # the window hears the controller through queued Qt signals (EventBridge): give it a turn of the loop
        await eventually(lambda: win.stack.currentWidget() is wv, what="wrap-up shown")
        assert ctl.status == "wrap_up"
        assert not await ctl.finish_wrapup()  # the server refuses too: no note yet
        click(wv.finish_btn, LEFT)
        await eventually(wv.form.error.isVisible, what="category demanded")
        assert "分類" in wv.form.error.text() and ctl.status == "wrap_up" and ctl.wrapup is not None

        wv.form.category.setCurrentIndex(wv.form.category.findData("consultation"))
        wv.form.summary.setPlainText("一般就労を希望。週3日から。")
        wv.form.follow_up.setChecked(True)
        click(wv.form.me_btn, LEFT)
        wv.form.referral.setCurrentIndex(2)
        assert ctl.note.category == "consultation" and ctl.note.follow_up_by == "高橋 美咲"
        done = asyncio.ensure_future(wait_for(ctl, "wrapup_done", WAIT_S))
        click(wv.finish_btn, LEFT)
        await done
        await eventually(lambda: ctl.status == "available" and win.stack.currentWidget() is win.idle
                         and win.header.pill.text() == "受付中", what="available again, on screen too")
        assert ctl.wrapup is None and ctl.call is None

        # --- the history shows the session with its record
        win.tabs.setCurrentIndex(1)
        await eventually(lambda: win.history_model.rowCount() == 1, what="history")
        assert win.history_model.text(0, win.history_model.CATEGORY) == "相談対応"
        assert win.history_model.text(0, win.history_model.FOLLOW_UP) == "高橋 美咲"
        assert "障害者就業・生活支援センター" in win.history_view.detail.toHtml()
