"""The call-setup floor: what aiortc alone costs, with no server, no network and no UI.

Two bare :class:`~signaling.peer.CallPeer` objects in one process, host candidates only, SDP handed
over directly, in the same roles as a real call (the console offers, the kiosk answers). Each
sample is the time from the moment the console starts its offer ("accept") to the first decoded
remote video frame at each side; a call is as slow as its slower side. The full
``bench/call_setup.py`` compares its end-to-end figures with this floor.

Run: ``python -m bench.floor [n]`` prints ``{"floor_p50_ms": ..., "floor_p95_ms": ..., ...}``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass

from signaling.media import make_local_tracks
from signaling.peer import CallPeer


@dataclass(frozen=True)
class FloorSample:
    kiosk_ms: float    # accept -> first video frame at the answerer (kiosk)
    console_ms: float  # accept -> first video frame at the offerer (console)

    @property
    def call_ms(self) -> float:
        return max(self.kiosk_ms, self.console_ms)


def _peer(label: str, width: int, height: int, fps: int) -> CallPeer:
    audio, video = make_local_tracks("synthetic", width=width, height=height, fps=fps)
    return CallPeer(ice_servers=[], audio=audio, video=video, label=label)


async def _first_video(peer: CallPeer, timeout_s: float) -> float:
    deadline = time.monotonic() + timeout_s
    while peer.first_remote_video_at is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{peer.label}: no video after {timeout_s} s")
        await asyncio.sleep(0.002)
    return peer.first_remote_video_at


async def one_call(
    *, width: int = 320, height: int = 240, fps: int = 15, timeout_s: float = 15.0,
) -> FloorSample:
    """One call set up and torn down; times are measured from the start of the console's offer."""
    accepted_at = time.monotonic()
    console = _peer("console", width, height, fps)
    kiosk: CallPeer | None = None
    try:
        offer = await console.create_offer()
        kiosk = _peer("kiosk", width, height, fps)
        await console.set_answer(await kiosk.accept_offer(offer))
        kiosk_at, console_at = await asyncio.gather(_first_video(kiosk, timeout_s),
                                                    _first_video(console, timeout_s))
        return FloorSample((kiosk_at - accepted_at) * 1000, (console_at - accepted_at) * 1000)
    finally:
        await console.close()
        if kiosk is not None:
            await kiosk.close()


async def measure_floor_samples(
    n: int, *, width: int = 320, height: int = 240, fps: int = 15,
) -> list[FloorSample]:
    """``n`` calls one after another (so they do not compete for the CPU)."""
    return [await one_call(width=width, height=height, fps=fps) for _ in range(n)]


async def measure_floor(n: int, *, width: int = 320, height: int = 240, fps: int = 15) -> list[float]:
    """Per-call setup floor in ms: max(kiosk, console) of accept -> first remote video frame."""
    return [s.call_ms for s in await measure_floor_samples(n, width=width, height=height, fps=fps)]


def percentile(values: list[float], pct: float) -> float:
    """Linear-interpolated percentile (numpy's default method), no numpy needed."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


async def _main(n: int) -> dict[str, float | int]:
    samples = await measure_floor_samples(n)
    calls = [s.call_ms for s in samples]
    return {
        "n": n,
        "floor_p50_ms": round(percentile(calls, 50), 1),
        "floor_p95_ms": round(percentile(calls, 95), 1),
        "kiosk_p50_ms": round(percentile([s.kiosk_ms for s in samples], 50), 1),
        "console_p50_ms": round(percentile([s.console_ms for s in samples], 50), 1),
        "max_ms": round(max(calls), 1),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_main(int(sys.argv[1]) if len(sys.argv) > 1 else 10))))
