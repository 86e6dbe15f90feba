"""The branch's printer: hand a PDF to a CUPS queue and follow the job to its end (no widgets, no Qt).

:meth:`BranchPrinter.print_pdf` checks the queue (Get-Printer-Attributes), submits the PDF as it is (Print-Job,
``document-format`` application/pdf: CUPS's own filters turn it into what the printer takes), then asks for the
job's and the printer's state every ``poll_s`` until the job ends or ``timeout_s`` passes on the injected clock.
What it finds becomes one :class:`PrintOutcome`:

=====================================================  ============  ============================
CUPS says                                              state         reason
=====================================================  ============  ============================
no queue set (MADOGUCHI_KIOSK_PRINTER empty)           no_printer    not-configured
scheduler not reachable                                no_printer    cups-unreachable
queue unknown (client-error-not-found)                 no_printer    not-found
queue disabled (cupsdisable: stopped, ``paused``)      no_printer    paused / stopped
queue rejecting jobs (cupsreject)                      no_printer    not-accepting
printer reason media-empty / media-needed (not         paper_out     the reason keyword
``-warning`` or ``-report``), before or during the job
job completed                                          done          —
job aborted / canceled / stopped (a filter failed),    failed        the job's reason
or completed with errors
still not done at the deadline                         failed        timeout (no_printer, offline,
                                                                     when CUPS says it is offline)
=====================================================  ============  ============================

A job that did not finish is cancelled (Cancel-Job): a consultation's form never comes out of the printer later,
when the resident has gone home. The specialist prints again once the paper is in.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kiosk.services import ipp
from kiosk.services.ipp import IppClient, IppError

log = logging.getLogger("madoguchi.kiosk.printer")
PAPER_REASONS = ("media-empty", "media-needed")
OFFLINE_REASONS = ("offline", "connecting-to-device", "shutdown", "timed-out")
PRINTER_ATTRS = ("printer-state", "printer-state-reasons", "printer-is-accepting-jobs", "printer-state-message")
JOB_ATTRS = ("job-state", "job-state-reasons", "job-impressions-completed")


def default_cups_server() -> str:
    """As CUPS clients choose: CUPS_SERVER, else the scheduler's socket when present, else localhost:631."""
    env = os.environ.get("CUPS_SERVER", "").strip()
    if env:
        return env
    sock = Path("/run/cups/cups.sock")
    return str(sock) if sock.exists() else "localhost:631"


@dataclass(frozen=True)
class PrintOutcome:
    state: str  # done | paper_out | no_printer | failed
    reason: str = ""
    job_id: int | None = None


def _base(reason: str) -> str:
    for suffix in ("-error", "-warning", "-report"):
        if reason.endswith(suffix):
            return reason[: -len(suffix)]
    return reason


def paper_reason(reasons: list[str]) -> str | None:
    """The first paper-out reason (``media-empty-error``, ``media-needed``); warnings and reports do not count."""
    return next((r for r in reasons if _base(r) in PAPER_REASONS and not r.endswith(("-warning", "-report"))),
                None)


def is_offline(reasons: list[str]) -> bool:
    return any(_base(r) in OFFLINE_REASONS for r in reasons)


