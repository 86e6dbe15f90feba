"""An engine's WAV as the speaker output wants it: 48 kHz mono 16-bit, its loudest peak at one level, then scaled
by the resident's volume (so every voice and every phrase is as loud as the others at one volume step)."""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 48_000  # signaling.qt.audio.RATE
PEAK = 0.7  # of full scale, at the loudest volume step


@dataclass(frozen=True)
class Pcm:
    samples: np.ndarray  # int16, mono, RATE

    @property
    def seconds(self) -> float:
        return len(self.samples) / RATE

    @property
    def rms(self) -> float:
        """Root mean square over the whole clip, 0..1 of full scale."""
        if not len(self.samples):
            return 0.0
        x = self.samples.astype(np.float64) / 32768.0
        return float(np.sqrt(np.mean(x * x)))

    def tobytes(self) -> bytes:
        return self.samples.astype(np.int16, copy=False).tobytes()


def read(path: Path) -> tuple[np.ndarray, int]:
    """Samples as float in -1..1 (mono: channels averaged) and the file's rate; 16-bit PCM WAV only."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path.name}: {8 * w.getsampwidth()}-bit audio, 16-bit expected")
        channels, rate = w.getnchannels(), w.getframerate()
        raw = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
    if channels > 1:
        raw = raw.reshape(-1, channels).mean(axis=1)
    return raw, rate


def resample(x: np.ndarray, rate: int, to: int = RATE) -> np.ndarray:
    """Linear interpolation: enough for speech on a kiosk speaker (eSpeak NG's 22.05 kHz → 48 kHz)."""
    if rate == to or not len(x):
        return x
    n = round(len(x) * to / rate)
    return np.interp(np.arange(n) * (rate / to), np.arange(len(x)), x)


def for_speaker(path: Path, gain: float) -> Pcm:
    """The WAV at ``path``, 48 kHz mono, peak-normalised to ``PEAK`` × ``gain``."""
    x, rate = read(path)
    x = resample(x, rate)
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak > 0:
        x = x * (PEAK * max(0.0, min(1.0, gain)) / peak)
    return Pcm(np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16))
