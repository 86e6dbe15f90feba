"""A document still, from the specialist's tap to the whole still checked on the console, beside the same bytes
over the same data channel without the capture, in the same run (issue 11, item 1; goal ≤ 2 s on loopback).

One real server (uvicorn, SQLite), a real console and kiosk controller in a call (aiortc, VP8 face video
320x240), the kiosk showing its synthetic document camera at full resolution (default 2592x1944, 5 MP; the
call's video carries it scaled to 1280 wide). Rounds alternate:

- ``still``: ``console.take_still()`` → ``still.request`` over the data channel → the kiosk encodes its latest
  full-resolution frame (JPEG q92, off the event loop) → ``blob.begin`` + 16 KiB chunks → the console checks size
  and SHA-256 → the ``still`` event. Timed from the tap to that event.
- ``baseline``: the previous still's bytes sent by the kiosk on the same link (the same ``send_blob``), as if
  asked for: the transfer and the console's checks, without the request and the capture.

Prints one JSON object: medians and 90th percentiles, the still's size, the goal and whether it was met.

Run: ``python -m bench.doc_still [--rounds 10] [--width 2592 --height 1944]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from signaling.observer import wait_for
from signaling.protocol.channel import BlobBegin
from tests.integration.calls import kiosk_controller, staff_controller
from tests.support import make_settings, server_env

GOAL_MS = 2000.0


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


async def _still(console: Any) -> tuple[float, Any]:
    got = asyncio.ensure_future(wait_for(console, "still", 60))
    tapped = time.monotonic()
    assert console.take_still() is not None
    entry = (await got)["entry"]
    return (time.monotonic() - tapped) * 1000, entry


async def _baseline(console: Any, kiosk: Any, entry: Any, transfer_id: int, request_id: int) -> float:
    got = asyncio.ensure_future(wait_for(console, "still", 60, lambda d: d["entry"].request_id == request_id))
    begin = BlobBegin(transfer_id=transfer_id, purpose="still", mime="image/jpeg", size=len(entry.data),
                      sha256=entry.sha256, request_id=request_id, width=entry.width, height=entry.height)
    started = time.monotonic()
    console.documents._pending[request_id] = started  # as if asked: the console takes it like a still
    await kiosk.mesh.send_blob(kiosk.mesh.primary, begin, entry.data)
    received = (await got)["entry"]
    assert received.data == entry.data
    return (time.monotonic() - started) * 1000


async def main(rounds: int, width: int, height: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        async with server_env(make_settings(Path(tmp), "sqlite")) as env:
            console = await staff_controller(env, "takahashi")
            kiosk = await kiosk_controller(env, Path(tmp), "bihoro", document_camera_width=width,
                                           document_camera_height=height)
            try:
                assert await console.set_available()
                offered = asyncio.ensure_future(wait_for(console, "offer", 30))
                kiosk.begin()
                assert await kiosk.request_service("employment")
                await offered
                connected = asyncio.ensure_future(wait_for(console, "call_status", 30,
                                                           lambda d: d["status"] == "connected"))
                assert await console.accept()
                await connected
                shown = asyncio.ensure_future(wait_for(console, "document", 30, lambda d: d["showing"]))
                assert await kiosk.show_document()
                await shown
                await kiosk.documents.camera.wait_frame()
                await _still(console)  # the first JPEG encoder start is not a tap's cost
                stills: list[float] = []
                base: list[float] = []
                sizes: list[int] = []
                for i in range(rounds):
                    ms, entry = await _still(console)
                    stills.append(ms)
                    sizes.append(len(entry.data))
                    assert entry.sha256 == kiosk.documents.sent[-1].sha256  # byte-identical to the capture
                    base.append(await _baseline(console, kiosk, entry, 10_000 + i, 10_000 + i))
            finally:
                await kiosk.stop()
                await console.stop()
    still_ms, base_ms = statistics.median(stills), statistics.median(base)
    return {
        "bench": "doc_still",
        "rounds": rounds,
        "resolution": f"{width}x{height}",
        "still_bytes_median": int(statistics.median(sizes)),
        "tap_to_still_ms_median": round(still_ms, 1),
        "tap_to_still_ms_p90": round(_p90(stills), 1),
        "same_bytes_over_channel_ms_median": round(base_ms, 1),
        "same_bytes_over_channel_ms_p90": round(_p90(base), 1),
        "capture_and_request_ms_median": round(still_ms - base_ms, 1),
        "goal_ms": GOAL_MS,
        "goal_met": _p90(stills) <= GOAL_MS,
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--width", type=int, default=2592)
    parser.add_argument("--height", type=int, default=1944)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(asyncio.run(main(args.rounds, args.width, args.height)), ensure_ascii=False))