class BranchPrinter:
    def __init__(self, queue: str | None, server: str | None = None, *, timeout_s: float = 120.0,
                 poll_s: float = 0.5, clock: Callable[[], float] = time.monotonic, user: str | None = None) -> None:
        self.queue = (queue or "").strip() or None
        self.server = server or default_cups_server()
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self.clock = clock
        self.user = user or getpass.getuser()  # the job's owner, as lp would name it

    @property
    def configured(self) -> bool:
        return self.queue is not None

    def _printer_uri(self) -> str:
        return f"ipp://localhost/printers/{self.queue}"

    async def print_pdf(self, data: bytes, title: str) -> PrintOutcome:
        """Print ``data`` (a PDF) as job ``title``; returns how it ended (never raises for a printer problem)."""
        if self.queue is None:
            return PrintOutcome("no_printer", "not-configured")
        client = IppClient(self.server)
        try:
            return await self._print(client, data, title)
        except IppError as exc:
            log.warning("printing failed: %s", exc)
            return PrintOutcome("no_printer", "cups-unreachable")
        finally:
            await client.close()

    async def status(self) -> PrintOutcome | None:
        """The queue's readiness now: None when it would take a job, else why not (as :meth:`print_pdf` says)."""
        if self.queue is None:
            return PrintOutcome("no_printer", "not-configured")
        client = IppClient(self.server)
        try:
            return await self._refusal(client)
        except IppError:
            return PrintOutcome("no_printer", "cups-unreachable")
        finally:
            await client.close()

    async def _printer(self, client: IppClient) -> ipp.IppResponse:
        return await client.request(ipp.GET_PRINTER_ATTRIBUTES, f"/printers/{self.queue}", [
            (ipp.URI, "printer-uri", self._printer_uri()),
            (ipp.KEYWORD, "requested-attributes", PRINTER_ATTRS)])

    async def _refusal(self, client: IppClient) -> PrintOutcome | None:
        resp = await self._printer(client)
        if resp.status == ipp.NOT_FOUND:
            return PrintOutcome("no_printer", "not-found")
        if not resp.ok:
            return PrintOutcome("failed", f"ipp-{resp.status:#06x}")
        attrs = resp.first(ipp.PRINTER)
        reasons = ipp.keywords(attrs, "printer-state-reasons")
        paper = paper_reason(reasons)
        if paper is not None:
            return PrintOutcome("paper_out", paper)
        if ipp.integer(attrs, "printer-state") == ipp.PRINTER_STOPPED:
            return PrintOutcome("no_printer", "paused" if "paused" in reasons else "stopped")
        if attrs.get("printer-is-accepting-jobs") == [False]:
            return PrintOutcome("no_printer", "not-accepting")
        return None

    async def _print(self, client: IppClient, data: bytes, title: str) -> PrintOutcome:
        refused = await self._refusal(client)
        if refused is not None:
            return refused
        resp = await client.request(ipp.PRINT_JOB, f"/printers/{self.queue}", [
            (ipp.URI, "printer-uri", self._printer_uri()),
            (ipp.NAME, "requesting-user-name", self.user),
            (ipp.NAME, "job-name", title[:120] or "madoguchi"),
            (ipp.MIME, "document-format", "application/pdf")], data)
        if resp.status == ipp.NOT_FOUND:
            return PrintOutcome("no_printer", "not-found")
        if resp.status == ipp.NOT_ACCEPTING:
            return PrintOutcome("no_printer", "not-accepting")
        job_id = ipp.integer(resp.first(ipp.JOB), "job-id")
        if not resp.ok or job_id is None:
            return PrintOutcome("failed", f"ipp-{resp.status:#06x}")
        log.info("print job %s on %s: %d bytes", job_id, self.queue, len(data))
        outcome = await self._follow(client, job_id)
        if outcome.state != "done":
            await self._cancel(client, job_id)
        return outcome

    async def _follow(self, client: IppClient, job_id: int) -> PrintOutcome:
        deadline = self.clock() + self.timeout_s
        printer_reasons: list[str] = []
        while True:
            job = await client.request(ipp.GET_JOB_ATTRIBUTES, "/jobs/", [
                (ipp.URI, "job-uri", f"ipp://localhost/jobs/{job_id}"),
                (ipp.NAME, "requesting-user-name", self.user),
                (ipp.KEYWORD, "requested-attributes", JOB_ATTRS)])
            attrs = job.first(ipp.JOB)
            state = ipp.integer(attrs, "job-state")
            job_reasons = ipp.keywords(attrs, "job-state-reasons")
            if state == ipp.JOB_COMPLETED:
                errors = [r for r in job_reasons if "error" in r]
                return PrintOutcome("failed", errors[0], job_id) if errors else PrintOutcome("done", "", job_id)
            if state in (ipp.JOB_CANCELED, ipp.JOB_ABORTED):
                why = next((r for r in job_reasons if r != "none"), "aborted" if state == ipp.JOB_ABORTED
                           else "canceled")
                return PrintOutcome("failed", why, job_id)
            printer = await self._printer(client)
            pattrs = printer.first(ipp.PRINTER)
            printer_reasons = ipp.keywords(pattrs, "printer-state-reasons")
            paper = paper_reason(printer_reasons)
            if paper is not None:
                return PrintOutcome("paper_out", paper, job_id)
            if state == ipp.JOB_STOPPED:  # e.g. a filter failed: CUPS keeps the job, stopped, until someone acts
                why = next((r for r in job_reasons if r != "none"), "stopped")
                return PrintOutcome("no_printer" if is_offline(printer_reasons) else "failed", why, job_id)
            if ipp.integer(pattrs, "printer-state") == ipp.PRINTER_STOPPED and state in (
                    ipp.JOB_PENDING, ipp.JOB_HELD):
                # the queue stopped under the job (the backend gave up, or someone paused it)
                if "paused" in printer_reasons:
                    return PrintOutcome("no_printer", "paused", job_id)
                why = next((r for r in printer_reasons if r != "none"), "stopped")
                return PrintOutcome("no_printer" if is_offline(printer_reasons) else "failed", why, job_id)
            if self.clock() >= deadline:
                if is_offline(printer_reasons):
                    return PrintOutcome("no_printer", "offline", job_id)
                return PrintOutcome("failed", "timeout", job_id)
            await asyncio.sleep(self.poll_s)

    async def _cancel(self, client: IppClient, job_id: int) -> None:
        try:
            await client.request(ipp.CANCEL_JOB, "/jobs/", [
                (ipp.URI, "job-uri", f"ipp://localhost/jobs/{job_id}"),
                (ipp.NAME, "requesting-user-name", self.user)])
        except IppError as exc:
            log.warning("could not cancel print job %s: %s", job_id, exc)
