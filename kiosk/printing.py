"""Printing at the branch (issue 11, item 3): the specialist prints a PDF on the kiosk's printer.

No widgets: :class:`~kiosk.controller.KioskController` owns one :class:`PrintDesk` and hands it the data-channel
messages and blobs of the specialist's link (the primary; anyone else's are ignored). Two ways in, one path out:

- ``print.request`` {request_id, transfer_id}: print the PDF shown on the screen (:mod:`kiosk.shared_docs`; its
  ``doc.shown`` named that transfer) — nothing is sent twice;
- a blob of purpose ``print`` (its ``request_id``): a PDF to print without showing it (a confirmed form).

Either way the PDF goes as it is to :class:`~kiosk.services.printer.BranchPrinter` (CUPS), one print at a time;
the specialist is told ``print.status`` ``printing``, then ``done``, ``paper_out``, ``no_printer`` or ``failed``
(with CUPS's reason keyword). Nothing of the PDF is kept after the print.

Events (through the controller's emitter): ``printing`` (``state``: printing, done, paper_out, no_printer,
failed; ``name``, ``reason``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from kiosk.services.printer import BranchPrinter
from kiosk.shared_docs import DocumentRefused, SharedDocDesk
from signaling.call import CallMesh
from signaling.protocol.channel import (
    MAX_DOCUMENT_BYTES,
    MAX_DOCUMENT_PAGES,
    BlobBegin,
    ChannelMessage,
    PrintRequest,
    PrintState,
    PrintStatus,
)
from signaling.tasks import cancel_and_wait

log = logging.getLogger("madoguchi.kiosk.printing")


class PrintDesk:
    def __init__(self, printer: BranchPrinter, shared: SharedDocDesk,
                 emit: Callable[[str, dict[str, Any]], None]) -> None:
        self.printer = printer
        self.shared = shared
        self._emit = emit
        self._task: asyncio.Task[None] | None = None
        self.mesh: CallMesh | None = None
        self.busy: int | None = None  # the request id being printed
        self.last: dict[str, Any] | None = None  # the last ``printing`` event (for a window that opens later)

    def attach(self, mesh: CallMesh | None) -> None:
        """A new call (or none): a print under way goes on — the paper is for the resident at the kiosk."""
        self.mesh = mesh

    def _from_specialist(self, peer: str) -> bool:
        return self.mesh is not None and peer == self.mesh.primary

    def _tell(self, peer: str, request_id: int, state: PrintState, *, pages: int | None = None,
              reason: str = "") -> None:
        mesh = self.mesh
        if mesh is not None and peer in mesh.links:
            mesh.send_message(peer, PrintStatus(request_id=request_id, state=state, pages=pages,
                                                reason=reason[:64] or None))

    def on_message(self, peer: str, msg: ChannelMessage) -> None:
        if not isinstance(msg, PrintRequest) or not self._from_specialist(peer):
            return
        shared = self.shared
        if shared.data is None or shared.transfer_id != msg.transfer_id:
            self._tell(peer, msg.request_id, "failed", reason="no-document")
            return
        self._start(peer, msg.request_id, shared.data, shared.name, shared.pages)

    def on_blob(self, peer: str, begin: BlobBegin, data: bytes) -> None:
        if begin.purpose != "print" or not self._from_specialist(peer) or begin.request_id is None:
            return
        if len(data) > MAX_DOCUMENT_BYTES or not data.startswith(b"%PDF-"):
            self._tell(peer, begin.request_id, "failed", reason="not-pdf")
            return
        pages: int | None = None
        if self.shared.loader is not None:  # the window's QtPdf: the page count, and a PDF it cannot read
            try:
                pages = self.shared.loader(data)
            except DocumentRefused as exc:
                self._tell(peer, begin.request_id, "failed", reason=exc.code)
                return
        self._start(peer, begin.request_id, data, begin.name or "", pages)

    def _start(self, peer: str, request_id: int, data: bytes, name: str, pages: int | None) -> None:
        if self.busy is not None:
            self._tell(peer, request_id, "failed", reason="busy")
            return
        pages = pages if pages is not None and 1 <= pages <= MAX_DOCUMENT_PAGES else None
        self.busy = request_id
        self._tell(peer, request_id, "printing", pages=pages)
        self._event("printing", name)
        self._task = asyncio.ensure_future(self._print(peer, request_id, data, name, pages))

    async def stop(self) -> None:
        """The program stops: a print under way is given up (CUPS keeps what it already has)."""
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _print(self, peer: str, request_id: int, data: bytes, name: str, pages: int | None) -> None:
        try:
            outcome = await self.printer.print_pdf(data, name or "madoguchi")
        except asyncio.CancelledError:
            self.busy = None
            raise
        except Exception:  # a bug must not leave the kiosk "printing" for ever
            log.exception("printing failed")
            outcome_state, reason = "failed", "error"
        else:
            outcome_state, reason = outcome.state, outcome.reason
        self.busy = None
        log.info("print %d: %s %s (%d bytes)", request_id, outcome_state, reason, len(data))
        self._tell(peer, request_id, outcome_state, pages=pages, reason=reason)  # type: ignore[arg-type]
        self._event(outcome_state, name, reason)

    def _event(self, state: str, name: str, reason: str = "") -> None:
        self.last = {"state": state, "name": name, "reason": reason}
        self._emit("printing", dict(self.last))

    def dismiss(self) -> None:
        """The resident closed the result (or the visit was reset): forget it."""
        self.last = None
