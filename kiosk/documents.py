"""The resident shows a paper (issue 11, item 1): the document camera on the call, stills for the specialist.

No widgets: :class:`~kiosk.controller.KioskController` owns one :class:`DocumentDesk` per kiosk and hands it
the call's switch track (:class:`~signaling.document_camera.SwitchVideoTrack`) and mesh. The resident taps
「書類を見せる」 (:meth:`show`): the document camera opens and the call's video carries it (everyone in the call
sees it, ``doc.camera {showing}`` tells them); 「カメラに戻す」 (:meth:`stop`) goes back to the face camera and
closes the document camera.

Stills: only the specialist (the mesh's primary peer) may ask (``still.request``); the kiosk encodes the
latest full-resolution frame and sends it as a blob on that link. The kiosk keeps no picture: only the
SHA-256 and size of what it sent (:attr:`DocumentDesk.sent`, for the record and the tests).

Events (through the controller's emitter): ``document`` (``showing``: bool, ``error``: text or None),
``still_sent`` (``request_id``, ``sha256``, ``size``, ``width``, ``height``).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kiosk.settings import KioskSettings
from signaling.call import CallMesh
from signaling.document_camera import DocumentCamera, SwitchVideoTrack, open_document_camera
from signaling.media import CallError, MediaDeviceError
from signaling.protocol.channel import BlobBegin, ChannelMessage, DocCamera, StillError, StillRequest

log = logging.getLogger("madoguchi.kiosk.documents")


@dataclass(frozen=True)
class SentStill:
    request_id: int
    sha256: str
    size: int
    width: int
    height: int


class DocumentDesk:
    def __init__(self, settings: KioskSettings, emit: Callable[[str, dict[str, Any]], None]) -> None:
        self.settings = settings
        self._emit = emit
        self.switch: SwitchVideoTrack | None = None
        self.mesh: CallMesh | None = None
        self.camera: DocumentCamera | None = None
        self.sent: list[SentStill] = []
        self._busy = False
        self._transfer_ids = itertools.count(1)

    @property
    def available(self) -> bool:
        """A document camera is configured and the call sends video it can take over."""
        return self.settings.document_camera_source != "none" and self.switch is not None

    @property
    def showing(self) -> bool:
        return self.camera is not None

    def attach(self, switch: SwitchVideoTrack | None, mesh: CallMesh | None) -> None:
        """A call started (or ended: None, None)."""
        self.switch, self.mesh = switch, mesh
        self.sent = []

    async def show(self) -> bool:
        if self.showing:
            return True
        if not self.available or self.switch is None:
            self._emit("document", {"showing": False, "error": "no_document_camera"})
            return False
        s = self.settings
        try:
            camera = open_document_camera(s.document_camera_source, device=s.document_camera_device,
                                          width=s.document_camera_width, height=s.document_camera_height,
                                          fps=s.document_camera_fps, video_width=s.document_video_width)
        except (MediaDeviceError, OSError, ValueError) as exc:
            log.warning("document camera unavailable: %s", exc)
            self._emit("document", {"showing": False, "error": str(exc)})
            return False
        if camera is None:
            return False
        self.camera = camera
        self.switch.use(camera.video)
        self._tell(DocCamera(showing=True, width=s.document_camera_width, height=s.document_camera_height))
        self._emit("document", {"showing": True, "error": None})
        return True

    async def stop(self) -> None:
        camera, self.camera = self.camera, None
        if camera is None:
            return
        if self.switch is not None:
            self.switch.use(None)
        await camera.close()
        self._tell(DocCamera(showing=False))
        self._emit("document", {"showing": False, "error": None})

    def _tell(self, msg: DocCamera) -> None:
        if self.mesh is not None:
            self.mesh.broadcast(msg)

    def resend_state(self, peer: str) -> None:
        """A link (re)connected: tell that peer what the video shows now (once its data channel is open)."""
        if self.mesh is not None and self.showing:
            s = self.settings
            msg = DocCamera(showing=True, width=s.document_camera_width, height=s.document_camera_height)
            self.mesh.send_soon(peer, msg)

    async def on_message(self, peer: str, msg: ChannelMessage) -> None:
        if isinstance(msg, StillRequest):
            await self._still(peer, msg)

    async def _still(self, peer: str, msg: StillRequest) -> None:
        mesh = self.mesh
        if mesh is None or peer != mesh.primary:
            log.warning("still.request from %s refused: only the specialist may take stills", peer)
            return
        camera = self.camera
        if camera is None or self._busy:
            mesh.send_message(peer, StillError(request_id=msg.request_id, code="busy" if self._busy else "not_showing"))
            return
        self._busy = True
        try:
            await camera.wait_frame()
            still = await camera.capture_still()
            begin = BlobBegin(transfer_id=next(self._transfer_ids), purpose="still", mime="image/jpeg",
                              size=len(still.data), sha256=still.sha256, request_id=msg.request_id,
                              width=still.width, height=still.height)
            await mesh.send_blob(peer, begin, still.data)
        except (MediaDeviceError, TimeoutError, CallError, ValueError) as exc:
            log.warning("still %d failed: %s", msg.request_id, exc)
            mesh.send_message(peer, StillError(request_id=msg.request_id, code="capture_failed"))
            return
        finally:
            self._busy = False
        sent = SentStill(msg.request_id, begin.sha256, begin.size, still.width, still.height)
        self.sent.append(sent)
        self._emit("still_sent", {"request_id": sent.request_id, "sha256": sent.sha256, "size": sent.size,
                                  "width": sent.width, "height": sent.height})
