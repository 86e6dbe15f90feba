"""Device self-check for IT staff: camera, microphone, speaker, server (no widgets; the screen shows the result).

Each check returns a :class:`Check` with a stable ``name``, ``ok`` and a ``detail`` made of numbers and
device names only, so the screen can word it in any language.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import numpy as np
from aiortc.mediastreams import MediaStreamTrack
from av import AudioFrame, VideoFrame

from kiosk.settings import KioskSettings
from signaling.media import MediaDeviceError, make_local_tracks
from signaling.tls import certificate_problem, client_context

SpeakerProbe = Callable[[], tuple[bool, str]]


@dataclass(frozen=True)
class Check:
    name: str  # camera | microphone | speaker | server
    ok: bool
    detail: str = ""


async def check_server(server_url: str, timeout_s: float = 5.0, tls: ssl.SSLContext | None = None) -> Check:
    t0 = time.monotonic()
    try:
        async with httpx.AsyncClient(base_url=server_url, timeout=timeout_s, verify=tls or True) as http:
            r = await http.get("/readyz")
    except httpx.HTTPError as exc:
        bad_cert = certificate_problem(exc, tls)
        return Check("server", False, str(bad_cert) if bad_cert is not None else type(exc).__name__)
    ms = (time.monotonic() - t0) * 1000
    return Check("server", r.status_code == 200, f"HTTP {r.status_code}, {ms:.0f} ms")


async def _first_frame(track: MediaStreamTrack, timeout_s: float) -> object:
    return await asyncio.wait_for(track.recv(), timeout_s)


async def check_media(settings: KioskSettings, listen_s: float = 1.0, timeout_s: float = 5.0) -> list[Check]:
    """Open camera and microphone as a call would (settings.media_source), read a frame and ~1 s of sound."""
    source = settings.media_source
    if source == "none":
        return [Check("camera", False, "media_source=none"), Check("microphone", False, "media_source=none")]
    try:
        audio, video = await asyncio.to_thread(
            make_local_tracks, source, width=settings.video_width, height=settings.video_height,
            fps=settings.video_fps, video_device=settings.video_device, audio_device=settings.audio_device)
    except (MediaDeviceError, ValueError) as exc:
        msg = str(exc)[:160]
        return [Check("camera", False, msg), Check("microphone", False, msg)]
    label = "synthetic" if source == "synthetic" else (settings.video_device or "default")
    results: list[Check] = []
    try:
        try:
            frame = await _first_frame(video, timeout_s) if video is not None else None
            if isinstance(frame, VideoFrame):
                results.append(Check("camera", True, f"{label} {frame.width}x{frame.height}"))
            else:
                results.append(Check("camera", False, label))
        except (TimeoutError, Exception) as exc:
            results.append(Check("camera", False, f"{label}: {type(exc).__name__}"))
        results.append(await _check_microphone(audio, source, settings.audio_device, listen_s, timeout_s))
    finally:
        for track in (audio, video):
            if track is not None:
                with contextlib.suppress(Exception):
                    track.stop()
    return results


async def _check_microphone(audio: MediaStreamTrack | None, source: str, device: str | None, listen_s: float,
                            timeout_s: float) -> Check:
    label = "synthetic" if source == "synthetic" else (device or "default")
    if audio is None:
        return Check("microphone", False, label)
    peak = 0.0
    energy, count = 0.0, 0
    deadline = time.monotonic() + listen_s
    try:
        while time.monotonic() < deadline:
            frame = await asyncio.wait_for(audio.recv(), timeout_s)
            if not isinstance(frame, AudioFrame):
                continue
            pcm = frame.to_ndarray().astype(np.float64)
            if frame.format.name.startswith("s16"):
                pcm /= 32768.0
            elif frame.format.name.startswith("s32"):
                pcm /= 2147483648.0
            peak = max(peak, float(np.max(np.abs(pcm))) if pcm.size else 0.0)
            energy += float(np.sum(pcm * pcm))
            count += pcm.size
    except (TimeoutError, Exception) as exc:
        return Check("microphone", False, f"{label}: {type(exc).__name__}")
    level = 10 * math.log10(energy / count) if count and energy > 0 else -120.0
    return Check("microphone", count > 0, f"{label}, {level:.0f} dBFS")


def check_speaker(probe: SpeakerProbe | None) -> Check:
    if probe is None:
        return Check("speaker", False, "no audio output in this program")
    ok, detail = probe()
    return Check("speaker", ok, detail)


async def run_all(settings: KioskSettings, probe: SpeakerProbe | None) -> list[Check]:
    media, server = await asyncio.gather(check_media(settings), check_server(settings.server_urls[0],
                                                                                 tls=client_context(settings.ca_file)))
    return [*media, check_speaker(probe), server]
