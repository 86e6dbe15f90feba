"""書かない窓口's 「支所で印刷」 (issue 11 items 4 and 3) with real parts end to end: a real server, real kiosk and
console controllers with real aiortc peers, and a real CUPS scheduler whose cups-pdf queue writes what it printed.
The resident confirms the form; the console renders the stored record to A4 (Qt's PDF writer) and prints it on the
branch's printer through the printing path; the page that came out is read back: every item and what was written,
the time, the branch and kiosk, the content hash."""

from __future__ import annotations

import asyncio
import unicodedata
from pathlib import Path
from typing import Any

from signaling.observer import wait_for
from staff_console.services.form_pdf import render_form_pdf
from tests.cups import Cups, pdf_pages_text
from tests.integration.test_document_camera import in_call
from tests.support import WAIT_S, Env, eventually

FILLED = {"topic": "workplace", "details": "上司との面談のすすめ方", "documents": ["doctor"],
          "next_date": "2026-12-21", "contact": "090-1234-5678"}


def fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split())


async def test_the_confirmed_form_comes_out_of_the_branchs_printer(env: Env, tmp_path: Path, cups: Cups,
                                                                   qapp: Any) -> None:
    kiosk, console = await in_call(env, tmp_path, printer="pdf", cups_server=cups.server)
    console.forms.render_pdf = render_form_pdf  # what the console window sets
    try:
        await eventually(lambda: console.forms.forms, what="the forms of the call's service")
        entry = console.forms.entries["employment_consult"]
        assert await console.forms.print_confirmed("employment_consult") is False   # nothing confirmed yet
        assert await console.forms.send("employment_consult", FILLED)
        await eventually(lambda: kiosk.forms.show is not None, what="the form on the kiosk")
        assert await kiosk.forms.answer(True) == "confirmed"
        await eventually(lambda: entry.state == "confirmed", what="the confirmation")

        outcome = asyncio.ensure_future(wait_for(console, "form_pdf", WAIT_S,
                                                 lambda d: d["state"] in ("printed", "error")))
        assert await console.forms.print_confirmed("employment_consult")
        result = await outcome
        assert result["state"] == "printed", (result, cups.log())
        (page,) = [fold(t) for t in pdf_pages_text(cups.printed(1))]
        record = await console.forms.record("employment_consult")
        assert record is not None
        for f in record["content"]["fields"]:
            assert fold(f["label_ja"]) in page and fold(f["shown_ja"]) in page, f["key"]
        assert record["content_hash"] in page and fold("2026年12月21日（月）") in page
        assert fold(record["branch_ja"]) in page and record["kiosk_name"] in page
        assert fold("（日本時間）") in page
    finally:
        await kiosk.stop()
        await console.stop()
