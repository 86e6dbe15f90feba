"""CallPeer with real aiortc peers over loopback: two peers in this process, SDP handed over directly."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

import pytest
from av import VideoFrame

from signaling.media import MediaDeviceError, make_local_tracks
from signaling.peer import CallConnectTimeout, CallError, CallFailed, CallPeer, rtc_configuration
from tests.support import eventually

pytestmark = pytest.mark.timeout(120)

W, H, FPS = 320, 240, 15
ROOT = Path(__file__).resolve().parents[1]

# The far side of the media-lost test, in its own process so that it can die without saying goodbye.
CHILD = r"""
import asyncio, json, sys
from signaling.media import MediaDeviceError, make_local_tracks
from signaling.peer import CallPeer

async def main() -> None:
    print("ready", flush=True)
    offer = json.loads(await asyncio.to_thread(sys.stdin.readline))["sdp"]
    audio, video = make_local_tracks("synthetic", width=320, height=240, fps=15)
    peer = CallPeer(ice_servers=[], audio=audio, video=video, heartbeat_interval_s=0.5, label="child")
    print(json.dumps({"sdp": await peer.accept_offer(offer)}), flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


class MakePeer(Protocol):
    def __call__(self, *, media: bool = True, **kwargs: Any) -> CallPeer: ...


@pytest.fixture
async def make_peer() -> AsyncIterator[MakePeer]:
    made: list[CallPeer] = []

    def make(*, media: bool = True, **kwargs: Any) -> CallPeer:
        audio, video = make_local_tracks("synthetic" if media else "none", width=W, height=H, fps=FPS)
        kwargs.setdefault("ice_servers", [])
        kwargs.setdefault("label", f"p{len(made)}")
        peer = CallPeer(audio=audio, video=video, **kwargs)
        made.append(peer)
        return peer

    yield make
    for peer in made:
        await peer.close()


async def connect(offerer: CallPeer, answerer: CallPeer) -> tuple[float, float]:
    offer = await offerer.create_offer()
    answer = await answerer.accept_offer(offer)
    await offerer.set_answer(answer)
    return await offerer.wait_connected(), await answerer.wait_connected()


def test_configuration_never_falls_back_to_public_stun() -> None:
    assert rtc_configuration([]).iceServers == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="v4l2 device paths")
def test_missing_camera_is_a_media_device_error() -> None:
    with pytest.raises(MediaDeviceError, match="video"):
        make_local_tracks("device", width=W, height=H, fps=FPS, video_device="/dev/video-missing")


async def test_two_peers_connect_and_exchange_media(make_peer: MakePeer) -> None:
    kiosk, console = make_peer(label="kiosk"), make_peer(label="console")
    shown: list[VideoFrame] = []
    console.on_video_frame = shown.append
    kiosk_ms, console_ms = await connect(kiosk, console)
    assert kiosk_ms > 0 and console_ms > 0
    assert kiosk.connection_state == console.connection_state == "connected"

    def all_media() -> bool:
        return all(p.video_frames_received and p.audio_frames_received for p in (kiosk, console))

    await eventually(all_media, what="video and audio at both sides")
    assert kiosk.first_remote_video_at is not None and console.first_remote_audio_at is not None
    frame = console.latest_video_frame
    assert frame is not None and (frame.width, frame.height) == (W, H)
    assert shown and shown[-1] is not None


async def test_chat_both_ways(make_peer: MakePeer) -> None:
    kiosk, console = make_peer(), make_peer()
    with pytest.raises(CallError):
        kiosk.send_chat("too early")
    await connect(kiosk, console)
    await kiosk.wait_channel_open()
    await console.wait_channel_open()
    to_console: list[str] = []
    to_kiosk: list[str] = []
    console.on_chat, kiosk.on_chat = to_console.append, to_kiosk.append
    kiosk.send_chat("こんにちは")
    console.send_chat("hello")
    await eventually(lambda: to_console and to_kiosk, what="chat both ways")
    assert (to_console, to_kiosk) == (["こんにちは"], ["hello"])


async def test_stats_report_fps_and_frames(make_peer: MakePeer) -> None:
    kiosk, console = make_peer(), make_peer()
    await connect(kiosk, console)
    await eventually(lambda: console.video_frames_received > FPS and console.audio_frames_received > 0,
                     what="a second of video, and audio")
    stats = await console.stats()
    assert stats.fps is not None and stats.fps > 0
    assert stats.frames_received is not None and stats.frames_received > 0
    assert stats.audio_frames_received is not None and stats.audio_frames_received > 0
    assert stats.bitrate_kbps is not None and stats.bitrate_kbps > 0
    assert stats.loss_pct is None or 0 <= stats.loss_pct <= 100


