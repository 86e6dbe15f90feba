"""The speaker output (signaling/qt/audio.py) hands the device, and the echo canceller's reference, exactly the
samples it mixed: one source alone as it came, several summed and clipped; every 20 ms (the canceller cuts the
reference into its own 10 ms chunks: tests/kiosk/test_echo.py). No sound device here: the output runs null, its
room the time since the last tick."""

from __future__ import annotations

import time

import numpy as np
from pytestqt.qtbot import QtBot

from signaling.qt.audio import BYTES_PER_S, AudioOutput


def pcm(values: list[int]) -> bytes:
    return np.array(values, dtype=np.int16).tobytes()


def test_one_source_alone_is_played_as_it_came_and_several_are_mixed(qtbot: QtBot) -> None:
    rendered: list[bytes] = []
    out = AudioOutput("no such device", on_rendered=rendered.append)
    try:
        out._timer.stop()  # the test ticks
        assert out._timer.interval() == 20
        room = BYTES_PER_S // 10  # 100 ms of room

        def tick() -> bytes:
            out._last_tick = time.monotonic() - room / BYTES_PER_S
            out._tick()
            return rendered.pop() if rendered else b""

        alone = pcm([1, -2, 3, 32767, -32768] * 10)
        out.play(alone, "a")
        assert tick() == alone and "local:a" not in out._sources  # played through, then forgotten

        out.play(pcm([30000, -30000, 5, 7]), "a")
        out.play(pcm([10000, -10000, 1]), "b")
        assert tick() == pcm([32767, -32768, 6, 7])  # summed, clipped, the shorter one padded with silence
        assert tick() == b"" and not out._sources
        assert out.bytes_rendered == len(alone) + 8
    finally:
        out.close()
