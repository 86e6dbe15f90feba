"""A pass-through video track that keeps the latest frame, so the kiosk can show the resident a self-view."""

from __future__ import annotations

from typing import Any

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack


class TapTrack(MediaStreamTrack):
    """Forwards ``source``; ``latest_frame`` is the last frame that went out (``None`` before the first)."""

    kind = "video"

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self.kind = source.kind
        self.source = source
        self.latest_frame: Any = None

    async def recv(self) -> Any:
        if self.readyState != "live":
            raise MediaStreamError
        frame = await self.source.recv()
        self.latest_frame = frame
        return frame

    def stop(self) -> None:
        super().stop()
        self.source.stop()
        self.latest_frame = None
