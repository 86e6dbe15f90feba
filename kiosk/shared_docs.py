"""A document the specialist shows on the kiosk's screen (issue 11, item 2): a PDF, page by page, with a pointer.

No widgets: :class:`~kiosk.controller.KioskController` owns one :class:`SharedDocDesk` and hands it the blobs and
data-channel messages of the specialist's link (the primary; anyone else's are ignored). The PDF comes as a blob
(``purpose`` document: at most 10 MiB, its SHA-256 checked on arrival), is checked here (``%PDF-``) and by the
``loader`` the window sets (:func:`kiosk.services.pdf_pages.page_count`, QtPdf), then answered with ``doc.shown``
(pages) or ``doc.error`` (why). A headless kiosk has no loader and answers ``unsupported``.

Events (through the controller's emitter): ``shared_doc`` (``open``: bool, ``name``, ``pages``, ``page``),
``shared_doc_pointer`` (``page``, ``x``, ``y``; x and y None: hidden).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from signaling.call import CallMesh
from signaling.protocol.channel import (
    MAX_DOCUMENT_BYTES,
    MAX_DOCUMENT_PAGES,
    BlobBegin,
    ChannelMessage,
    DocClose,
    DocError,
    DocErrorCode,
    DocPage,
    DocPointer,
    DocShown,
)

log = logging.getLogger("madoguchi.kiosk.shared_docs")


class DocumentRefused(Exception):
    def __init__(self, code: DocErrorCode, detail: str = "") -> None:
        super().__init__(detail or code)
        self.code: DocErrorCode = code


Loader = Callable[[bytes], int]  # the page count of a PDF, or DocumentRefused


class SharedDocDesk:
    def __init__(self, emit: Callable[[str, dict[str, Any]], None]) -> None:
        self._emit = emit
        self.mesh: CallMesh | None = None
        self.loader: Loader | None = None
        self.data: bytes | None = None
        self.name = ""
        self.pages = 0
        self.page = 0
        self.pointer: tuple[float, float] | None = None
        self.transfer_id: int | None = None

    @property
    def open(self) -> bool:
        return self.data is not None

    def attach(self, mesh: CallMesh | None) -> None:
        self.mesh = mesh
        self.clear()

    def clear(self) -> None:
        was_open = self.open
        self.data, self.name, self.pages, self.page, self.pointer, self.transfer_id = None, "", 0, 0, None, None
        if was_open:
            self._emit("shared_doc", {"open": False, "name": "", "pages": 0, "page": 0})

    def _from_specialist(self, peer: str) -> bool:
        return self.mesh is not None and peer == self.mesh.primary

    def _refuse(self, peer: str, code: DocErrorCode, transfer_id: int | None) -> None:
        log.warning("shared document refused: %s", code)
        if self.mesh is not None:
            self.mesh.send_message(peer, DocError(code=code, transfer_id=transfer_id))

    def on_blob(self, peer: str, begin: BlobBegin, data: bytes) -> None:
        if begin.purpose != "document" or not self._from_specialist(peer):
            return
        if len(data) > MAX_DOCUMENT_BYTES:
            self._refuse(peer, "too_large", begin.transfer_id)
            return
        if not data.startswith(b"%PDF-"):
            self._refuse(peer, "not_pdf", begin.transfer_id)
            return
        if self.loader is None:
            self._refuse(peer, "unsupported", begin.transfer_id)
            return
        try:
            pages = self.loader(data)
        except DocumentRefused as exc:
            self._refuse(peer, exc.code, begin.transfer_id)
            return
        if pages > MAX_DOCUMENT_PAGES:
            self._refuse(peer, "too_many_pages", begin.transfer_id)
            return
        self.data, self.name, self.pages, self.page, self.pointer = data, begin.name or "", pages, 0, None
        self.transfer_id = begin.transfer_id
        assert self.mesh is not None
        self.mesh.send_message(peer, DocShown(transfer_id=begin.transfer_id, pages=pages, page=0))
        self._emit("shared_doc", {"open": True, "name": self.name, "pages": pages, "page": 0})

    def on_blob_error(self, peer: str) -> None:
        if self._from_specialist(peer):
            self._refuse(peer, "transfer_failed", None)

    def on_message(self, peer: str, msg: ChannelMessage) -> None:
        if not self._from_specialist(peer):
            return
        if isinstance(msg, DocClose):
            self.clear()
        elif not self.open:
            return
        elif isinstance(msg, DocPage) and msg.page < self.pages:
            self.page, self.pointer = msg.page, None
            self._emit("shared_doc", {"open": True, "name": self.name, "pages": self.pages, "page": msg.page})
        elif isinstance(msg, DocPointer) and msg.page < self.pages:
            self.pointer = (msg.x, msg.y) if msg.x is not None and msg.y is not None else None
            self._emit("shared_doc_pointer", {"page": msg.page, "x": msg.x, "y": msg.y})
