"""The kiosk's document camera (書画カメラ) and the switch that puts it on the call's video track.

    cam = open_document_camera("synthetic" | "device" | "none", device=..., width=2592, height=1944, fps=10,
                               video_width=1280)        # None for "none"
    switch = SwitchVideoTrack(face_camera)             # the track the call sends (through LocalMedia's relay)
    switch.use(cam.video)  ...  switch.use(None)        # document on / back to the face camera
    still = await cam.capture_still()                   # Still: JPEG of the latest full-resolution frame
    await cam.close()

Why switch instead of a second video track: aiortc renegotiates only by a fresh offer, and
:class:`~signaling.call.CallMesh` takes any fresh offer from a participant for a new link (its way of healing),
so a second track would mean tearing the link down on every tap. The switch keeps the one negotiated VP8
track: aiortc's VP8 encoder re-creates itself at the new size on the first frame of another resolution (a
key frame), and links healed later send whatever the switch shows. The switch stamps its own timestamps, so
the RTP clock runs on across sources. Everyone in the call sees the document, as they would see a paper held
up to the camera.

Stills do not go through the video encoder: :meth:`DocumentCamera.capture_still` encodes the latest frame
at the camera's full resolution (JPEG, quality 92) and the caller sends those bytes over the data channel
(:mod:`signaling.transfer`). The video track carries the same frames scaled to ``video_width``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import io
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import VideoFrame
from av.frame import Frame
from av.video.reformatter import VideoReformatter
from PIL import Image

from signaling.document_page import render_page
from signaling.media import VIDEO_CLOCK_RATE, MediaDeviceError, PacedVideoTrack, open_video_device
from signaling.transfer import sha256_hex

STILL_QUALITY = 92
STILL_MIME = "image/jpeg"


@dataclass(frozen=True)
class Still:
    data: bytes
    width: int
    height: int
    mime: str = STILL_MIME

    @property
    def sha256(self) -> str:
        return sha256_hex(self.data)


class SyntheticDocumentTrack(PacedVideoTrack):
    """The synthetic document camera: the certificate page (:mod:`signaling.document_page`) at full resolution,
    with a 16-bit frame counter stamped on the desk below the page, so that every still differs."""

    def __init__(self, width: int = 2592, height: int = 1944, fps: float = 10) -> None:
        super().__init__(fps)
        if width < 64 or height < 64 or width % 2 or height % 2:
            raise ValueError(f"width and height must be even and >= 64, got {width}x{height}")
        self.width, self.height = width, height
        self._base = VideoFrame.from_ndarray(render_page(width, height), format="rgb24").reformat(format="yuv420p")
        self._yuv = self._base.to_ndarray()  # (h * 3 / 2, w) planar

    def render(self, index: int) -> VideoFrame:
        frame = VideoFrame.from_ndarray(self._yuv, format="yuv420p")  # the page's one copy per frame (7.5 MB)
        plane = frame.planes[0]  # the counter is stamped into the frame itself, not into a second copy
        luma = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(self.height, plane.line_size)
        bit = max(4, (self.height // 120) & ~1)
        top = self.height - bit - bit // 2
        for b in range(16):
            on = index >> (15 - b) & 1
            luma[top:top + bit, bit + 2 * b * bit:bit + (2 * b + 1) * bit] = 235 if on else 40
        return frame


class DocumentCamera:
    """A full-resolution source; :attr:`video` sends it scaled, :meth:`capture_still` keeps full resolution."""

    def __init__(self, source: MediaStreamTrack, *, video_width: int = 1280) -> None:
        self.source = source
        self.video_width = video_width
        self.latest: VideoFrame | None = None
        self.video = _ScaledTrack(self)
        self._first = asyncio.Event()

    @property
    def size(self) -> tuple[int, int] | None:
        return (self.latest.width, self.latest.height) if self.latest is not None else None

    async def next_full(self) -> VideoFrame:
        frame = await self.source.recv()
        if not isinstance(frame, VideoFrame):
            raise MediaStreamError
        self.latest = frame
        self._first.set()
        return frame

    async def wait_frame(self, timeout_s: float = 5.0) -> None:
        """Until the first full-resolution frame arrived (it is read by the video track, or here if nobody does)."""
        if self.latest is None and self.video.readyState == "live":
            async with asyncio.timeout(timeout_s):
                await self._first.wait()

    async def capture_still(self) -> Still:
        """The latest full-resolution frame as JPEG (encoded off the event loop)."""
        frame = self.latest
        if frame is None:
            raise MediaDeviceError("the document camera has delivered no picture yet")
        rgb = frame.to_ndarray(format="rgb24")
        data = await asyncio.to_thread(_jpeg, rgb)
        return Still(data, frame.width, frame.height)

    async def close(self) -> None:
        self.video.stop()
        self.source.stop()


def _jpeg(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=STILL_QUALITY, subsampling=0)
    return out.getvalue()


class _ScaledTrack(MediaStreamTrack):
    kind = "video"

    def __init__(self, camera: DocumentCamera) -> None:
        super().__init__()
        self._camera = camera
        # one swscale context for every frame: frame.reformat() builds one per call, and for 5 MP -> 1280 wide
        # that set-up cost three times the scaling itself (~26 ms a frame instead of ~8 here, at 10 fps)
        self._scaler = VideoReformatter()

    async def recv(self) -> Frame:
        if self.readyState != "live":
            raise MediaStreamError
        frame = await self._camera.next_full()
        width = min(self._camera.video_width, frame.width) & ~1
        height = round(frame.height * width / frame.width) & ~1
        scaled = self._scaler.reformat(frame, width=width, height=height, format="yuv420p")
        scaled.pts, scaled.time_base = frame.pts, frame.time_base
        return scaled


def open_document_camera(source: str, *, device: str | None = None, width: int = 2592, height: int = 1944,
                         fps: int = 10, video_width: int = 1280) -> DocumentCamera | None:
    """``"synthetic"`` (the certificate page), ``"device"`` (a USB camera at ``width`` x ``height``; raises
    MediaDeviceError), ``"none"`` (None: the kiosk has no document camera)."""
    if source == "none":
        return None
    if source == "synthetic":
        return DocumentCamera(SyntheticDocumentTrack(width, height, fps), video_width=video_width)
    if source == "device":
        return DocumentCamera(open_video_device(device, width, height, fps), video_width=video_width)
    raise ValueError(f"unknown document camera source {source!r} (synthetic | device | none)")


class SwitchVideoTrack(MediaStreamTrack):
    """Forwards the face camera, or another source while one is set with :meth:`use`.

    The source not shown is still read (and its frames dropped), so a real camera never backs up; each
    source is read by one task at a time. Timestamps are this track's own (90 kHz, from its first frame),
    so the RTP clock never jumps back when the source changes."""

    kind = "video"

    def __init__(self, camera: MediaStreamTrack) -> None:
        super().__init__()
        self.camera = camera
        self.other: MediaStreamTrack | None = None
        self._locks: dict[int, asyncio.Lock] = {}
        self._drain: asyncio.Task[None] | None = None
        self._start: float | None = None
        self._last_pts = -1

    @property
    def showing_other(self) -> bool:
        return self.other is not None

    def use(self, other: MediaStreamTrack | None) -> None:
        """Show ``other`` (None: the face camera again). The caller stops the previous ``other``."""
        self.other = other
        if other is not None and self._drain is None:
            self._drain = asyncio.create_task(self._drain_camera(), name="switch-drain")
        elif other is None and self._drain is not None:
            self._drain.cancel()
            self._drain = None

    def _source_lock(self, track: MediaStreamTrack) -> asyncio.Lock:
        return self._locks.setdefault(id(track), asyncio.Lock())

    async def _drain_camera(self) -> None:
        while self.other is not None and self.readyState == "live":
            try:
                async with self._source_lock(self.camera):
                    await self.camera.recv()
            except MediaStreamError:
                return

    async def recv(self) -> Any:
        if self.readyState != "live":
            raise MediaStreamError
        source = self.other if self.other is not None else self.camera
        try:
            async with self._source_lock(source):
                frame = await source.recv()
        except MediaStreamError:
            if source is self.camera or self.readyState != "live":
                raise
            self.use(None)  # the document camera went away: back to the face
            return await self.recv()
        now = time.monotonic()
        if self._start is None:
            self._start = now
        pts = max(self._last_pts + 1, round((now - self._start) * VIDEO_CLOCK_RATE))
        self._last_pts = pts
        frame.pts, frame.time_base = pts, fractions.Fraction(1, VIDEO_CLOCK_RATE)
        return frame

    def stop(self) -> None:
        super().stop()
        if self._drain is not None:
            self._drain.cancel()
            self._drain = None
        self.camera.stop()
        if self.other is not None:
            self.other.stop()
        with contextlib.suppress(Exception):
            self._locks.clear()
