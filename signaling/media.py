"""Media sources and sinks for calls: synthetic test pattern and tone, real devices, frame counting.

No Qt here: views get frames from :class:`FrameCounterSink` (``latest_frame`` or ``on_frame``).

Sources (local side)
    :class:`SyntheticVideoTrack`  colour bars, a moving block and a frame counter, paced at ``fps``.
    :class:`ToneAudioTrack`       a 440 Hz sine, 48 kHz s16 mono, 20 ms frames, paced in real time.
    :func:`make_local_tracks`     ``"synthetic"`` | ``"device"`` | ``"none"`` -> ``(audio, video)``.
    :class:`GateTrack`            wraps a source; when disabled it sends black frames / silence with the
                                  source's timing (this is how :class:`~signaling.peer.CallPeer` mutes).

Both synthetic tracks loop forever themselves: ``MediaPlayer(loop=True)`` does not loop with PyAV 18
(DESIGN §9). When the consumer falls more than :data:`MAX_LAG_S` behind, they skip ahead instead of
bursting, so pts always follows the wall clock.

Sink (remote side)
    :class:`FrameCounterSink`     drains a remote track in a task: counts frames, remembers first/last
                                  frame time (``time.monotonic``) and the latest video frame.

Errors (the root lives here because this is the lowest call-layer module; ``signaling.peer``
re-exports it)::

    CallError
     ├── CallConnectTimeout   (signaling.peer)
     ├── CallFailed           (signaling.peer)
     └── MediaDeviceError     camera / microphone could not be opened
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import math
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack, VideoStreamTrack
from av import AudioFrame, VideoFrame
from av.frame import Frame
from av.packet import Packet

log = logging.getLogger("madoguchi.media")

VIDEO_CLOCK_RATE = 90_000
MAX_LAG_S = 0.5
# BT.601 limited-range 75 % colour bars: white, yellow, cyan, green, magenta, red, blue, black (Y, U, V).
_BARS_YUV = [(180, 128, 128), (162, 44, 142), (131, 156, 44), (112, 72, 58),
             (84, 184, 198), (65, 100, 212), (35, 212, 114), (16, 128, 128)]


class CallError(Exception):
    """Root of the call-layer errors (see the module docstring for the tree)."""


class MediaDeviceError(CallError):
    """A camera or microphone could not be opened."""


class _Pacer:
    """Real-time clock for ``rate`` ticks per second; skips ahead instead of bursting when late."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.index = 0
        self._start: float | None = None

    async def next(self) -> int:
        now = time.monotonic()
        if self._start is None:
            self._start = now
            return 0
        self.index += 1
        due = self._start + self.index / self.rate
        if now - due > MAX_LAG_S:
            self.index = math.floor((now - self._start) * self.rate)
        elif due > now:
            await asyncio.sleep(due - now)
        return self.index


class PacedVideoTrack(VideoStreamTrack):
    r"""A synthetic source: frame ``index`` is :meth:`render`\ ed at ``fps``, stamped with its own timestamp."""

    def __init__(self, fps: float) -> None:
        super().__init__()
        if not 0 < fps <= 120:
            raise ValueError(f"fps must be in (0, 120], got {fps}")
        self.fps = fps
        self._pacer = _Pacer(fps)

    def render(self, index: int) -> VideoFrame:
        raise NotImplementedError

    async def recv(self) -> Frame:
        if self.readyState != "live":
            raise MediaStreamError
        index = await self._pacer.next()
        frame = self.render(index)
        frame.pts = round(index * VIDEO_CLOCK_RATE / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK_RATE)
        return frame


class PictureTrack(PacedVideoTrack):
    """A camera pointed at one still picture (8-bit grey, any size): e.g. a printed case card held up to the
    kiosk camera, as the demo and the tests show it. Each frame is the same picture (yuv420p)."""

    def __init__(self, grey: np.ndarray, fps: float = 15) -> None:
        super().__init__(fps)
        h, w = grey.shape[0] & ~1, grey.shape[1] & ~1
        if grey.ndim != 2 or w < 16 or h < 16:
            raise ValueError(f"a 2-D grey picture of at least 16x16 is needed, got shape {grey.shape}")
        self._yuv = VideoFrame.from_ndarray(np.ascontiguousarray(grey[:h, :w], dtype=np.uint8),
                                            format="gray").reformat(format="yuv420p").to_ndarray()

    def render(self, index: int) -> VideoFrame:
        return VideoFrame.from_ndarray(self._yuv, format="yuv420p")


