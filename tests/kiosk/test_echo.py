"""Echo cancellation on the microphone path (WebRTC AEC3 via livekit.rtc), measured.

A known far-end signal (what the specialist says, played by the kiosk speaker) goes
through a simulated room: 80 ms delay, -6 dB, two reflections. Its echo plus the
resident's own voice (near end) is the microphone input, fed as 48 kHz
stereo frames of 20 ms (downmixed by the wrapper) through :class:`EchoCancelledTrack`,
exactly as a device track would be. The speaker signal reaches the canceller as the reference
through ``push_far_end`` just before the microphone hears it, as the kiosk's
speaker output does.

Segments: 0–8 s far end only, 8–11 s both talk, 11–14 s near end only.
"""

from __future__ import annotations

import fractions
from typing import Any

import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame

from kiosk.services.echo import RATE, EchoCancelledTrack, EchoCanceller

SECONDS = 14
FRAME = 960  # 20 ms


def speechlike(seconds: float, seed: int, f0: float) -> np.ndarray:
    """Voiced sound with a wandering pitch, breath noise and syllable rhythm (not a pure tone, which an
    adaptive filter would find too easy)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    pitch = f0 * (1 + 0.15 * np.sin(2 * np.pi * 0.5 * t + seed))
    phase = 2 * np.pi * np.cumsum(pitch) / RATE
    y = sum(np.sin(k * phase) * (0.8**k) for k in range(1, 25)) + 0.2 * rng.standard_normal(n)
    y = y * np.clip(np.sin(2 * np.pi * 3.1 * t + rng.uniform(0, 6)), 0, None) ** 0.6
    return np.asarray(y / np.max(np.abs(y)) * 0.5)


def db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x)) + 1e-12))


def pcm16(x: np.ndarray) -> np.ndarray:
    return np.asarray((np.clip(x, -1, 1) * 32767).astype(np.int16))


class Room(MediaStreamTrack):
    """A stereo microphone in a room with a loudspeaker; feeds the speaker signal to the canceller too."""

    kind = "audio"

    def __init__(self, mic: np.ndarray, far: np.ndarray, canceller: EchoCanceller) -> None:
        super().__init__()
        self.mic, self.far, self.canceller, self.i = mic, far, canceller, 0

    async def recv(self) -> Any:
        i, self.i = self.i, self.i + FRAME
        if i + FRAME > len(self.mic):
            raise MediaStreamError
        self.canceller.push_far_end(pcm16(self.far[i:i + FRAME]).tobytes())
        mono = pcm16(self.mic[i:i + FRAME])
        frame = AudioFrame.from_ndarray(np.repeat(mono[None, :], 2, 0).T.reshape(1, -1), format="s16",
                                        layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = RATE, i, fractions.Fraction(1, RATE)
        return frame


async def test_echo_drops_20_db_and_the_resident_still_passes(capsys: pytest.CaptureFixture[str]) -> None:
    far = speechlike(SECONDS, 1, 130)
    near = speechlike(SECONDS, 2, 220)
    far[11 * RATE:] = 0
    near[: 8 * RATE] = 0
    delay = int(0.080 * RATE)
    path = np.zeros(delay + 1000)
    path[delay], path[delay + 240], path[delay + 900] = 0.5, 0.2, -0.1  # 80 ms, -6 dB, two reflections
    echo = np.convolve(far, path)[: len(far)]
    mic = echo + near

    canceller = EchoCanceller(noise_suppression=False, high_pass_filter=False)
    track = EchoCancelledTrack(Room(mic, far, canceller), canceller)
    out_frames = []
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            break
        assert (frame.sample_rate, frame.samples, frame.layout.name) == (RATE, FRAME, "mono")
        out_frames.append(frame.to_ndarray().ravel())
    track.stop()
    out = np.concatenate(out_frames).astype(np.float64) / 32767
    mic = mic[: len(out)]

    def seg(x: np.ndarray, a: float, b: float) -> np.ndarray:
        return x[int(a * RATE):int(b * RATE)]

    # far end only, after 3 s to converge: the echo must drop >= 20 dB
    echo_in, echo_out = db(seg(mic, 3, 8)), db(seg(out, 3, 8))
    erle = echo_in - echo_out
    # near end only: the resident's voice passes at (nearly) full level
    near_in, near_out = db(seg(mic, 11.5, 14)), db(seg(out, 11.5, 14))
    # both talking: the resident is still heard (not gated away with the echo)
    dt_near, dt_out, dt_echo = db(seg(near, 8.5, 11)), db(seg(out, 8.5, 11)), db(seg(echo, 8.5, 11))
    with capsys.disabled():
        print(f"\nAEC: echo {echo_in:.1f} -> {echo_out:.1f} dBFS (ERLE {erle:.1f} dB); near end {near_in:.1f} -> "
              f"{near_out:.1f} dBFS; double talk: near {dt_near:.1f}, echo {dt_echo:.1f}, out {dt_out:.1f} dBFS")
    assert erle >= 20.0
    assert abs(near_out - near_in) <= 3.0
    assert dt_out >= dt_near - 6.0
    assert canceller.far_chunks > 1000 and canceller.near_chunks > 1000
