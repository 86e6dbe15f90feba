"""支所で印刷 (issue 11, item 3) with real parts end to end: a real server, real kiosk and console controllers with
real aiortc peers, and a real CUPS scheduler (tests/cups.py) whose cups-pdf queue writes what it printed as a PDF
that the test reads back page by page. The specialist prints the PDF shown on the kiosk (only a request goes
out) and a PDF not shown (sent to print), then meets an empty tray, a paused queue and no printer at all; the
console hears each result, and each print is recorded with the session (metadata and SHA-256, no content)."""

from __future__ import annotations

import asyncio
import hashlib
import unicodedata
from pathlib import Path
from typing import Any

from sqlalchemy import select

from kiosk.services.pdf_pages import page_count
from server.db.models import AuditEvent
from signaling.observer import wait_for
from tests.cups import Cups, pdf_pages_text
from tests.integration.test_document_camera import in_call
from tests.pdfs import make_pdf
from tests.support import WAIT_S, Env, eventually


def normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def final(d: dict[str, Any]) -> bool:
    return d["state"] in ("done", "paper_out", "no_printer", "failed")


async def prints_recorded(env: Env) -> list[dict[str, Any]]:
    async with env.ctx.maker() as db:
        rows = (await db.execute(select(AuditEvent.subject, AuditEvent.detail)
                                 .where(AuditEvent.action == "print.branch").order_by(AuditEvent.seq))).all()
    return [{"subject": s, **d} for s, d in rows]


async def test_the_specialist_prints_at_the_branch(env: Env, tmp_path: Path, cups: Cups, qapp: Any) -> None:
    kiosk, console = await in_call(env, tmp_path, printer="pdf", cups_server=cups.server)
    kiosk.shared.loader = page_count  # what the kiosk window sets (QtPdf)
    try:
        kiosk_events: list[dict[str, Any]] = []
        kiosk.on("printing", kiosk_events.append)
        console_events: list[dict[str, Any]] = []
        console.on("print", console_events.append)

        # 1. the form shown on the kiosk: 「支所で印刷」 sends only a request
        form = make_pdf(3, "利用申請書")
        shown = asyncio.ensure_future(wait_for(console, "shared_doc", WAIT_S, lambda d: d["state"] == "shown"))
        assert await console.share_pdf(form, "利用申請書")
        await shown
        done = asyncio.ensure_future(wait_for(console, "print", WAIT_S, final))
        first = console.print_shown()
        assert first is not None
        result = await done
        assert result["state"] == "done", (result, cups.log())
        assert [e["state"] for e in console_events if e["request_id"] == first] == ["sending", "printing", "done"]
        assert result["pages"] == 3
        assert [e["state"] for e in kiosk_events] == ["printing", "done"]  # the overlay: 印刷しています → 印刷しました
        pages = [normal(t) for t in pdf_pages_text(cups.printed(1))]
        assert len(pages) == 3
        for n, text in enumerate(pages, start=1):
            assert normal(f"利用申請書（{n} / 3）") in text
        assert normal("申請者の氏名（フリガナ）") in pages[0] and "希望するサービス" in pages[1]

        # 2. a PDF not shown, sent to print (the API 書かない窓口 calls with its confirmed form)
        confirmed = make_pdf(2, "確認書")
        done = asyncio.ensure_future(wait_for(console, "print", WAIT_S, final))
        second = await console.print_at_branch(confirmed, "確認書")
        assert second is not None and second != first
        result = await done
        assert (result["state"], result["pages"], result["request_id"]) == ("done", 2, second)
        pages = [normal(t) for t in pdf_pages_text(cups.printed(2))]
        assert len(pages) == 2 and normal("確認書（2 / 2）") in pages[1]
        assert kiosk.shared.data == form  # the print did not replace what the resident sees

        # 3. the tray is empty: paper out, and the job is cancelled (it never comes out later)
        kiosk.printing.printer.queue = "paperout"
        done = asyncio.ensure_future(wait_for(console, "print", WAIT_S, final))
        await console.print_at_branch(confirmed, "確認書")
        result = await done
        assert (result["state"], result["reason"]) == ("paper_out", "media-empty-error")
        assert kiosk_events[-1] == {"state": "paper_out", "name": "確認書", "reason": "media-empty-error"}

        # 4. a paused queue, a queue that is gone, no printer set: no printer
        for queue, reason in (("paused", "paused"), ("gone", "not-found"), (None, "not-configured")):
            kiosk.printing.printer.queue = queue
            done = asyncio.ensure_future(wait_for(console, "print", WAIT_S, final))
            await console.print_at_branch(confirmed, "確認書")
            result = await done
            assert (result["state"], result["reason"]) == ("no_printer", reason)

        # 5. refused on the console before anything is sent
        assert await console.print_at_branch(b"not a pdf", "x") is None
        assert console_events[-1] == {"request_id": None, "name": "x", "state": "failed", "reason": "not_pdf",
                                      "shown": False}
        console.stop_sharing()  # nothing shown: 「支所で印刷」 of the shown document has nothing to print
        assert console.print_shown() is None
        assert (console_events[-1]["state"], console_events[-1]["reason"]) == ("failed", "no_document")

        # every print that ended is recorded with the session: what, how many pages, its hash, the result
        records = await eventually(lambda: _six(env), what="six prints recorded")
        sid = console.call.session_id
        assert {r["subject"] for r in records} == {f"session:{sid}"}
        # (recorded as each print ends, by requests of their own: their order in the log is not the prints')
        assert sorted(r["result"] for r in records) == ["done", "done", "no_printer", "no_printer", "no_printer",
                                                        "paper_out"]
        shown_record = next(r for r in records if r["name"] == "利用申請書")
        assert shown_record["sha256"] == hashlib.sha256(form).hexdigest() and shown_record["pages"] == 3
        assert shown_record["size"] == len(form) and shown_record["result"] == "done"
        sent = [r for r in records if r["name"] == "確認書"]
        assert len(sent) == 5 and {r["size"] for r in sent} == {len(confirmed)}
        assert {r["sha256"] for r in sent} == {hashlib.sha256(confirmed).hexdigest()}
        assert {r["reason"] for r in sent if r["result"] == "no_printer"} == {"paused", "not-found",
                                                                               "not-configured"}
        assert all("data" not in r and "content" not in r for r in records)
    finally:
        await kiosk.stop()
        await console.stop()


async def _six(env: Env) -> list[dict[str, Any]] | None:
    records = await prints_recorded(env)
    return records if len(records) >= 6 else None
