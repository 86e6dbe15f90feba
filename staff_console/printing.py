"""支所で印刷 — the specialist prints a PDF on the printer at the resident's branch (issue 11, item 3).

No widgets: the :class:`~staff_console.controller.StaffController` owns one :class:`PrintDesk`, hands it the
call's mesh and session, and the kiosk's answers. The PDF travels as the shown document does (a blob on the data
channel, size and SHA-256 checked, docs/protocol.md §15), so there is one transfer for both:

- :meth:`PrintDesk.print_pdf` sends a PDF to print without showing it (a blob of purpose ``print``; e.g. the
  confirmed form of 書かない窓口);
- :meth:`PrintDesk.print_shown` prints the PDF shown on the kiosk (``print.request`` naming its transfer:
  nothing is sent again).

The kiosk answers ``print.status``: ``printing``, then ``done``, ``paper_out``, ``no_printer`` or ``failed``.
Each print that ends is recorded with the session (``POST /api/sessions/{id}/prints``: the document's title,
page count, size and SHA-256, the result; never the content), audited by the server.

Events (through the controller's emitter): ``print`` with ``request_id``, ``name``, ``shown`` (the PDF shown on
the kiosk was printed, :meth:`PrintDesk.print_shown`) and ``state``: ``sending``,
``printing`` (``pages``), ``done``, ``paper_out``, ``no_printer``, ``failed`` (``reason``); a print refused here
before anything is sent: ``failed`` with ``reason`` too_large, not_pdf, not_connected.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from signaling.call import CallMesh
from signaling.media import CallError
from signaling.protocol.channel import (
    MAX_DOCUMENT_BYTES,
    PRINT_FINAL_STATES,
    BlobBegin,
    ChannelMessage,
    DocError,
    PrintRequest,
    PrintStatus,
)
from signaling.transfer import sha256_hex

log = logging.getLogger("madoguchi.console.printing")
Record = Callable[[int, dict[str, Any]], Awaitable[None]]  # (session id, what to record)


@dataclass
class PrintJob:
    request_id: int
    name: str
    size: int
    sha256: str
    transfer_id: int | None  # a blob sent for it (None: the shown document was printed)
    pages: int | None = None
    state: str = "sending"
    reason: str = ""

    @property
    def final(self) -> bool:
        return self.state in PRINT_FINAL_STATES


class PrintDesk:
    def __init__(self, emit: Callable[[str, dict[str, Any]], None], record: Record,
                 spawn: Callable[[Awaitable[Any]], None], transfer_ids: itertools.count[int]) -> None:
        self._emit = emit
        self._record = record
        self._spawn = spawn
        self._transfer_ids = transfer_ids  # shared with the shown documents': one id space per link
        self.mesh: CallMesh | None = None
        self.session_id: int | None = None
        self.jobs: dict[int, PrintJob] = {}
        self._ids = itertools.count(1)

    def attach(self, mesh: CallMesh | None, session_id: int | None) -> None:
        """A new call (or none). Prints not answered by the end of a call are recorded as unknown."""
        for job in self.jobs.values():
            if not job.final:
                self._finish(job, "failed", "call-ended")
        self.mesh, self.session_id, self.jobs = mesh, session_id, {}

    def _refuse(self, name: str, reason: str) -> None:
        self._emit("print", {"request_id": None, "name": name, "state": "failed", "reason": reason, "shown": False})

    async def print_pdf(self, data: bytes, title: str) -> int | None:
        """Send ``data`` (a PDF) to the branch's printer; its request id (the ``print`` events name it), or None
        when refused here (a ``print`` event ``failed`` says why)."""
        name = title[:120]
        if len(data) > MAX_DOCUMENT_BYTES:
            self._refuse(name, "too_large")
            return None
        if not data.startswith(b"%PDF-"):
            self._refuse(name, "not_pdf")
            return None
        mesh = self.mesh
        if mesh is None or mesh.primary is None:
            self._refuse(name, "not_connected")
            return None
        request_id, transfer_id = next(self._ids), next(self._transfer_ids)
        digest = sha256_hex(data)
        job = self.jobs[request_id] = PrintJob(request_id, name, len(data), digest, transfer_id)
        self._event(job)
        begin = BlobBegin(transfer_id=transfer_id, purpose="print", mime="application/pdf", size=len(data),
                          sha256=digest, request_id=request_id, name=name or None)
        try:
            await mesh.send_blob(mesh.primary, begin, data)
        except CallError:
            self._finish(job, "failed", "not_connected")
            return None
        return request_id

    def print_shown(self, transfer_id: int, data: bytes, name: str, pages: int) -> int | None:
        """Print the PDF shown on the kiosk (sent as ``transfer_id``): only a request goes out."""
        mesh = self.mesh
        if mesh is None or mesh.primary is None:
            self._refuse(name, "not_connected")
            return None
        request_id = next(self._ids)
        job = self.jobs[request_id] = PrintJob(request_id, name[:120], len(data), sha256_hex(data), None, pages)
        if not mesh.send_message(mesh.primary, PrintRequest(request_id=request_id, transfer_id=transfer_id)):
            self._finish(job, "failed", "not_connected")
            return None
        self._event(job)
        return request_id

    def on_message(self, peer: str, msg: ChannelMessage) -> None:
        if self.mesh is None or peer != self.mesh.primary:
            return
        if isinstance(msg, PrintStatus):
            job = self.jobs.get(msg.request_id)
            if job is None or job.final:
                return
            job.pages = msg.pages or job.pages
            if msg.state in PRINT_FINAL_STATES:
                self._finish(job, msg.state, msg.reason or "")
            else:
                job.state = msg.state
                self._event(job)
        elif isinstance(msg, DocError) and msg.code == "transfer_failed":
            # the kiosk could not take a blob whole: the print whose blob was on its way failed
            for job in self.jobs.values():
                if not job.final and job.state == "sending" and job.transfer_id is not None \
                        and msg.transfer_id in (None, job.transfer_id):
                    self._finish(job, "failed", "transfer_failed")

    def _finish(self, job: PrintJob, state: str, reason: str) -> None:
        job.state, job.reason = state, reason
        self._event(job)
        log.info("print %d at the branch: %s %s", job.request_id, state, reason)
        if self.session_id is not None:
            record = {"name": job.name, "pages": job.pages, "size": job.size, "sha256": job.sha256,
                      "result": state, "reason": reason or None}
            self._spawn(self._record(self.session_id, record))

    def _event(self, job: PrintJob) -> None:
        self._emit("print", {"request_id": job.request_id, "name": job.name, "state": job.state,
                             "pages": job.pages, "reason": job.reason, "shown": job.transfer_id is None})
