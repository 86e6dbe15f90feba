"""A call of at least two minutes with the real window under qasync, started through the production entry
(:func:`signaling.qt.loop.run_app`), not pytest's loop. PySide6 6.12.0 on Python 3.11 aborts ("deallocating
None") within about a minute of media under qasync (DESIGN §9): this test is what catches such a regression."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from signaling.qt.loop import run_app
from tests.integration.calls import staff_controller
from tests.kiosk.helpers import click, kiosk_app
from tests.support import eventually, make_settings, server_env

CALL_S = float(os.environ.get("MADOGUCHI_SOAK_S", "120"))


@pytest.mark.slow
@pytest.mark.timeout(CALL_S + 600)  # a hang, not slowness: set-up alone can take minutes on a loaded machine
def test_two_minute_call_under_qasync(tmp_path: Path) -> None:
    report: dict[str, object] = {}

    async def main(qapp: QApplication) -> int:
        qapp.setQuitOnLastWindowClosed(False)
        async with server_env(make_settings(tmp_path)) as env:
            console = await staff_controller(env, "takahashi")
            app = await kiosk_app(env, tmp_path)
            ctl, w = app.controller, app.window
            try:
                assert await console.set_available()
                click(w.welcome.start)
                await eventually(lambda: ctl.screen == "choosing")
                click(w.services_page.buttons["disability"])
                await eventually(lambda: ctl.screen == "needs")
                click(w.needs.next)
                await eventually(lambda: console.offer is not None)
                assert await console.accept()
                await eventually(lambda: ctl.screen == "in_call")
                await eventually(lambda: w.call.video.frames_painted > 0)
                start, painted0 = time.monotonic(), w.call.video.frames_painted
                samples = []
                while time.monotonic() - start < CALL_S:
                    await asyncio.sleep(10)
                    link = ctl.mesh.link() if ctl.mesh is not None else None
                    assert link is not None and ctl.screen == "in_call", "the call dropped"
                    samples.append((round(time.monotonic() - start), w.call.video.frames_painted,
                                    link.call.audio_frames_received))
                    if len(samples) % 3 == 0:  # some chat and toggles too: every signal path keeps firing
                        click(w.call.quick[0])
                        click(w.call.mute)
                        click(w.call.mute)
                report["samples"] = samples
                report["painted"] = w.call.video.frames_painted - painted0
                report["audio_in"] = app.audio.frames_in if app.audio else 0
                click(w.call.end)
                click(w.call.end_yes)
                await eventually(lambda: ctl.screen == "feedback")
            finally:
                await app.stop()
                await console.stop()
        return 0

    assert run_app(main) == 0
    samples = report["samples"]
    assert isinstance(samples, list) and len(samples) >= CALL_S // 10
    painted = report["painted"]
    assert isinstance(painted, int) and painted > 0
    # video and sound kept arriving all along, not only at the start: over every 30 s of the call both counters
    # grew. (Not every 10 s, and no frame rate: with the machine's two cores shared six ways, as in a loaded CI
    # run, a 10 s sample once had no new audio frame — starvation, not the crash this test is for. How many
    # frames a kiosk paints is a benchmark's figure, not a test's.)
    spans = [(a, b) for a, b in zip(samples, samples[3:], strict=False)]
    assert spans and all(b[1] > a[1] and b[2] > a[2] for a, b in spans), samples
    print(f"\nsoak: {CALL_S:.0f} s call, {painted} frames painted, {report['audio_in']} audio frames played")
