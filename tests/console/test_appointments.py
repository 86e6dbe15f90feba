"""The console's appointments tab (予約, issue 12 item 3) end to end: a real server, two consoles under pytest-qt
(offscreen). The supervisor opens the tab, goes to tomorrow, books a slot with a specialist in the dialog (the
reservation number is shown to tell the resident), a colleague's console showing that day gets it at once
(``appointment.update``), a second booking of the same specialist at the same time is refused in words, the
appointment is cancelled from the table, and 印刷 writes the printable day view and opens it. Rendered to
docs/screenshots as console_appointments_<lang>.png and console_appointment_book_<lang>.png."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QTime

from signaling.protocol.models import JST
from tests.console.conftest import scene
from tests.integration.calls import staff_controller
from tests.kiosk.helpers import click, shot
from tests.support import eventually


@pytest.mark.parametrize("language", ["ja", "en"])
async def test_book_see_cancel_and_print_from_the_appointments_tab(tmp_path: Path, language: str) -> None:
    async with scene(tmp_path) as (env, windows):
        ctl = await staff_controller(env, "tanaka", media_source="none")
        win = windows.open(ctl, language)
        colleague = await staff_controller(env, "sato", media_source="none")
        other = windows.open(colleague, language)
        t = win.texts
        opened: list[str] = []
        win.open_file = opened.append  # the browser that would print it
        tomorrow = (datetime.now(JST) + timedelta(days=1)).date()
        assert win.tabs.tabText(3) == t.t("tab.appointments") and win.tabs.isTabVisible(3)
        for w in (win, other):
            w.tabs.setCurrentIndex(3)
            await eventually(lambda w=w: w.appointment_panel.day is not None, what="today's list")
            click(w.appointment_panel.next_btn)
            await eventually(lambda w=w: w.appointment_panel.day == tomorrow, what="tomorrow")
        panel = win.appointment_panel
        assert panel.empty.isVisible() and not panel.cancel_btn.isEnabled()

        click(panel.book_btn)
        dialog = panel.dialog
        assert dialog is not None and dialog.isVisible()
        assert [dialog.branch.itemData(i) for i in range(dialog.branch.count())] == ["kitami-tokoro"]
        dialog.service.setCurrentIndex(dialog.service.findData("disability"))
        sato = next(s["id"] for s in panel.specialists if s["name"] == "佐藤 花子")
        dialog.staff.setCurrentIndex(dialog.staff.findData(sato))
        dialog.time.setTime(QTime(10, 30))
        dialog.length.setValue(45)
        await shot(dialog, "appointment_book", language, app="console")
        click(dialog.ok)
        await eventually(lambda: len(panel.model.items) == 1, what="the booking in the list")
        await eventually(lambda: not dialog.isVisible(), what="the dialog closed")
        item = panel.model.items[0]
        assert (item.staff_name, item.duration_min, f"{item.starts_at.astimezone(JST):%H:%M}") == ("佐藤 花子", 45,
                                                                                                   "10:30")
        assert item.number in panel.message.text()
        m = panel.model
        assert m.text(0, m.TIME) == t.t("appt.time", start="10:30", minutes=45)
        assert m.text(0, m.STATE) == t.t("appt.state.booked") and m.text(0, m.NUMBER) == item.number
        await eventually(lambda: [i.appointment_id for i in other.appointment_panel.model.items]
                         == [item.appointment_id], what="the colleague's console follows")

        click(panel.book_btn)  # sato again at 10:45: refused, said in words, the dialog stays
        again = panel.dialog
        assert again is not None
        again.service.setCurrentIndex(again.service.findData("disability"))
        again.staff.setCurrentIndex(again.staff.findData(sato))
        again.time.setTime(QTime(10, 45))
        click(again.ok)
        await eventually(lambda: panel.message.text().startswith(t.t("error.appointment.conflict", message="")),
                         what="the refusal")
        assert again.isVisible() and len(panel.model.items) == 1
        click(again.close_btn)
        click(panel.book_btn)  # anyone, at 14:00
        third = panel.dialog
        assert third is not None
        third.service.setCurrentIndex(third.service.findData("general"))
        third.time.setTime(QTime(14, 0))
        click(third.ok)
        await eventually(lambda: len(panel.model.items) == 2, what="the second booking")
        assert m.text(1, m.STAFF) == t.t("appt.anyone")
        await shot(win, "appointments", language, app="console")

        panel.select(item.appointment_id)
        assert panel.cancel_btn.isEnabled()
        click(panel.cancel_btn)
        await eventually(lambda: panel.model.items[0].state == "cancelled", what="cancelled")
        assert m.text(0, m.STATE) == t.t("appt.state.cancelled") and not panel.cancel_btn.isEnabled()
        await eventually(lambda: other.appointment_panel.model.items[0].state == "cancelled")

        click(panel.print_btn)
        await eventually(lambda: opened, what="the day view opened")
        page = Path(opened[0])
        assert page.name == f"appointments-{tomorrow.isoformat()}.html"
        assert os.stat(page).st_mode & 0o077 == 0  # this user's only
        html = await asyncio.to_thread(page.read_text, "utf-8")
        assert ("予約一覧" if language == "ja" else "Appointments") in html and item.number in html
