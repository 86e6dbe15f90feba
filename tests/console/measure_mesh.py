"""Measure what the call mesh costs on this machine: 2 parties, 3 parties, 3 parties + a listening supervisor.

    .venv/bin/python -m tests.console.measure_mesh [--seconds 15] [--size 640x480]

All endpoints run in this one process (real server, real aiortc, synthetic VP8/Opus media), so the CPU figure
is the sum over endpoints; per endpoint it is that divided by the number of endpoints (each endpoint is its own
PC in production). Prints one JSON object. Not a test (no ``test_`` prefix): it takes a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from signaling.observer import wait_for
from staff_console.controller import StaffController
from tests.integration.calls import kiosk_controller, staff_controller
from tests.support import allow_outside_supervision, make_settings, server_env


def _links(ctl: Any) -> dict[str, Any]:
    return dict(ctl.mesh.links) if ctl.mesh is not None else {}


async def _until(pred: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.05)


async def scenario(parties: str, seconds: float, size: tuple[int, int]) -> dict[str, Any]:
    over = {"video_width": size[0], "video_height": size[1], "video_fps": 15}
    with tempfile.TemporaryDirectory() as tmp:
        async with server_env(make_settings(Path(tmp), "sqlite", shared_pool_after_s=0.0)) as env:
            spec = await staff_controller(env, "takahashi", **over)
            kiosk = await kiosk_controller(env, Path(tmp), "bihoro", **over)
            others: list[StaffController] = []
            try:
                await spec.set_available()
                offer = asyncio.ensure_future(wait_for(spec, "offer", 10))
                kiosk.begin()
                await kiosk.request_service("employment", [])
                await offer
                await spec.accept()
                await _until(lambda: all(link.call.video_frames_received > 5 for link in _links(spec).values())
                             and _links(spec))
                if parties in ("3", "3+sup"):
                    third = await staff_controller(env, "sato", **over)
                    others.append(third)
                    await spec.refresh_colleagues()
                    invited = asyncio.ensure_future(wait_for(third, "invite", 10))
                    await spec.invite(third.me["id"])
                    await invited
                    await third.answer_invite(True)
                    await _until(lambda: len(_links(third)) == 2 and all(
                        link.call.video_frames_received > 5 for link in _links(third).values()))
                if parties == "3+sup":
                    await allow_outside_supervision(env)  # tanaka is Kitami's supervisor; the kiosk is Bihoro's
                    sup = await staff_controller(env, "tanaka", **over)
                    others.append(sup)
                    await sup.join_silently(spec.call.session_id if spec.call else 0)
                    await _until(lambda: len(_links(sup)) == len(_links(spec)) and all(
                        link.call.video_frames_received > 5 for link in _links(sup).values()))
                await asyncio.sleep(2.0)  # settle
                everyone = [kiosk, spec, *others]
                before = {id(c): {p: link.call.video_frames_received for p, link in _links(c).items()}
                          for c in everyone}
                cpu0, wall0 = time.process_time(), time.monotonic()
                rtts: list[float] = []
                while time.monotonic() - wall0 < seconds:
                    await asyncio.sleep(2.0)
                    for c in everyone:
                        for link in _links(c).values():
                            s = await link.call.stats()
                            if s.rtt_ms is not None:
                                rtts.append(s.rtt_ms)
                cpu = time.process_time() - cpu0
                wall = time.monotonic() - wall0
                fps = []
                for c in everyone:
                    for p, link in _links(c).items():
                        n = link.call.video_frames_received - before[id(c)].get(p, 0)
                        if n > 0:
                            fps.append(n / wall)
                return {
                    "parties": parties, "endpoints": len(everyone), "size": f"{size[0]}x{size[1]}",
                    "video_links_receiving": len(fps),
                    "cpu_pct_of_one_core_total": round(100 * cpu / wall, 1),
                    "cpu_pct_per_endpoint": round(100 * cpu / wall / len(everyone), 1),
                    "fps_min": round(min(fps), 1), "fps_mean": round(sum(fps) / len(fps), 1),
                    "rtt_ms_max": round(max(rtts), 1) if rtts else None,
                }
            finally:
                for c in [*others, spec, kiosk]:
                    await c.stop()


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--size", default="640x480")
    args = ap.parse_args()
    w, h = (int(x) for x in args.size.split("x"))
    results = [await scenario(p, args.seconds, (w, h)) for p in ("2", "3", "3+sup")]
    print(json.dumps({"cores": os.cpu_count(), "results": results}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    asyncio.run(main())
