"""書かない窓口 on the console (issue 11 item 4), the real window against a real server, in a call with a real
kiosk controller: the call's 確認票 tab offers the service's form; a wrong date is explained beside the field and
nothing is sent; 「確認をお願いする」 shows it on the kiosk; the resident's 「ここがちがう」 comes back beside the
item; the corrected form is confirmed; the confirmed form is an A4 PDF with the content, the hash, the time and
the kiosk (read with pdftotext). Japanese and English, with screenshots."""

from __future__ import annotations

import asyncio
import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import select

from server.db.models import AuditEvent
from signaling.protocol.forms import content_hash
from tests.console.conftest import scene
from tests.integration.calls import kiosk_controller, staff_controller
from tests.kiosk.helpers import click, shot
from tests.support import eventually


async def pdf_text(data: bytes, tmp: Path) -> str:
    """What pdftotext reads from the PDF, NFKC-folded (Qt maps a few kanji of Noto CJK to their radicals'
    code points, e.g. 日 → U+2F47; they fold back)."""
    path = tmp / "form.pdf"
    path.write_bytes(data)
    proc = await asyncio.create_subprocess_exec("pdftotext", "-layout", str(path), "-", stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    return unicodedata.normalize("NFKC", out.decode("utf-8"))


def fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split())


async def pdf_pages(data: bytes, tmp: Path) -> str:
    path = tmp / "info.pdf"
    path.write_bytes(data)
    proc = await asyncio.create_subprocess_exec("pdfinfo", str(path), stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    return out.decode()


@pytest.mark.parametrize("language", ["ja", "en"])
async def test_fill_ask_correct_confirm_and_the_pdf(tmp_path: Path, language: str) -> None:
    async with scene(tmp_path) as (env, windows):
        ctl = await staff_controller(env, "takahashi", media_source="none")   # Bihoro, employment
        win = windows.open(ctl, language)
        t = win.texts.t
        # the resident speaks the language of the test too: the PDF is in the resident's language
        kiosk = await kiosk_controller(env, tmp_path, "bihoro", media_source="none", language=language)
        windows.track(kiosk)
        assert await ctl.set_available()
        assert await kiosk.request_service("employment")
        await eventually(lambda: ctl.offer is not None, what="the offer")
        assert await ctl.accept()
        await eventually(lambda: ctl.call is not None and kiosk.visit.session_id is not None, what="in the call")
        cv = win.call_view
        panel = cv.form_panel
        await eventually(lambda: panel.editors, what="the service's form in the 確認票 tab")
        cv.side.setCurrentWidget(panel)
        assert cv.side.tabText(cv.side.currentIndex()) == t("forms.tab")
        ed = panel.editors
        assert list(ed) == ["topic", "hours", "details", "documents", "next_date", "contact"]
        assert panel.labels["topic"].text().endswith("*")   # required
        assert ed["next_date"].line is not None and ed["topic"].combo is not None and ed["details"].text is not None
        ed["topic"].combo.setCurrentIndex(ed["topic"].combo.findData("job_search"))
        ed["hours"].line.setText("２０")   # full-width digits are fine   # type: ignore[union-attr]
        ed["details"].text.setPlainText("週3日、午前中の仕事を希望")
        for key in ("resume", "hellowork"):
            ed["documents"].boxes[key].setChecked(True)
        ed["next_date"].line.setText("12/14")
        ed["contact"].line.setText("0152-72-1111")   # type: ignore[union-attr]
        entry = ctl.forms.entries["employment_consult"]

        click(panel.send_btn)   # the date is not a date: said beside it, nothing sent
        await eventually(lambda: entry.state == "invalid")
        assert ed["next_date"].problem.isVisible() and ed["next_date"].problem.text() == t("forms.problem.not_a_date")
        assert panel.status.text() == t("forms.state.invalid") and kiosk.forms.show is None

        ed["next_date"].line.setText("2026-12-14")
        click(panel.send_btn)
        await eventually(lambda: entry.state == "waiting" and kiosk.forms.show is not None, what="on the kiosk")
        assert not ed["next_date"].problem.isVisible() and panel.status.text() == t("forms.state.waiting")
        show = kiosk.forms.show
        assert show is not None and show.content_hash == entry.content_hash
        assert {f.key: f.shown_ja for f in show.content.fields}["hours"] == "20時間"
        assert ctl.forms.language == language
        await shot(win, "form_waiting", language, app="console")

        # the resident: 「ここがちがう」 on the date
        assert await kiosk.forms.answer(False, ["next_date"]) == "change_sent"
        await eventually(lambda: entry.state == "change_requested", what="the resident's request")
        label = panel.labels["next_date"].text()
        assert ed["next_date"].problem.isVisible() and ed["next_date"].problem.text() == t("forms.marked")
        sep = "、" if language == "ja" else ", "
        assert panel.status.text() == t("forms.state.change_fields", fields=sep.join([label]))
        assert not ed["hours"].problem.isVisible() and not panel.print_btn.isVisible()
        await shot(win, "form_change_requested", language, app="console")

        ed["next_date"].line.setText("2026-12-21")
        assert panel.status.text() == t("forms.state.edited")   # what the kiosk shows is not this any more
        assert panel.send_btn.text() == t("forms.resend")
        click(panel.send_btn)
        await eventually(lambda: entry.state == "waiting" and entry.revision == 2)
        await eventually(lambda: kiosk.forms.show is not None and kiosk.forms.show.revision == 2)
        assert await kiosk.forms.answer(True) == "confirmed"
        await eventually(lambda: entry.state == "confirmed", what="the confirmation")
        assert entry.kiosk_id == kiosk.credential.kiosk_id and entry.answered_at is not None
        assert panel.print_btn.isVisible() and panel.save_btn.isVisible()
        assert panel.status.text().startswith(t("forms.state.confirmed", time="", kiosk="")[:6])
        await shot(win, "form_confirmed", language, app="console")

        # the PDF is made from what the server stored, and says what, when, where and the hash
        record = await ctl.forms.record("employment_consult")
        assert record is not None and record["content_hash"] == content_hash(record["content"]) == entry.content_hash
        data = await ctl.forms.pdf("employment_consult")
        assert data is not None and data.startswith(b"%PDF")
        assert "Page size:       595 x 842 pts (A4)" in await pdf_pages(data, tmp_path)
        text = await pdf_text(data, tmp_path)
        words = fold(text)
        en = language == "en"
        for f in record["content"]["fields"]:
            assert fold(f["label_en"] if en else f["label_ja"]) in words, f["key"]
            assert fold(f["shown_en"] if en else f["shown_ja"]) in words, f["key"]
        assert ("Mon 21 Dec 2026" if en else "2026年12月21日(月)") in words
        assert record["content_hash"] in words
        assert record["kiosk_name"] and f"{record['kiosk_name']}" in words and str(record["kiosk_id"]) in words
        assert fold(record["branch_en"] if en else record["branch_ja"]) in words
        assert fold(t("pdf.confirmed_at")) in words and ("(JST)" if en else "(日本時間)") in words
        saved = tmp_path / "saved.pdf"
        assert await ctl.forms.save_pdf("employment_consult", str(saved))
        assert saved.read_bytes().startswith(b"%PDF")

        # afterwards, the history shows the confirmed form under the session's record (the read is audited)
        sid = ctl.call.session_id  # type: ignore[union-attr]
        assert await ctl.hang_up()
        await eventually(lambda: ctl.wrapup is not None, what="wrap-up")
        assert await ctl.save_note("就労の相談", "週3日")
        assert await ctl.finish_wrapup()
        win.tabs.setCurrentIndex(1)
        hv = win.history_view
        await eventually(lambda: hv.model.rowCount() > 0, what="the history")
        await eventually(lambda: hv.shown_session == sid and hv.forms, what="the session's forms read")
        detail = hv.detail.toPlainText()
        assert t("history.form_state.confirmed") in detail
        for f in record["content"]["fields"]:
            assert (f["shown_en"] if en else f["shown_ja"]).split("\n")[0] in detail, f["key"]
        assert record["content_hash"][:16] in detail
        await shot(win, "history_form", language, app="console")
        async with env.ctx.maker() as db:
            reads = (await db.execute(select(AuditEvent).where(AuditEvent.action == "form.read"))).scalars().all()
        assert reads and all(r.actor == f"staff:{ctl.me['id']}" for r in reads)