class SyntheticVideoTrack(PacedVideoTrack):
    """Moving test pattern (yuv420p): colour bars, a bouncing white block, a 16-bit frame counter."""

    def __init__(self, width: int = 640, height: int = 480, fps: float = 15) -> None:
        super().__init__(fps)
        if width < 16 or height < 16 or width % 2 or height % 2:
            raise ValueError(f"width and height must be even and >= 16, got {width}x{height}")
        self.width, self.height = width, height
        self._y, self._u, self._v = self._bars()

    def _bars(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        w, h = self.width, self.height
        cols = np.minimum(np.arange(w) * len(_BARS_YUV) // w, len(_BARS_YUV) - 1)
        table = np.array(_BARS_YUV, dtype=np.uint8)
        y = np.repeat(table[cols, 0][None, :], h, axis=0)
        u = np.repeat(table[cols[::2], 1][None, :], h // 2, axis=0)
        v = np.repeat(table[cols[::2], 2][None, :], h // 2, axis=0)
        return y, u, v

    def render(self, index: int) -> VideoFrame:
        """The pattern for frame ``index`` (no timing)."""
        w, h = self.width, self.height
        y, u, v = self._y.copy(), self._u.copy(), self._v.copy()
        size = max(2, (h // 6) & ~1)
        span = max(1, w - size)
        x = index * 4 % (2 * span)
        x = (x if x < span else 2 * span - x) & ~1
        top = (h // 2 - size // 2) & ~1
        y[top:top + size, x:x + size] = 235
        u[top // 2:(top + size) // 2, x // 2:(x + size) // 2] = 128
        v[top // 2:(top + size) // 2, x // 2:(x + size) // 2] = 128
        bit = max(2, (w // 24) & ~1)
        strip = h - 2 * bit
        y[strip:, :] = 16
        u[strip // 2:, :] = 128
        v[strip // 2:, :] = 128
        for b in range(16):
            if index >> (15 - b) & 1 and (b + 1) * bit <= w - bit:
                y[strip + bit // 2:strip + bit // 2 + bit, b * bit + bit // 2:(b + 1) * bit] = 235
        buf = np.concatenate([y.ravel(), u.ravel(), v.ravel()]).reshape(h * 3 // 2, w)
        return VideoFrame.from_ndarray(buf, format="yuv420p")


class StalledVideoTrack(VideoStreamTrack):
    """A camera that opens but never delivers a frame (``media_source="synthetic-stalled"``): what a
    disconnected USB camera or a frozen driver looks like to a call. For demos and tests of the health check."""

    async def recv(self) -> Frame:
        if self.readyState != "live":
            raise MediaStreamError
        await asyncio.Event().wait()  # never set: no frame, ever (stop() cancels the reader's wait)
        raise MediaStreamError


class ToneAudioTrack(AudioStreamTrack):
    """A continuous sine tone: s16 mono, ``sample_rate`` Hz, ``ptime`` s per frame."""

    def __init__(self, frequency: float = 440.0, sample_rate: int = 48_000, ptime: float = 0.020,
                 amplitude: float = 0.2) -> None:
        super().__init__()
        self.frequency, self.sample_rate, self.amplitude = frequency, sample_rate, amplitude
        self.samples = round(sample_rate * ptime)
        self._pacer = _Pacer(sample_rate / self.samples)

    async def recv(self) -> Frame:
        if self.readyState != "live":
            raise MediaStreamError
        index = await self._pacer.next()
        start = index * self.samples
        t = (start + np.arange(self.samples)) / self.sample_rate
        pcm = (np.sin(2 * np.pi * self.frequency * t) * self.amplitude * 32767).astype(np.int16)
        frame = AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.sample_rate
        frame.pts = start
        frame.time_base = fractions.Fraction(1, self.sample_rate)
        return frame


class GateTrack(MediaStreamTrack):
    """Pass-through of ``source``; while ``enabled`` is False, frames become black / silent.

    The source keeps being read (so relays and devices never back up) and timing is kept, so the
    remote side keeps receiving frames. Stopping the gate stops the source.
    """

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self.kind = source.kind
        self.source = source
        self.enabled = True
        self._black: dict[tuple[int, int], list[bytes]] = {}

    async def recv(self) -> Frame | Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        frame = await self.source.recv()
        if self.enabled or not isinstance(frame, AudioFrame | VideoFrame):
            return frame
        return self._blank_audio(frame) if isinstance(frame, AudioFrame) else self._blank_video(frame)

    def _blank_video(self, frame: VideoFrame) -> VideoFrame:
        blank = VideoFrame(width=frame.width, height=frame.height, format="yuv420p")
        fills = self._black.get((frame.width, frame.height))
        if fills is None:
            fills = [bytes([16 if i == 0 else 128]) * p.buffer_size for i, p in enumerate(blank.planes)]
            self._black[(frame.width, frame.height)] = fills
        for plane, fill in zip(blank.planes, fills, strict=True):
            plane.update(fill)
        blank.pts, blank.time_base = frame.pts, frame.time_base
        return blank

    @staticmethod
    def _blank_audio(frame: AudioFrame) -> AudioFrame:
        blank = AudioFrame(format=frame.format.name, layout=frame.layout.name, samples=frame.samples)
        for plane in blank.planes:
            plane.update(bytes(plane.buffer_size))
        blank.sample_rate, blank.pts, blank.time_base = frame.sample_rate, frame.pts, frame.time_base
        return blank

    def stop(self) -> None:
        super().stop()
        self.source.stop()


def make_local_tracks(
    source: str, *, width: int = 640, height: int = 480, fps: int = 15,
    video_device: str | None = None, audio_device: str | None = None,
) -> tuple[MediaStreamTrack | None, MediaStreamTrack | None]:
    """``(audio, video)`` for ``source`` = ``"synthetic"``, ``"device"`` or ``"none"`` (and
    ``"synthetic-stalled"``: the synthetic tone with a camera that never delivers a frame).

    ``"device"`` opens the platform's camera and microphone through aiortc's MediaPlayer
    (Linux v4l2 + pulse/alsa, macOS avfoundation, Windows dshow — there the device names are required)
    and raises :class:`MediaDeviceError` if either cannot be opened.
    """
    if source == "none":
        return None, None
    if source == "synthetic":
        return ToneAudioTrack(), SyntheticVideoTrack(width, height, fps)
    if source == "synthetic-stalled":
        return ToneAudioTrack(), StalledVideoTrack()
    if source == "device":
        return _open_devices(width, height, fps, video_device, audio_device)
    raise ValueError(f"unknown media source {source!r} (synthetic | synthetic-stalled | device | none)")


def _device_candidates(
    width: int, height: int, fps: int, video: str | None, audio: str | None,
) -> tuple[list[tuple[str, str, dict[str, str]]], list[tuple[str, str, dict[str, str]]]]:
    """(video, audio) lists of (file, format, options) to try, in order."""
    vopts = {"video_size": f"{width}x{height}", "framerate": str(fps)}
    if sys.platform.startswith("linux"):
        audio_list: list[tuple[str, str, dict[str, str]]] = [
            (audio or "default", fmt, {}) for fmt in ("pulse", "alsa")]
        return [(video or "/dev/video0", "v4l2", vopts)], audio_list
    if sys.platform == "darwin":
        return [(f"{video or 'default'}:none", "avfoundation", vopts)], \
            [(f"none:{audio or 'default'}", "avfoundation", {})]
    if sys.platform == "win32":
        if not video or not audio:
            raise MediaDeviceError("on Windows set video_device and audio_device to the dshow device names")
        return [(f"video={video}", "dshow", vopts)], [(f"audio={audio}", "dshow", {})]
    raise MediaDeviceError(f"no camera support for platform {sys.platform}")


def _open_first(kind: str, candidates: list[tuple[str, str, dict[str, str]]]) -> tuple[Any, MediaStreamTrack]:
    from aiortc.contrib.media import MediaPlayer

    errors = []
    for file, fmt, options in candidates:
        try:
            player = MediaPlayer(file, format=fmt, options=options)
        except Exception as exc:  # PyAV raises many types (FFmpegError, OSError, ValueError)
            errors.append(f"{fmt}:{file}: {exc}")
            continue
        track = player.video if kind == "video" else player.audio
        if track is not None:
            return player, track
        errors.append(f"{fmt}:{file}: no {kind} stream")
    raise MediaDeviceError(f"cannot open {kind} device ({'; '.join(errors)})")


def open_video_device(device: str | None, width: int, height: int, fps: int) -> MediaStreamTrack:
    """One camera (e.g. the document camera, ``/dev/video2``) at ``width`` x ``height``; MediaDeviceError if it
    cannot be opened. On Windows ``device`` is the dshow name."""
    video_list, _ = _device_candidates(width, height, fps, device, device if sys.platform == "win32" else None)
    return _open_first("video", video_list)[1]


def _open_devices(
    width: int, height: int, fps: int, video: str | None, audio: str | None,
) -> tuple[MediaStreamTrack, MediaStreamTrack]:
    video_list, audio_list = _device_candidates(width, height, fps, video, audio)
    _, video_track = _open_first("video", video_list)
    try:
        _, audio_track = _open_first("audio", audio_list)
    except MediaDeviceError:
        video_track.stop()
        raise
    return audio_track, video_track


class FrameCounterSink:
    """Drains a remote track in a background task and records what arrived.

    ``frames``, ``first_frame_at`` / ``last_frame_at`` (``time.monotonic``), ``latest_frame``
    (video only) and an optional ``on_frame(frame)`` callback (exceptions in it are logged).
    Ends quietly when the track ends (MediaStreamError) or on :meth:`stop`.
    """

    def __init__(self, track: MediaStreamTrack, on_frame: Callable[[Frame], None] | None = None) -> None:
        self.track = track
        self.kind = track.kind
        self.on_frame = on_frame
        self.frames = 0
        self.first_frame_at: float | None = None
        self.last_frame_at: float | None = None
        self.latest_frame: VideoFrame | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"sink-{self.kind}")

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        while True:
            try:
                frame = await self.track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, Frame):
                continue  # encoded packets: not something a sink can show
            now = time.monotonic()
            if self.first_frame_at is None:
                self.first_frame_at = now
            self.last_frame_at = now
            self.frames += 1
            if isinstance(frame, VideoFrame):
                self.latest_frame = frame
            if self.on_frame is not None:
                try:
                    self.on_frame(frame)
                except Exception:
                    log.exception("on_frame callback failed")

    async def stop(self) -> None:
        """Cancel the task and wait for it (idempotent)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])  # never re-raises the task's outcome; our own cancel still propagates
