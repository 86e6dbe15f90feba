"""Acoustic echo cancellation on the microphone: WebRTC's audio processing module (AEC3) via ``livekit.rtc``.

A kiosk has loudspeakers, not a headset: what the specialist says comes out of
the speaker, goes back into the microphone and would return to the specialist
as an echo. :class:`EchoCanceller` is WebRTC's own ``AudioProcessingModule``
(the one browsers use) through LiveKit's maintained Python binding, which ships
the native library inside its wheel and needs no network. The far-end
(speaker) signal is fed as the reference with :meth:`EchoCanceller.push_far_end`;
AEC3 estimates the speaker→microphone delay itself (``delay_ms`` adds a known
fixed part).

:class:`EchoCancelledTrack` wraps a microphone ``MediaStreamTrack`` (any
format, rate or frame size) and yields 20 ms frames of 48 kHz mono s16 with the
echo removed.

Errors::

    EchoUnavailable   the livekit binding is missing or its native library cannot load
"""

from __future__ import annotations

import fractions
import logging
from typing import Any

import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame, AudioResampler

log = logging.getLogger("madoguchi.kiosk.echo")

RATE = 48_000
CHUNK = RATE // 100  # APM works on exactly 10 ms
CHUNK_BYTES = CHUNK * 2
OUT_SAMPLES = RATE // 50  # 20 ms frames out, as a microphone track normally gives


class EchoUnavailable(RuntimeError):
    """The WebRTC audio processing binding (PyPI ``livekit``) is not usable here."""


def to_mono48k(resampler: AudioResampler, frame: AudioFrame) -> bytes:
    """Any audio frame → 48 kHz mono s16 PCM bytes (the resampler keeps state between frames)."""
    return b"".join(out.to_ndarray().astype(np.int16, copy=False).tobytes() for out in resampler.resample(frame))


class EchoCanceller:
    """WebRTC AEC3 (+ optional noise suppression and high-pass) on 48 kHz mono s16 PCM."""

    def __init__(self, *, noise_suppression: bool = True, high_pass_filter: bool = True,
                 auto_gain_control: bool = False, delay_ms: int = 0) -> None:
        try:
            from livekit import rtc
        except Exception as exc:  # ImportError, or OSError from the native library
            raise EchoUnavailable(f"livekit.rtc cannot be loaded: {exc}") from exc
        self._rtc = rtc
        self._apm = rtc.AudioProcessingModule(echo_cancellation=True, noise_suppression=noise_suppression,
                                              high_pass_filter=high_pass_filter,
                                              auto_gain_control=auto_gain_control)
        self.delay_ms = delay_ms
        self._far = bytearray()
        self._near = bytearray()
        self.far_chunks = 0
        self.near_chunks = 0

    def push_far_end(self, pcm: bytes) -> None:
        """What the speaker plays (48 kHz mono s16), as it is handed to the audio device."""
        self._far += pcm
        while len(self._far) >= CHUNK_BYTES:
            chunk = bytearray(self._far[:CHUNK_BYTES])
            del self._far[:CHUNK_BYTES]
            self._apm.process_reverse_stream(self._rtc.AudioFrame(chunk, RATE, 1, CHUNK))
            self.far_chunks += 1

    def process(self, pcm: bytes) -> bytes:
        """Microphone PCM in (48 kHz mono s16, any length); echo-cancelled PCM out, in whole 10 ms chunks
        (a remainder waits for the next call)."""
        self._near += pcm
        out = bytearray()
        while len(self._near) >= CHUNK_BYTES:
            frame = self._rtc.AudioFrame(bytearray(self._near[:CHUNK_BYTES]), RATE, 1, CHUNK)
            del self._near[:CHUNK_BYTES]
            self._apm.set_stream_delay_ms(self.delay_ms)
            self._apm.process_stream(frame)
            out += bytes(frame.data)
            self.near_chunks += 1
        return bytes(out)


class EchoCancelledTrack(MediaStreamTrack):
    """A microphone track with the echo of the far end removed: 20 ms frames, 48 kHz mono s16."""

    kind = "audio"

    def __init__(self, source: MediaStreamTrack, canceller: EchoCanceller) -> None:
        super().__init__()
        self.source = source
        self.canceller = canceller
        self._resampler = AudioResampler(format="s16", layout="mono", rate=RATE)
        self._pending = bytearray()
        self._pts = 0

    async def recv(self) -> Any:
        if self.readyState != "live":
            raise MediaStreamError
        need = OUT_SAMPLES * 2
        while len(self._pending) < need:
            frame = await self.source.recv()
            if not isinstance(frame, AudioFrame):
                continue
            self._pending += self.canceller.process(to_mono48k(self._resampler, frame))
        pcm = bytes(self._pending[:need])
        del self._pending[:need]
        out = AudioFrame.from_ndarray(np.frombuffer(pcm, dtype=np.int16).reshape(1, -1), format="s16", layout="mono")
        out.sample_rate = RATE
        out.pts = self._pts
        out.time_base = fractions.Fraction(1, RATE)
        self._pts += OUT_SAMPLES
        return out

    def stop(self) -> None:
        super().stop()
        self.source.stop()
