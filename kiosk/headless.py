"""Headless kiosk: one resident visit driven from the command line (demo, tests, field checks)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from kiosk.controller import KioskController
from kiosk.services import credentials
from kiosk.services.credentials import KioskCredential
from kiosk.services.server_api import enroll
from kiosk.settings import KioskSettings
from signaling.observer import wait_for
from signaling.protocol.models import Need
from signaling.tls import client_context


@dataclass
class VisitPlan:
    service: str
    needs: list[Need] = field(default_factory=list)
    call_seconds: float = 5.0
    rating: int = 5
    saved_trip: bool | None = True
    wait_timeout_s: float = 120.0
    retry_no_specialist_s: float = 30.0


async def ensure_credential(settings: KioskSettings, kiosk_id: int | None, enroll_code: str | None) -> KioskCredential:
    cred = credentials.load(settings.credential_file)
    if cred is not None:
        return cred
    if kiosk_id is None or enroll_code is None:
        raise SystemExit("this kiosk is not enrolled: pass --kiosk-id and --enroll-code from an administrator")
    cred = await enroll(settings.server_urls[0], kiosk_id, enroll_code, client_context(settings.ca_file))
    credentials.save(settings.credential_file, cred)
    return cred


async def run_visit(ctl: KioskController, plan: VisitPlan) -> dict[str, Any]:
    """Welcome → service → wait → call for plan.call_seconds → hang up → feedback. Returns a summary:
    ``waited_s`` from taking the ticket to the call starting (the wait, not the talk), ``frames_received``
    from the specialist over the whole call (read when it ended, whoever ended it)."""
    await ctl.client.wait_online(30)
    ctl.begin()
    deadline = time.monotonic() + plan.retry_no_specialist_s
    started = asyncio.ensure_future(wait_for(ctl, "call_started", plan.wait_timeout_s))
    while True:
        waiting_since = ctl.clock()  # the controller's clock: call_started_at is on it too
        if await ctl.request_service(plan.service, plan.needs):
            break
        if time.monotonic() > deadline:
            started.cancel()
            raise SystemExit(f"no specialist on duty for {plan.service}")
        await asyncio.sleep(1.0)
    call = await started
    assert ctl.call_started_at is not None  # set when session.start arrived, kept until the privacy reset
    waited = max(0.0, ctl.call_started_at - waiting_since)  # a quick accept can start it before the ack
    session_id = call["session_id"]
    ended = asyncio.ensure_future(wait_for(ctl, "call_ended", plan.call_seconds + 60))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(ended), plan.call_seconds)  # the specialist may end it first
    if not ended.done():
        await ctl.hang_up()
    end = await ended
    frames = dict(ctl.last_call_frames)
    await ctl.submit_feedback(plan.rating, plan.saved_trip)
    return {"session_id": session_id, "waited_s": round(waited, 2),
            "end_reason": end["reason"], "frames_received": frames}
