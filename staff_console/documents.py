"""The specialist's side of the document camera (issue 11, item 1): what the kiosk shows, stills, attaching.

No widgets, no sockets of its own: the :class:`~staff_console.controller.StaffController` owns one desk, hands
it the call's mesh and the data-channel messages and blobs of the resident's link, and the REST client.

- ``doc.camera`` from the kiosk: its video now carries the document camera (the window shows it large, with
  zoom) or the resident's face again.
- :meth:`DocumentDesk.take_still` sends ``still.request``; the kiosk answers with a blob (``purpose`` still,
  its size and SHA-256 checked on arrival, :mod:`signaling.transfer`) or ``still.error``.
- Stills live in this console's memory only (:attr:`DocumentDesk.stills`) until the specialist attaches one
  to the record (:meth:`DocumentDesk.attach`: the server keeps it with the note's access rules and retention);
  the rest are forgotten when the wrap-up is done or the call is left.

Events (through the controller's emitter): ``document`` (``showing``, ``width``, ``height``), ``still``
(``entry``: a :class:`StillEntry`), ``still_error`` (``request_id``, ``code``), ``still_attached`` (``entry``).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from signaling.call import CallMesh
from signaling.protocol.channel import BlobBegin, ChannelMessage, DocCamera, StillError, StillRequest
from staff_console.services.server_api import ApiError, StaffApi


@dataclass
class StillEntry:
    request_id: int
    data: bytes
    sha256: str
    mime: str
    width: int
    height: int
    requested_at: float
    received_at: float = field(default_factory=time.monotonic)
    attachment_id: int | None = None  # set once the server keeps it

    @property
    def elapsed_ms(self) -> float:
        """From the request to the whole still here, checked."""
        return (self.received_at - self.requested_at) * 1000


class DocumentDesk:
    def __init__(self, api: StaffApi, emit: Callable[[str, dict[str, Any]], None]) -> None:
        self.api = api
        self._emit = emit
        self.mesh: CallMesh | None = None
        self.session_id: int | None = None
        self.showing = False
        self.size: tuple[int, int] | None = None
        self.stills: list[StillEntry] = []
        self._pending: dict[int, float] = {}  # request id -> when asked
        self._ids = itertools.count(1)

    def attach_call(self, mesh: CallMesh | None, session_id: int | None) -> None:
        """A call started (mesh and session), or media ended (None, session kept for attaching in the wrap-up)."""
        self.mesh = mesh
        if session_id is not None:
            self.session_id = session_id
        if mesh is None:
            self._pending.clear()
            if self.showing:
                self.showing = False
                self._emit("document", {"showing": False, "width": None, "height": None})

    def forget(self) -> None:
        """The record is done (wrap-up finished, call left): unattached stills are gone."""
        self.stills.clear()
        self._pending.clear()
        self.session_id = None

    def take_still(self) -> int | None:
        """Ask the kiosk for a still at its document camera's full resolution; the request id, or None."""
        mesh = self.mesh
        if mesh is None or mesh.primary is None or not self.showing:
            return None
        request_id = next(self._ids)
        self._pending[request_id] = time.monotonic()
        if not mesh.send_message(mesh.primary, StillRequest(request_id=request_id)):
            self._pending.pop(request_id, None)
            return None
        return request_id

    def on_message(self, peer: str, msg: ChannelMessage) -> None:
        if self.mesh is None or peer != self.mesh.primary:
            return  # only the resident's kiosk has a document camera
        if isinstance(msg, DocCamera):
            self.showing = msg.showing
            self.size = (msg.width, msg.height) if msg.width and msg.height else None
            self._emit("document", {"showing": msg.showing, "width": msg.width, "height": msg.height})
        elif isinstance(msg, StillError):
            if self._pending.pop(msg.request_id, None) is not None:
                self._emit("still_error", {"request_id": msg.request_id, "code": msg.code})

    def on_blob(self, peer: str, begin: BlobBegin, data: bytes) -> None:
        if self.mesh is None or peer != self.mesh.primary or begin.purpose != "still":
            return
        asked = self._pending.pop(begin.request_id or 0, None)
        if asked is None:
            return  # not asked for (or asked by a console since restarted): not kept
        entry = StillEntry(begin.request_id or 0, data, begin.sha256, begin.mime, begin.width or 0,
                           begin.height or 0, asked)
        self.stills.append(entry)
        self._emit("still", {"entry": entry})

    def on_blob_error(self, peer: str, error: str) -> None:
        for request_id in list(self._pending):
            self._pending.pop(request_id)
            self._emit("still_error", {"request_id": request_id, "code": "transfer_failed", "error": error})

    async def attach(self, entry: StillEntry) -> bool:
        """Keep this still with the session's record on the server (once)."""
        if entry.attachment_id is not None:
            return True
        if self.session_id is None:
            return False
        try:
            out = await self.api.attach(self.session_id, entry.data, entry.mime, entry.sha256)
        except (ApiError, OSError) as exc:
            self._emit("error", {"code": "attachment", "message": str(exc), "request": "attachment"})
            return False
        entry.attachment_id = int(out["id"])
        self._emit("still_attached", {"entry": entry})
        return True
