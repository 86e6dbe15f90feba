"""The headless runners behind `madoguchi demo --headless` (kiosk/headless.py, staff_console/headless.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kiosk.headless import VisitPlan, run_visit
from signaling.observer import wait_for
from staff_console.headless import ShiftPlan, next_offer, run_shift
from tests.integration.calls import kiosk_controller, staff_controller
from tests.support import WAIT_S, Env, ManualClock, eventually


async def test_shift_serves_a_resident_who_was_already_waiting(sqlite_env: Env, tmp_path: Path) -> None:
    """Bug found (the demo hung 1 run in 3): with a resident already waiting, the server offers the ticket before
    it acknowledges ``status.set available``; the shift listened for offers only after that ack and missed it."""
    console = await staff_controller(sqlite_env, "takahashi")  # Bihoro; signed in, away
    kitami = await staff_controller(sqlite_env, "tanaka")      # on duty, but Bihoro's residents reach the
    kiosk = await kiosk_controller(sqlite_env, tmp_path, "bihoro")  # shared pool only after 300 s
    try:
        await eventually(lambda: console.status == "away", what="the console away")
        assert await kitami.set_available()
        kiosk.begin()
        assert await kiosk.request_service("employment", [])
        await eventually(lambda: kiosk.visit.ticket_state == "waiting", what="the resident waiting")
        assert kitami.offer is None
        started = asyncio.ensure_future(wait_for(kiosk, "call_started", WAIT_S))
        shift = asyncio.ensure_future(run_shift(console, ShiftPlan(calls=1, offer_timeout_s=WAIT_S)))
        await started
        await eventually(lambda: kiosk.mesh is not None and kiosk.mesh.link() is not None
                         and kiosk.mesh.link().call.video_frames_received > 0,  # type: ignore[union-attr]
                         what="media at the kiosk")
        await kiosk.hang_up()
        served = await asyncio.wait_for(shift, WAIT_S)
        assert [s["end_reason"] for s in served] == ["resident_hangup"]
    finally:
        await kiosk.stop()
        await console.stop()
        await kitami.stop()


async def test_visit_summary_when_the_specialist_ends_the_call(sqlite_env: Env, tmp_path: Path) -> None:
    """Bugs found in the demo: when the specialist hung up first the kiosk printed ``frames_received: {}`` (it
    read the link after the call had closed it), and ``waited_s`` counted the talk as waiting."""
    console = await staff_controller(sqlite_env, "takahashi")
    clock = ManualClock()
    kiosk = await kiosk_controller(sqlite_env, tmp_path, "bihoro", clock=clock)
    try:
        assert await console.set_available()
        # the resident would talk for an hour: the specialist ends the call first however slow the machine is
        visit = asyncio.ensure_future(run_visit(kiosk, VisitPlan(service="employment", call_seconds=3600)))
        offer = await next_offer(console, WAIT_S)
        clock.advance(7.0)  # the resident waited 7 s for the answer
        assert await console.accept(offer.ticket_id)
        await eventually(lambda: kiosk.mesh is not None and kiosk.mesh.link() is not None
                         and kiosk.mesh.link().call.video_frames_received > 10  # type: ignore[union-attr]
                         and kiosk.mesh.link().call.audio_frames_received > 10,  # type: ignore[union-attr]
                         what="video and audio at the kiosk")
        clock.advance(100.0)  # then talked: not waiting
        assert await console.hang_up()
        summary = await asyncio.wait_for(visit, WAIT_S)
        assert summary["end_reason"] == "staff_hangup"
        assert summary["frames_received"]["video"] > 10 and summary["frames_received"]["audio"] > 10
        # from the ticket to the call's start, never more: the talk is not waiting
        assert summary["waited_s"] == 7.0
    finally:
        await kiosk.stop()
        await console.stop()
