"""The console's callback tab (折り返し電話) end to end: a real server, kiosk clients asking for callbacks, the
console window under pytest-qt (offscreen). The Bihoro specialist sees the tasks of Bihoro with the numbers,
claims one from the table, records "no answer" (back in the list, counted) and then "reached"; the Kitami
specialist's tab stays empty. Rendered to docs/screenshots as console_callbacks_<lang>.png."""

from __future__ import annotations

from pathlib import Path

import pytest

from signaling.protocol.messages import CallbackBands, CallbackCreate
from signaling.protocol.models import CallbackBandRef
from signaling.protocol.replies import CallbackBandList
from tests.console.conftest import scene
from tests.integration.calls import staff_controller
from tests.kiosk.helpers import click, shot
from tests.support import eventually


@pytest.mark.parametrize("language", ["ja", "en"])
async def test_claim_and_record_from_the_callback_tab(tmp_path: Path, language: str) -> None:
    async with scene(tmp_path) as (env, windows):
        ctl = await staff_controller(env, "takahashi", media_source="none")
        win = windows.open(ctl, language)
        other = await staff_controller(env, "sato", media_source="none")   # Kitami
        other_win = windows.open(other, language)
        t = win.texts
        kiosk, _ = await env.kiosk_client("bihoro")
        bands = await kiosk.ask(CallbackBands(service_code="employment"))
        assert isinstance(bands, CallbackBandList)
        asked = []
        for phone, band, service in (("09011112222", bands.bands[1], "employment"),
                                     ("0152731234", bands.bands[0], "disability")):
            asked.append(await kiosk.ask(CallbackCreate(service_code=service, phone=phone,
                                                        band=CallbackBandRef(day=band.day, part=band.part))))
        await eventually(lambda: len(win.callback_model.items) == 2, what="both tasks in the tab")
        model = win.callback_model
        assert [model.text(r, model.PHONE) for r in range(2)] == ["0152731234", "09011112222"]  # earliest band first
        assert model.text(0, model.STATE) == t.t("callback.state.open")
        assert win.tabs.tabText(2) == t.t("tab.callbacks", n=2)
        win.tabs.setCurrentIndex(2)
        panel = win.callback_panel
        assert not panel.claim_btn.isEnabled()            # nothing selected
        panel.select(asked[0].callback_id)
        click(panel.claim_btn)
        await eventually(lambda: model.text(panel.view.currentIndex().row(), model.STATE)
                         == t.t("callback.state.mine"), what="claimed by me")
        assert panel.outcome_row.isEnabled() and not panel.claim_btn.isEnabled()
        panel.outcome_box.setCurrentIndex(panel.outcome_box.findData("no_answer"))
        panel.note.setText("留守番電話なし" if language == "ja" else "no voicemail")
        await shot(win, "callbacks", language, app="console")
        click(panel.record_btn)
        await eventually(lambda: any(i.attempts == 1 and i.state == "open" for i in model.items),
                         what="back in the list after no answer")
        row = next(r for r, i in enumerate(model.items) if i.callback_id == asked[0].callback_id)
        assert model.text(row, model.ATTEMPTS) == t.t("callback.attempts", n=1)
        assert panel.selected() is not None and panel.selected().callback_id == asked[0].callback_id  # kept
        click(panel.claim_btn)
        await eventually(lambda: panel.outcome_row.isEnabled(), what="claimed again")
        panel.outcome_box.setCurrentIndex(panel.outcome_box.findData("reached"))
        click(panel.record_btn)
        await eventually(lambda: [i.callback_id for i in model.items] == [asked[1].callback_id],
                         what="done: gone from the list")
        assert win.tabs.tabText(2) == t.t("tab.callbacks", n=1)
        # Kitami's specialist was never sent a Bihoro number
        assert other.callbacks.items == [] and other_win.callback_model.items == []
        assert other_win.tabs.tabText(2) == other_win.texts.t("tab.callbacks_none")
