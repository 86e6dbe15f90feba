"""Speaker output: remote audio frames (and local sounds such as a chime) mixed into one QAudioSink.

Fed from ``CallPeer.on_audio_frame`` (any rate/layout; resampled to 48 kHz mono s16 per
source), mixed on a 20 ms Qt timer (the sink buffers 100 ms) and written to the sink in
push mode, so nothing runs on Qt's audio thread. ``on_rendered(pcm)`` receives exactly
what was handed to the device: the reference an echo canceller needs (the canceller cuts it
into its own 10 ms chunks; tests/kiosk/test_echo.py feeds it 20 ms blocks). A 10 ms timer
cost the kiosk ~0.01 of a core more in a call for nothing (bench/kiosk_cost.py); one source
playing alone (the usual call) is copied through, not mixed.

QtMultimedia lives in ``pyside6-addons`` and needs the system library ``libpulse0``
on Linux (DESIGN §9). Without an output device (or without QtMultimedia) the output
runs "null": it still drains and mixes in real time, so callers behave the same,
and :attr:`AudioOutput.available` is False (the self-check reports it).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from av import AudioFrame, AudioResampler
from PySide6.QtCore import QObject, QTimer

log = logging.getLogger("madoguchi.audio")

RATE = 48_000
BYTES_PER_S = RATE * 2


def tone(freqs: list[tuple[float, float]], amplitude: float = 0.3) -> bytes:
    """A soft bell: (frequency Hz, seconds) notes one after the other, each with a decaying envelope."""
    parts = []
    for freq, seconds in freqs:
        t = np.arange(int(RATE * seconds)) / RATE
        env = np.exp(-3.0 * t / seconds) * np.minimum(1.0, t / 0.01)
        wave = np.sin(2 * np.pi * freq * t) + 0.3 * np.sin(4 * np.pi * freq * t)
        parts.append(wave * env * amplitude / 1.3)
    return (np.concatenate(parts) * 32767).astype(np.int16).tobytes()


CHIME = tone([(659.3, 0.45), (523.3, 0.9)])  # "pin-pon", low enough for ears that lost the high notes
TEST_TONE = tone([(440.0, 0.6)], amplitude=0.25)


class _Source:
    def __init__(self, max_bytes: int) -> None:
        self.buf = bytearray()
        self.max_bytes = max_bytes
        self.resampler: AudioResampler | None = None
        self.dropped = 0

    def add(self, pcm: bytes) -> None:
        self.buf += pcm
        over = len(self.buf) - self.max_bytes
        if over > 0:  # keep latency bounded: drop the oldest audio
            over += over % 2
            del self.buf[:over]
            self.dropped += over


class AudioOutput(QObject):
    def __init__(self, device: str | None = None, *, on_rendered: Callable[[bytes], None] | None = None,
                 max_buffer_ms: int = 200, tick_ms: int = 20, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.on_rendered = on_rendered
        self.max_bytes = BYTES_PER_S * max_buffer_ms // 1000
        self._sources: dict[str, _Source] = {}
        self._sink: Any = None
        self._io: Any = None
        self.device_name = ""
        self.error = ""
        self.frames_in = 0
        self.bytes_rendered = 0
        self.sounds_played = 0
        self._last_tick = time.monotonic()
        self._open(device)
        self._timer = QTimer(self)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    # ------------------------------------------------------------ device
    def _open(self, wanted: str | None) -> None:
        try:
            from PySide6.QtMultimedia import QAudio, QAudioFormat, QAudioSink, QMediaDevices
        except ImportError as exc:  # pyside6-addons or libpulse0 missing
            self.error = f"QtMultimedia unavailable: {exc}"
            log.warning("%s", self.error)
            return
        outputs = QMediaDevices.audioOutputs()
        dev = next((d for d in outputs if wanted and d.description() == wanted), None) or \
            QMediaDevices.defaultAudioOutput()
        if dev.isNull():
            self.error = "no audio output device"
            log.info("speaker: %s (output runs silent)", self.error)
            return
        fmt = QAudioFormat()
        fmt.setSampleRate(RATE)
        fmt.setChannelCount(1)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        if not dev.isFormatSupported(fmt):
            self.error = f"{dev.description()}: 48 kHz mono 16-bit not supported"
            log.warning("speaker: %s", self.error)
            return
        sink = QAudioSink(dev, fmt, self)
        sink.setBufferSize(BYTES_PER_S // 10)
        io = sink.start()
        if io is None or sink.error() != QAudio.Error.NoError:
            self.error = f"{dev.description()}: cannot start ({sink.error()})"
            log.warning("speaker: %s", self.error)
            return
        self._sink, self._io, self.device_name = sink, io, dev.description()

    @property
    def available(self) -> bool:
        return self._io is not None

    # ------------------------------------------------------------ input
    def push(self, source: str, frame: AudioFrame) -> None:
        """One decoded remote audio frame (``CallPeer.on_audio_frame``)."""
        src = self._sources.get(source)
        if src is None:
            src = self._sources[source] = _Source(self.max_bytes)
        if src.resampler is None:
            src.resampler = AudioResampler(format="s16", layout="mono", rate=RATE)
        for out in src.resampler.resample(frame):
            src.add(out.to_ndarray().astype(np.int16, copy=False).tobytes())
        self.frames_in += 1

    def play(self, pcm: bytes, name: str = "sound", max_s: float = 10.0) -> None:
        """A local sound (48 kHz mono s16), mixed over whatever else plays; ``max_s``: the most of it kept
        waiting (spoken guidance is longer than a chime). ``forget(f"local:{name}")`` cuts it."""
        src = self._sources.get(f"local:{name}")
        if src is None:
            src = self._sources[f"local:{name}"] = _Source(int(BYTES_PER_S * max_s))
        src.add(pcm)
        self.sounds_played += 1

    def chime(self) -> None:
        self.play(CHIME, "chime")

    def forget(self, source: str) -> None:
        self._sources.pop(source, None)

    def clear(self) -> None:
        """Drop every remote buffer (a call ended)."""
        for key in [k for k in self._sources if not k.startswith("local:")]:
            del self._sources[key]

    def probe(self) -> tuple[bool, str]:
        """Self-check: play a short test tone; True if a real device took it."""
        self.play(TEST_TONE, "test")
        return (True, self.device_name) if self.available else (False, self.error)

    # ------------------------------------------------------------ mixing
    def _tick(self) -> None:
        now = time.monotonic()
        elapsed, self._last_tick = now - self._last_tick, now
        if self._io is not None:
            room = int(self._sink.bytesFree())
        else:
            room = min(self.max_bytes, math.ceil(elapsed * BYTES_PER_S))
        room -= room % 2
        have = max((len(s.buf) for s in self._sources.values()), default=0)
        n = min(room, have)
        if n <= 0:
            return
        playing = [key for key, src in self._sources.items() if len(src.buf) >= 2]
        if len(playing) == 1:  # one source alone (the usual call): its samples as they are, zero-padded
            src = self._sources[playing[0]]
            take = min(n, len(src.buf))
            take -= take % 2
            pcm = bytes(src.buf[:take]) + bytes(n - take)
            del src.buf[:take]
        else:
            mix = np.zeros(n // 2, dtype=np.int32)
            for key in playing:
                src = self._sources[key]
                take = min(n, len(src.buf))
                take -= take % 2
                mix[: take // 2] += np.frombuffer(bytes(src.buf[:take]), dtype=np.int16)
                del src.buf[:take]
            pcm = np.clip(mix, -32768, 32767).astype(np.int16).tobytes()
        for key in [k for k, src in self._sources.items() if k.startswith("local:") and not src.buf]:
            del self._sources[key]
        if self._io is not None:
            self._io.write(pcm)
        self.bytes_rendered += len(pcm)
        if self.on_rendered is not None:
            try:
                self.on_rendered(pcm)
            except Exception:
                log.exception("on_rendered failed")

    def close(self) -> None:
        self._timer.stop()
        if self._sink is not None:
            self._sink.stop()
        self._sink = self._io = None
        self._sources.clear()
