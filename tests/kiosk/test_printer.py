"""The kiosk's printing service against a real CUPS scheduler (tests/cups.py): a 3-page Japanese PDF printed on
a cups-pdf queue comes out as 3 pages with the same text; an empty tray, a paused queue, a queue that does not
exist, no queue set and a scheduler that is not there each come back as what they are; a print that does not end
by the deadline (on the injected clock) is cancelled."""

from __future__ import annotations

import asyncio
import unicodedata
from typing import Any

from kiosk.services import ipp
from kiosk.services.health import printer_device
from kiosk.services.printer import BranchPrinter, PrintOutcome, paper_reason
from kiosk.settings import KioskSettings
from tests.cups import Cups, pdf_pages_text
from tests.pdfs import make_pdf
from tests.server_process import free_port
from tests.support import ManualClock, eventually


def normal(text: str) -> str:
    """pdftotext gives the CJK compatibility radicals some fonts map 用, 氏 and 生 to: compare as NFKC (which
    also makes full-width brackets and colons ASCII)."""
    return unicodedata.normalize("NFKC", text)


async def test_a_pdf_prints_page_by_page_with_its_japanese_text(cups: Cups, qapp: Any) -> None:
    printer = BranchPrinter("pdf", cups.server)
    outcome = await printer.print_pdf(make_pdf(3, "利用申請書"), "利用申請書")
    assert outcome.state == "done", (outcome, cups.log())
    assert outcome.job_id is not None
    pages = [normal(t) for t in pdf_pages_text(cups.printed(outcome.job_id))]
    assert len(pages) == 3
    for n, text in enumerate(pages, start=1):
        assert normal(f"利用申請書（{n} / 3）") in text
    assert normal("申請者の氏名（フリガナ）") in pages[0]
    assert "希望するサービス" in pages[1]
    assert normal("同意事項：記載内容に相違ありません。") in pages[2]
    assert await printer.status() is None  # ready for the next one


async def test_an_empty_tray_is_paper_out_and_the_job_is_cancelled(cups: Cups, qapp: Any) -> None:
    printer = BranchPrinter("paperout", cups.socket)  # the scheduler's socket works as well as its port
    outcome = await printer.print_pdf(make_pdf(2), "申請書")
    assert outcome == PrintOutcome("paper_out", "media-empty-error", outcome.job_id)
    assert outcome.job_id is not None
    client = ipp.IppClient(cups.socket)
    try:
        job = await client.request(ipp.GET_JOB_ATTRIBUTES, "/jobs/", [
            (ipp.URI, "job-uri", f"ipp://localhost/jobs/{outcome.job_id}"),
            (ipp.KEYWORD, "requested-attributes", ("job-state",))])
    finally:
        await client.close()
    assert ipp.integer(job.first(ipp.JOB), "job-state") == ipp.JOB_CANCELED  # never comes out later
    # the tray is still empty: the next print is refused before it is sent
    again = await printer.print_pdf(make_pdf(1), "申請書")
    assert again == PrintOutcome("paper_out", "media-empty-error", None)


async def test_a_missing_or_stopped_printer_is_no_printer(cups: Cups, qapp: Any) -> None:
    pdf = make_pdf(1)
    assert await BranchPrinter("paused", cups.server).print_pdf(pdf, "x") == PrintOutcome("no_printer", "paused")
    assert await BranchPrinter("nosuch", cups.server).print_pdf(pdf, "x") == PrintOutcome("no_printer", "not-found")
    assert await BranchPrinter(None, cups.server).print_pdf(pdf, "x") == PrintOutcome("no_printer", "not-configured")
    cups.admin("cupsreject", "pdf")
    assert await BranchPrinter("pdf", cups.server).print_pdf(pdf, "x") == PrintOutcome("no_printer",
                                                                                      "not-accepting")
    unreachable = BranchPrinter("pdf", f"127.0.0.1:{free_port()}")  # nothing listens there
    assert await unreachable.print_pdf(pdf, "x") == PrintOutcome("no_printer", "cups-unreachable")
    assert await unreachable.status() == PrintOutcome("no_printer", "cups-unreachable")


async def test_a_print_that_does_not_end_in_time_is_cancelled(cups: Cups, qapp: Any) -> None:
    clock = ManualClock()
    printer = BranchPrinter("held", cups.server, timeout_s=120, poll_s=0.05, clock=clock)
    task = asyncio.ensure_future(printer.print_pdf(make_pdf(1), "申請書"))
    client = ipp.IppClient(cups.socket)
    try:
        async def job_state() -> int | None:
            job = await client.request(ipp.GET_JOB_ATTRIBUTES, "/jobs/", [
                (ipp.URI, "job-uri", "ipp://localhost/jobs/1"),
                (ipp.KEYWORD, "requested-attributes", ("job-state",))])
            return ipp.integer(job.first(ipp.JOB), "job-state")

        await eventually(lambda: job_state(), what="the job handed to the printer")  # the printer holds it
        assert not task.done()
        clock.advance(119)
        assert not task.done()
        clock.advance(1)  # the kiosk's deadline on its own clock: no waiting here
        assert await task == PrintOutcome("failed", "timeout", 1)
        assert await job_state() == ipp.JOB_CANCELED  # it never comes out later
    finally:
        await client.close()


def test_paper_reasons() -> None:
    assert BranchPrinter(" ", "x").queue is None  # a blank setting is no printer
    assert paper_reason(["none"]) is None
    assert paper_reason(["media-empty-warning"]) is None  # another tray still has paper
    assert paper_reason(["media-low-report", "media-needed"]) == "media-needed"
    assert paper_reason(["paused", "media-empty-error"]) == "media-empty-error"


def test_ipp_round_trip_of_a_set_and_additional_values() -> None:
    body = ipp.encode(ipp.GET_JOB_ATTRIBUTES, 7, [(ipp.KEYWORD, "requested-attributes", ("a", "b"))])
    # a response is a request's shape with a status code: decode what we encode
    resp = ipp.decode(body[:2] + b"\x00\x00" + body[4:])
    attrs = resp.first(ipp.OPERATION)
    assert resp.ok and attrs["requested-attributes"] == ["a", "b"]
    assert attrs["attributes-charset"] == ["utf-8"]


def test_ipp_refuses_a_cut_response() -> None:
    body = ipp.encode(ipp.PRINT_JOB, 1, [(ipp.NAME, "job-name", "利用申請書")])
    try:
        ipp.decode(body[:-8])
    except ipp.IppError:
        pass
    else:
        raise AssertionError("a cut response was accepted")


async def test_the_health_report_reads_the_same_scheduler(cups: Cups, qapp: Any, tmp_path: Any) -> None:
    """kiosk.health's printer (lpstat) asks the scheduler the kiosk prints on (MADOGUCHI_KIOSK_CUPS_SERVER)."""
    def settings(queue: str) -> KioskSettings:
        return KioskSettings(printer=queue, cups_server=cups.socket, credential_file=tmp_path / "k.json")

    assert (await printer_device(settings("pdf"))).state == "ok"
    assert (await printer_device(settings("paused"))).state == "offline"
    assert (await printer_device(settings("gone"))).state == "missing"
    await BranchPrinter("paperout", cups.socket).print_pdf(make_pdf(1), "x")
    assert (await printer_device(settings("paperout"))).state == "paper_out"
