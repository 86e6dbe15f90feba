"""The specialist shows a PDF on the resident's kiosk (issue 11, item 2): send it, turn pages, point.

No widgets: the :class:`~staff_console.controller.StaffController` owns one :class:`ShareDesk` and hands it the
call's mesh and the kiosk's answers. Why the PDF itself and not page images: a form of a few pages is smaller as
a PDF than as one image per page, the kiosk renders it sharp at its own screen size and when the resident
enlarges it, and turning a page or moving the pointer is then a message of a few bytes.

The PDF is checked here first (at most 10 MiB, starts with ``%PDF-``): a refusal never leaves the console. The
kiosk checks it again and reads it with QtPdf; it answers ``doc.shown`` (its page count) or ``doc.error``.

Events (through the controller's emitter): ``shared_doc`` with ``state``: ``sending``, ``shown`` (``pages``,
``page``), ``page`` (``page``), ``error`` (``code``: too_large, not_pdf, unreadable, too_many_pages,
unsupported, transfer_failed, not_connected), ``closed``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

from signaling.call import CallMesh
from signaling.media import CallError
from signaling.protocol.channel import (
    MAX_DOCUMENT_BYTES,
    BlobBegin,
    ChannelMessage,
    DocClose,
    DocError,
    DocPage,
    DocPointer,
    DocShown,
)
from signaling.transfer import sha256_hex

POINTER_MIN_INTERVAL_S = 0.05  # pointer moves are sent at most 20 times a second


class ShareDesk:
    def __init__(self, emit: Callable[[str, dict[str, Any]], None],
                 transfer_ids: itertools.count[int] | None = None) -> None:
        self._emit = emit
        self.mesh: CallMesh | None = None
        self.data: bytes | None = None  # the PDF being shown (for the console's own preview)
        self.name = ""
        self.pages = 0
        self.page = 0
        self.shown = False
        self.sent_at: float | None = None
        self._pending: tuple[int, bytes, str] | None = None  # sent, not yet answered: (transfer id, PDF, name)
        self._ids = transfer_ids or itertools.count(1)  # blob ids of this console (shared with its prints)
        self.transfer_id: int | None = None  # the blob of the PDF shown (what print.request names)
        self._last_pointer = 0.0

    def attach(self, mesh: CallMesh | None) -> None:
        self.mesh, self.transfer_id = mesh, None
        self.data, self.name, self.pages, self.page, self.shown, self._pending = None, "", 0, 0, False, None

    def _error(self, code: str) -> bool:
        self._emit("shared_doc", {"state": "error", "code": code})
        return False

    async def share(self, data: bytes, name: str) -> bool:
        """Check and send a PDF to the resident's kiosk; False (and an ``error``) when refused here."""
        if len(data) > MAX_DOCUMENT_BYTES:
            return self._error("too_large")
        if not data.startswith(b"%PDF-"):
            return self._error("not_pdf")
        mesh = self.mesh
        if mesh is None or mesh.primary is None:
            return self._error("not_connected")
        transfer_id = next(self._ids)
        begin = BlobBegin(transfer_id=transfer_id, purpose="document", mime="application/pdf", size=len(data),
                          sha256=sha256_hex(data), name=name[:120] or None)
        self._pending, self.sent_at = (transfer_id, data, name[:120]), time.monotonic()
        self._emit("shared_doc", {"state": "sending", "name": name[:120]})
        try:
            await mesh.send_blob(mesh.primary, begin, data)
        except CallError:
            self._pending = None
            return self._error("not_connected")
        return True

    def on_message(self, peer: str, msg: ChannelMessage) -> None:
        if self.mesh is None or peer != self.mesh.primary:
            return
        pending = self._pending
        if isinstance(msg, DocShown) and pending is not None and msg.transfer_id == pending[0]:
            self.transfer_id, self.data, self.name = pending
            self._pending, self.shown, self.pages, self.page = None, True, msg.pages, msg.page
            self._emit("shared_doc", {"state": "shown", "pages": msg.pages, "page": msg.page, "name": self.name})
        elif isinstance(msg, DocError) and pending is not None and msg.transfer_id in (None, pending[0]):
            self._pending = None  # refused: whatever the kiosk showed before stays
            self._error(msg.code)

    def turn_to(self, page: int) -> bool:
        mesh = self.mesh
        if not self.shown or mesh is None or mesh.primary is None or not 0 <= page < self.pages:
            return False
        if not mesh.send_message(mesh.primary, DocPage(page=page)):
            return False
        self.page = page
        self._emit("shared_doc", {"state": "page", "page": page, "pages": self.pages})
        return True

    def point(self, x: float | None, y: float | None, *, force: bool = False) -> bool:
        """The pointer at (x, y) of the current page (fractions), None: hide it. Throttled unless ``force``."""
        mesh = self.mesh
        if not self.shown or mesh is None or mesh.primary is None:
            return False
        now = time.monotonic()
        if not force and x is not None and now - self._last_pointer < POINTER_MIN_INTERVAL_S:
            return False
        self._last_pointer = now
        msg = DocPointer(page=self.page, x=None if x is None else min(1.0, max(0.0, x)),
                         y=None if y is None else min(1.0, max(0.0, y)))
        return mesh.send_message(mesh.primary, msg)

    def close(self) -> None:
        mesh = self.mesh
        if mesh is not None and mesh.primary is not None and (self.shown or self._pending is not None):
            mesh.send_message(mesh.primary, DocClose())
        self.data, self.shown, self.pages, self.page, self._pending = None, False, 0, 0, None
        self.transfer_id = None
        self._emit("shared_doc", {"state": "closed"})
