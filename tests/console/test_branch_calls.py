"""「支所の職員を呼ぶ」 on the console window (issue 12 item 6): a real server, a kiosk client of the branch calls; the
console of the branch's municipality shows it with 行きます; the answer reaches the kiosk; a console of another
municipality is never told. Rendered to docs/screenshots as console_branch_call_<lang>.png."""

from __future__ import annotations

from pathlib import Path

import pytest

from signaling.protocol.messages import BranchCall, BranchCallState
from signaling.protocol.replies import BranchCallPlaced
from tests.console.conftest import scene
from tests.integration.calls import staff_controller
from tests.kiosk.helpers import click, shot
from tests.support import eventually


@pytest.mark.parametrize("language", ["ja", "en"])
async def test_the_console_is_told_and_answers(tmp_path: Path, language: str) -> None:
    async with scene(tmp_path) as (env, windows):
        ctl = await staff_controller(env, "takahashi", media_source="none")   # Bihoro
        win = windows.open(ctl, language)
        other = await staff_controller(env, "sato", media_source="none")      # Kitami
        windows.track(other)
        kiosk, inbox = await env.kiosk_client("bihoro")
        placed = await kiosk.ask(BranchCall())
        assert isinstance(placed, BranchCallPlaced) and placed.recipients == 1
        await eventually(win.branch_bar.isVisible, what="the notice shown")
        assert "美幌町役場 窓口" in win.branch_notice.text()
        assert win.branch_answer.text() == win.texts.t("branch.answer")
        await shot(win, "branch_call", language, app="console")
        click(win.branch_answer)
        state = await inbox.next("branch.call_state")
        assert isinstance(state, BranchCallState) and state.call_id == placed.call_id
        await eventually(lambda: not win.branch_bar.isVisible(), what="the notice put away")
        assert other.branch_calls.calls == {}
