"""A guest joining a live call: the browser guest (headless Chromium, the server's guest page) beside an aiortc
guest of the same protocol, in the same run, alternating, in one call of a real kiosk and a real console.

Measured per join: from the guest's receipt of ``session.start`` (sent the moment the resident agrees, after the
specialist admitted the guest) to the first decoded video frame from the resident's kiosk on the guest's side.
Browser: ``performance.now()`` at the ``session.start`` frame to the first ``inbound-rtp`` stats entry with
``framesDecoded > 0`` (polled every 10 ms: up to 10 ms late). aiortc: ``time.monotonic()`` at ``session.start``
to the first frame out of the decoder (signaling.media.FrameCounterSink). Both send complete offers (the browser
waits for ICE gathering: aiortc takes no trickled candidates) to the kiosk and the console. The human steps
(admit, the resident's tap) are not in the figure. Prints one JSON object (medians and every sample, ms).

Run: ``python -m bench.guest_join [--rounds 5]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from signaling.call import CallMesh, LocalMedia
from signaling.client import SignalingClient
from signaling.media import make_local_tracks
from signaling.observer import wait_for
from signaling.protocol.messages import ServerMessage, SessionLeave, SessionStart
from tests.integration.guest_browser import admit, call_with, chromium, enter_lobby, new_page
from tests.support import WAIT_S, Env, eventually, make_settings, server_env


async def browser_join(env: Env, kiosk: Any, staff: Any, browser: Any) -> float:
    entry = await staff.invite_guest("sign_interpreter", "ベンチ 手話")
    assert entry is not None
    page = await new_page(browser)
    try:
        await enter_lobby(page, entry.link)
        await admit(staff, kiosk, entry.invitation_id, True)
        k_peer = f"kiosk:{kiosk.credential.kiosk_id}"
        await page.wait_for_function("(p) => window.madoguchiGuest.firstFrameAt.has(p)", arg=k_peer,
                                     timeout=WAIT_S * 1000)
        ms = await page.evaluate(
            "(p) => window.madoguchiGuest.firstFrameAt.get(p) - window.madoguchiGuest.sessionStartAt", k_peer)
        left = asyncio.ensure_future(wait_for(kiosk, "participants", WAIT_S,
                                              lambda d: d.get("left") == f"guest:{entry.invitation_id}"))
        await page.click("#leave")
        await left
        return float(ms)
    finally:
        await page.context.close()


async def aiortc_join(env: Env, kiosk: Any, staff: Any) -> float:
    entry = await staff.invite_guest("sign_interpreter", "ベンチ aiortc")
    assert entry is not None
    async with httpx.AsyncClient(base_url=env.url) as http:
        r = await http.post("/api/guest/redeem", json={"token": entry.link.rsplit("/", 1)[1]})
        r.raise_for_status()
        token = str(r.json()["guest_token"])
    started: asyncio.Future[tuple[float, SessionStart]] = asyncio.get_running_loop().create_future()
    mesh: CallMesh | None = None

    async def on_message(msg: ServerMessage) -> None:
        if isinstance(msg, SessionStart) and not started.done():
            started.set_result((time.monotonic(), msg))
        elif mesh is not None and msg.type in ("rtc.offer", "rtc.answer"):
            await mesh.on_signal(msg)  # type: ignore[arg-type]

    async def tok() -> str:
        return token

    client = SignalingClient(env.server.ws_url, tok, on_message=on_message, request_timeout_s=WAIT_S)
    await client.start()
    await client.wait_online(WAIT_S)
    audio, video = make_local_tracks("synthetic", width=640, height=480, fps=15)
    media = LocalMedia(audio, video)
    try:
        await admit(staff, kiosk, entry.invitation_id, True)
        t0, start = await asyncio.wait_for(started, WAIT_S)
        assert client.welcome is not None
        k_peer = f"kiosk:{kiosk.credential.kiosk_id}"
        mesh = CallMesh(client, start.session_id, start.you, client.welcome.ice_servers, media, primary=None,
                        emit=lambda _n, _d: None, report_setup_ms=False, stats_interval_s=3600)
        await mesh.start(start.offer_to)
        first = await eventually(lambda: (link := mesh.links.get(k_peer)) is not None  # type: ignore[union-attr]
                                 and link.call.first_remote_video_at, what="first frame from the kiosk")
        ms = (float(first) - t0) * 1000
        await client.request(SessionLeave(session_id=start.session_id))
        return ms
    finally:
        if mesh is not None:
            await mesh.close()
        await media.close()
        await client.close()


async def run(rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        async with server_env(make_settings(Path(tmp), "sqlite")) as env:
            kiosk, staff = await call_with(env, Path(tmp))
            browser_ms: list[float] = []
            aiortc_ms: list[float] = []
            try:
                async with chromium() as browser:
                    await browser_join(env, kiosk, staff, browser)  # warm-up: Chromium's first page, codecs
                    await aiortc_join(env, kiosk, staff)
                    for _ in range(rounds):
                        browser_ms.append(round(await browser_join(env, kiosk, staff, browser), 1))
                        aiortc_ms.append(round(await aiortc_join(env, kiosk, staff), 1))
            finally:
                await staff.stop()
                await kiosk.stop()
    b, a = statistics.median(browser_ms), statistics.median(aiortc_ms)
    return {"bench": "guest_join", "measure": "session.start at the guest -> first decoded video frame from the kiosk",
            "rounds": rounds, "browser_median_ms": round(b, 1), "aiortc_median_ms": round(a, 1),
            "ratio": round(b / a, 2), "goal_ratio": 1.5, "browser_ms": browser_ms, "aiortc_ms": aiortc_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(asyncio.run(run(args.rounds)), ensure_ascii=False))


if __name__ == "__main__":
    main()
