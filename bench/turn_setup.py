"""Call set-up through a real coturn (relay-only) beside host candidates only, in the same run; and how soon a
refused TURN credential ends a call.

Three real servers (uvicorn, SQLite) run side by side, each with its own console and kiosk controllers
(real aiortc media, 320x240 VP8), all in one process on loopback, and one ``turnserver`` started from
deploy/coturn/turnserver.conf (tests/coturn.py):

- ``host``:  no ICE servers (host candidates only, the default inside one network);
- ``relay``: MADOGUCHI_ICE_RELAY_ONLY with the TURN server and its REST secret;
- ``refused``: the same, but the server's TURN secret is not coturn's.

Rounds alternate the modes (host, relay, refused, host, ...) so that machine load falls on all alike.
Measured per call, from the console's ``offer.accept``: ``host``/``relay`` to the first decoded remote
video frame at the kiosk and at the console (the call's time is the later one); ``refused`` to the kiosk's
and the console's ``call_ended`` (with media_error turn_auth). The clients' connect timeout and media grace
are 600 s, so a refused call ends by the TURN answer alone. Prints one JSON object with medians.

Run: ``python -m bench.turn_setup [--calls 10]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.call_setup import _first_video
from signaling.observer import wait_for
from signaling.protocol.models import IceServer
from tests.coturn import start_coturn
from tests.integration.calls import kiosk_controller, staff_controller
from tests.support import make_settings, server_env

SECRET = "bench-turn-secret-0123456789abcdef"
MODES = ("host", "relay", "refused")
NEVER = dict(connect_timeout_s=600.0, media_grace_s=600.0)


def _settings(mode: str, turn_url: str, tmp: Path) -> dict[str, Any]:
    if mode == "host":
        return {}
    return {"ice_servers": [IceServer(urls=[turn_url])], "ice_relay_only": True,
            "turn_secret": SECRET if mode == "relay" else "not-the-secret-of-coturn-000000000"}


async def _one_call(mode: str, console: Any, kiosk: Any) -> tuple[float, float]:
    offer = asyncio.ensure_future(wait_for(console, "offer", 30))
    await kiosk.request_service("employment")
    ticket = (await offer)["offer"].ticket_id
    c_ended = asyncio.ensure_future(wait_for(console, "call_ended", 60))
    k_ended = asyncio.ensure_future(wait_for(kiosk, "call_ended", 60))
    accepted_at = time.monotonic()
    await console.accept(ticket)
    if mode == "refused":
        k, c = await k_ended, await c_ended
        assert k["media_error"] == c["media_error"] == "turn_auth", (k, c)
        k_at = c_at = time.monotonic()  # both awaited; the later one bounds the call
    else:
        k_at, c_at = await asyncio.gather(_first_video(kiosk), _first_video(console))
        assert kiosk.mesh.link().call.local_candidate_types() == ({"relay"} if mode == "relay" else {"host"})
        await kiosk.hang_up()
        await c_ended
    await console.save_note("bench")
    await console.finish_wrapup()
    if kiosk.screen == "feedback":
        await kiosk.submit_feedback(5, True)
    return (k_at - accepted_at) * 1000, (c_at - accepted_at) * 1000


async def main(calls: int) -> dict[str, Any]:
    logging.disable(logging.WARNING)
    samples: dict[str, list[tuple[float, float]]] = {m: [] for m in MODES}
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        turn = await start_coturn(tmp, SECRET)
        try:
            async with contextlib.AsyncExitStack() as stack:
                parties: dict[str, tuple[Any, Any]] = {}
                for mode in MODES:
                    d = tmp / mode
                    d.mkdir()
                    env = await stack.enter_async_context(
                        server_env(make_settings(d, "sqlite", log_json=False, **_settings(mode, turn.url, d))))
                    console = await staff_controller(env, "takahashi", **NEVER)
                    kiosk = await kiosk_controller(env, d, "bihoro", **NEVER)
                    stack.push_async_callback(console.stop)
                    stack.push_async_callback(kiosk.stop)
                    await console.set_available()
                    parties[mode] = (console, kiosk)
                for _ in range(calls):
                    for mode in MODES:
                        samples[mode].append(await _one_call(mode, *parties[mode]))
                        await asyncio.sleep(0.2)  # let the closed call's tasks finish before the next
        finally:
            await turn.stop()

    def med(values: list[float]) -> float:
        return round(statistics.median(values), 1)

    out: dict[str, Any] = {"calls_per_mode": calls, "layout": "3 servers + 3 consoles + 3 kiosks in one process, "
                           "coturn 4.6.1 on loopback, 320x240 VP8", "unit": "ms from offer.accept"}
    for mode, rows in samples.items():
        key = "ended" if mode == "refused" else "first_video"
        out[mode] = {f"kiosk_{key}_p50": med([k for k, _ in rows]), f"console_{key}_p50": med([c for _, c in rows]),
                     f"call_{key}_p50": med([max(k, c) for k, c in rows]),
                     f"call_{key}_max": round(max(max(k, c) for k, c in rows), 1)}
    out["relay_minus_host_p50"] = round(out["relay"]["call_first_video_p50"] - out["host"]["call_first_video_p50"], 1)
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--calls", type=int, default=10)
    args = ap.parse_args()
    print(json.dumps(asyncio.run(main(args.calls)), ensure_ascii=False))
