"""「カードをかざす」 (issue 12 item 2): the kiosk reads the QR code of a printed case card with its camera, so that a
resident who cannot type the number need not. No widgets: the controller owns one :class:`CardScan`, opens the
camera only while the case-number screen asks for a card, and stops it when a card is read, the resident goes
back to the keypad, or the screen closes. Only a Madoguchi case card counts (``madoguchi:case:<number>``,
signaling/protocol/case_number.py); any other QR code in front of the camera is ignored.

Decoding is zxing-cpp on a copy of the frame's grey plane, in a worker thread (never on the event loop), every
``every``-th frame; the copy is taken on the loop, never in the worker (the screen paints that frame meanwhile).
Events: ``card_scanned`` (``number``), ``card_scan_error`` (``reason``: ``no_camera``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import zxingcpp
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from signaling.protocol.case_number import number_on_card
from signaling.tasks import cancel_and_wait

log = logging.getLogger("madoguchi.kiosk.card")


def luma(frame: Any) -> np.ndarray:
    """A copy of the frame's grey picture, taken on the event loop: the screen paints the same frame object on
    this thread, and PyAV may not convert one frame in two threads at once (a test run hung for ever that way).
    For the planar YUV formats cameras give, the luma plane is copied as it is; anything else is converted."""
    if frame.format.name in ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "nv12", "gray"):
        plane = frame.planes[0]
        rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(plane.height, plane.line_size)
        return rows[:, :frame.width].copy()
    return np.asarray(frame.to_ndarray(format="gray"))


def qr_texts(grey: np.ndarray) -> list[str]:
    """The texts of the QR codes in a grey picture (zxing-cpp; run in a worker thread)."""
    # the format set is made per call: a module-level zxing-cpp object outlives the interpreter's teardown and
    # nanobind then reports the whole module as leaked at exit
    only_qr = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    return [r.text for r in zxingcpp.read_barcodes(grey, formats=only_qr)]


class CardScan:
    def __init__(self, open_camera: Callable[[], MediaStreamTrack | None],
                 emit: Callable[[str, dict[str, Any]], None], every: int = 3) -> None:
        self._open_camera = open_camera
        self._emit = emit
        self.every = every
        self.latest_frame: Any = None  # what the camera sees, for the screen to show while aiming
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if not self.running:
            self.latest_frame = None
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        self.latest_frame = None

    async def _run(self) -> None:
        try:
            track = self._open_camera()
        except Exception as exc:  # a camera that cannot be opened: say so, the keypad still works
            log.warning("card scan: camera unavailable: %s", exc)
            track = None
        if track is None:
            self._emit("card_scan_error", {"reason": "no_camera"})
            return
        try:
            n = 0
            while True:
                frame = await track.recv()
                self.latest_frame = frame
                n += 1
                if n % self.every:
                    continue
                for text in await asyncio.to_thread(qr_texts, luma(frame)):
                    number = number_on_card(text)
                    if number is not None:
                        self._emit("card_scanned", {"number": number})
                        return
        except MediaStreamError:
            self._emit("card_scan_error", {"reason": "no_camera"})
        finally:
            track.stop()