@pytest.mark.parametrize("listener_offers", [True, False], ids=["listener-offers", "listener-answers"])
async def test_receive_only_peer_sends_nothing(make_peer: MakePeer, listener_offers: bool) -> None:
    listener, speaker = make_peer(receive_only=True), make_peer()
    await (connect(listener, speaker) if listener_offers else connect(speaker, listener))
    await eventually(lambda: listener.video_frames_received > 0 and listener.audio_frames_received > 0,
                     what="media at the receive-only side")
    heard = listener.video_frames_received
    await eventually(lambda: listener.video_frames_received > heard + 2 * FPS, what="two more seconds of video")
    assert speaker.video_frames_received == speaker.audio_frames_received == 0  # ... and nothing came back
    assert speaker.first_remote_video_at is None


async def test_connect_timeout_when_answer_never_comes(make_peer: MakePeer) -> None:
    """The call gives up by itself (aiortc never would), and not before its time: a 1 s timer started before
    the offer fires first, whatever the load (the same loop clock orders both)."""
    lonely = make_peer(media=False, connect_timeout_s=3.0)
    order: list[str] = []
    asyncio.get_running_loop().call_later(1.0, order.append, "1 s timer")
    await lonely.create_offer()
    with pytest.raises(CallConnectTimeout):
        await lonely.wait_connected()
    order.append("connect timeout")
    assert order == ["1 s timer", "connect timeout"]


@pytest.mark.parametrize("sdp", ["v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n", "garbage"])
async def test_unusable_offer_is_call_failed(make_peer: MakePeer, sdp: str) -> None:
    with pytest.raises(CallFailed):
        await make_peer(media=False).accept_offer(sdp)


async def test_mute_sends_silence_and_camera_off_sends_black(make_peer: MakePeer) -> None:
    kiosk, console = make_peer(), make_peer()
    await connect(kiosk, console)
    await eventually(lambda: console.video_frames_received > 0, what="first frame")
    loud: list[float] = []
    console.on_audio_frame = lambda f: loud.append(float(abs(f.to_ndarray()).max()))
    await eventually(lambda: len(loud) > 5 and max(loud[-5:]) >= 50, what="the tone heard before muting")
    kiosk.set_audio_muted(True)
    kiosk.set_video_enabled(False)
    assert kiosk.audio_muted and not kiosk.video_enabled

    def luma() -> float:
        frame = console.latest_video_frame
        assert frame is not None
        return float(frame.to_ndarray(format="yuv420p")[:H].mean())

    assert abs(luma() - 16) >= 4  # the test pattern, before
    # frames already on the way still show the pattern; then black (give or take VP8) and silence (give or
    # take Opus) reach the other side
    heard = len(loud)
    await eventually(lambda: abs(luma() - 16) < 4, what="black video after camera off")
    await eventually(lambda: len(loud) > heard + 5 and max(loud[-5:]) < 50, what="silence after mute")


async def test_remote_close_says_bye_and_close_is_idempotent(make_peer: MakePeer) -> None:
    kiosk, console = make_peer(), make_peer()
    await connect(kiosk, console)
    await kiosk.wait_channel_open()
    await console.wait_channel_open()
    events: list[str] = []
    console.on_remote_closed = lambda: events.append("bye")
    console.on_media_lost = lambda: events.append("lost")
    await kiosk.close()
    await kiosk.close()
    assert kiosk.connection_state == "closed"
    await eventually(lambda: console.connection_state == "closed", what="the other side to close")
    assert events == ["bye"]
    await console.close()
    await console.close()
    with pytest.raises(CallFailed):
        await console.create_offer()


async def test_media_lost_when_the_other_side_dies(make_peer: MakePeer) -> None:
    lost_after_s = 2.0
    console = make_peer(heartbeat_interval_s=0.5, media_lost_after_s=lost_after_s, label="console")
    lost: list[str] = []
    console.on_media_lost = lambda: lost.append(console.media_lost_reason or "")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        assert (await asyncio.wait_for(proc.stdout.readline(), 20)).strip() == b"ready"
        proc.stdin.write(json.dumps({"sdp": await console.create_offer()}).encode() + b"\n")
        await proc.stdin.drain()
        proc.stdin.close()
        answer = json.loads(await asyncio.wait_for(proc.stdout.readline(), 10))["sdp"]
        await console.set_answer(answer)
        await console.wait_connected()
        await console.wait_channel_open()
        # alive: media for longer than the stall limit is not a loss
        await eventually(lambda: console.video_frames_received > (lost_after_s + 1) * FPS,
                         what="media from the child for longer than the stall limit")
        assert lost == []
    finally:
        proc.kill()  # no bye, no DTLS close: the network path just goes silent
        await proc.wait()
    await eventually(lambda: lost, what="on_media_lost")
    assert console.media_lost_reason == "stalled"
    await console.close()  # nothing can report after this: what was reported, was reported once
    assert lost == ["stalled"]
