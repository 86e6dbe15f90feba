"""Call set-up through the real server on loopback, beside the bare-aiortc floor measured in the same run.

Measured: ``--calls`` calls one after another (default 20), each from the moment the console sends
``offer.accept`` to the first decoded remote video frame at the kiosk and at the console, with the
real server (uvicorn, SQLite, queue, signaling hub) and the real kiosk and console controllers, all
in one process. Floor: two bare CallPeers in the same process, SDP handed over directly, the
console offering as in a real call (bench/floor.py). Prints one JSON object.

Run: ``python -m bench.call_setup [--calls 20] [--floor 20]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.floor import measure_floor_samples, percentile
from kiosk.controller import KioskController
from signaling.observer import wait_for
from staff_console.controller import StaffController
from tests.integration.calls import kiosk_controller, staff_controller
from tests.support import make_settings, server_env


async def _first_video(ctl: KioskController | StaffController, timeout_s: float = 15.0) -> float:
    deadline = time.monotonic() + timeout_s
    while True:
        link = ctl.mesh.link() if ctl.mesh is not None else None
        if link is not None and link.call.first_remote_video_at is not None:
            return link.call.first_remote_video_at
        if time.monotonic() > deadline:
            raise TimeoutError("no remote video")
        await asyncio.sleep(0.002)


async def measure_calls(n: int, tmp: Path) -> list[tuple[float, float]]:
    settings = make_settings(tmp, "sqlite", log_json=False)
    out: list[tuple[float, float]] = []
    async with server_env(settings) as env:
        console = await staff_controller(env, "takahashi")
        kiosk = await kiosk_controller(env, tmp, "bihoro")
        try:
            await console.set_available()
            for _ in range(n):
                offer = asyncio.ensure_future(wait_for(console, "offer", 15))
                await kiosk.request_service("employment")
                ticket = (await offer)["offer"].ticket_id
                accepted_at = time.monotonic()
                await console.accept(ticket)
                k_at, c_at = await asyncio.gather(_first_video(kiosk), _first_video(console))
                out.append(((k_at - accepted_at) * 1000, (c_at - accepted_at) * 1000))
                ended = asyncio.ensure_future(wait_for(console, "call_ended", 10))
                await kiosk.hang_up()
                await ended
                await console.save_note("bench")
                await console.finish_wrapup()
                await kiosk.submit_feedback(5, True)
                await asyncio.sleep(0.2)
        finally:
            await kiosk.stop()
            await console.stop()
    return out


def summary(kiosk_ms: list[float], console_ms: list[float]) -> dict[str, float]:
    calls = [max(k, c) for k, c in zip(kiosk_ms, console_ms, strict=True)]
    return {
        "kiosk_p50_ms": round(percentile(kiosk_ms, 50), 1), "kiosk_p95_ms": round(percentile(kiosk_ms, 95), 1),
        "console_p50_ms": round(percentile(console_ms, 50), 1),
        "console_p95_ms": round(percentile(console_ms, 95), 1),
        "call_p50_ms": round(percentile(calls, 50), 1), "call_p95_ms": round(percentile(calls, 95), 1),
    }


async def main(calls: int, floor_n: int) -> dict[str, Any]:
    logging.disable(logging.WARNING)
    floor = await measure_floor_samples(floor_n)
    with tempfile.TemporaryDirectory() as tmp:
        measured = await measure_calls(calls, Path(tmp))
    f = summary([s.kiosk_ms for s in floor], [s.console_ms for s in floor])
    m = summary([k for k, _ in measured], [c for _, c in measured])
    return {
        "calls": calls, "floor_calls": floor_n, "layout": "server, kiosk and console in one process; loopback",
        "measured": m, "floor": f,
        "ratio_p50": round(m["call_p50_ms"] / f["call_p50_ms"], 2),
        "ratio_p95": round(m["call_p95_ms"] / f["call_p95_ms"], 2),
        "goal": "p50 within 2x the floor and under 250 ms",
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--floor", type=int, default=20)
    args = ap.parse_args()
    print(json.dumps(asyncio.run(main(args.calls, args.floor)), ensure_ascii=False))
