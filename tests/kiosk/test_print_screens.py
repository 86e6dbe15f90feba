"""The kiosk window while the specialist prints at the branch, in each language: 「印刷しています」 until the real
CUPS printer (tests/cups.py, queue ``held``) prints, 「印刷しました。プリンターからお取りください」, then an empty
tray and no printer, each in big text with 「閉じる」; screenshots of each. Real server, real console, real media."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from signaling.observer import wait_for
from tests.cups import Cups
from tests.integration.calls import staff_controller
from tests.kiosk.helpers import click, kiosk_app, shot, visible_texts, wrong_language
from tests.pdfs import make_pdf
from tests.support import WAIT_S, Env, eventually


@pytest.mark.parametrize("language", ["ja", "en"])
async def test_the_printing_overlay(sqlite_env: Env, tmp_path: Path, cups: Cups, language: str,
                                    qapp: Any) -> None:
    env = sqlite_env
    console = await staff_controller(env, "takahashi")
    app = await kiosk_app(env, tmp_path, language=language, printer="held", cups_server=cups.server)
    ctl, w = app.controller, app.window
    try:
        assert await console.set_available()
        offered = asyncio.ensure_future(wait_for(console, "offer", WAIT_S))
        ctl.begin()
        assert await ctl.request_service("employment")
        await offered
        assert await console.accept()
        await eventually(lambda: ctl.screen == "in_call" and ctl.mesh is not None and ctl.mesh.primary_alive(),
                         what="the call on the kiosk")
        for side in (ctl, console):
            await side.mesh.link().call.wait_channel_open(WAIT_S)
        title = "利用申請書" if language == "ja" else "Application form"
        problems: dict[str, list[tuple[str, str]]] = {}

        async def capture(name: str) -> None:
            await shot(w, name, language)
            problems[name] = wrong_language(visible_texts(w), language)

        # 印刷しています: the printer holds the job until the test lets it print
        printing = asyncio.ensure_future(wait_for(console, "print", WAIT_S, lambda d: d["state"] == "printing"))
        assert await console.print_at_branch(make_pdf(2, title), title) is not None
        await printing
        await eventually(lambda: w.printing.isVisible() and w.printing.state == "printing", what="印刷しています")
        assert not w.printing.close_btn.isVisible()
        await capture("print_printing")

        done = asyncio.ensure_future(wait_for(console, "print", WAIT_S, lambda d: d["state"] == "done"))
        cups.release()
        await done
        await eventually(lambda: w.printing.state == "done", what="印刷しました")
        assert w.printing.close_btn.isVisible()
        await capture("print_done")
        click(w.printing.close_btn)
        assert not w.printing.isVisible()

        for queue, state in (("paperout", "paper_out"), ("gone", "no_printer")):
            ctl.printing.printer.queue = queue
            ended = asyncio.ensure_future(wait_for(console, "print", WAIT_S, lambda d, s=state: d["state"] == s))
            assert await console.print_at_branch(make_pdf(1, title), title) is not None
            await ended
            await eventually(lambda s=state: w.printing.state == s, what=state)  # type: ignore[misc]
            await capture(f"print_{state}")
            click(w.printing.close_btn)
        assert not any(problems.values()), problems
    finally:
        await app.stop()
        await console.stop()
