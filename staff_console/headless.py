"""Headless console: a specialist who accepts offers, talks, writes a note and wraps up."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from signaling.observer import wait_for
from signaling.protocol.messages import Offer
from staff_console.controller import StaffController


@dataclass
class ShiftPlan:
    calls: int = 1
    note_category: str = "相談対応"
    note_summary: str = "headless demo consultation"
    offer_timeout_s: float = 300.0
    max_call_s: float = 3600.0


async def next_offer(ctl: StaffController, timeout: float) -> Offer:
    """The offer already ringing, or the next one. Bug found: an offer that arrived while ``set_available``
    was still waiting for its ack was emitted before anyone listened, and the demo hung for 5 minutes."""
    if ctl.offer is not None:
        return ctl.offer
    return (await wait_for(ctl, "offer", timeout))["offer"]  # type: ignore[no-any-return]


async def run_shift(ctl: StaffController, plan: ShiftPlan) -> list[dict[str, Any]]:
    """Go available, serve ``plan.calls`` residents, then go away. Returns one summary per call."""
    assert ctl.client is not None
    await ctl.client.wait_online(30)
    await ctl.set_available()
    done: list[dict[str, Any]] = []
    for _ in range(plan.calls):
        offer = await next_offer(ctl, plan.offer_timeout_s)
        started = asyncio.ensure_future(wait_for(ctl, "call_started", 30))
        if not await ctl.accept(offer.ticket_id):
            started.cancel()
            continue
        call = await started
        ended = await wait_for(ctl, "call_ended", plan.max_call_s)
        frames = dict(ctl.last_call_frames)
        await ctl.save_note(plan.note_category, plan.note_summary)
        await ctl.finish_wrapup()
        done.append({"session_id": call["session_id"], "end_reason": ended["reason"], "frames_received": frames})
    await ctl.set_away("end_of_shift")
    return done
