"""The case number on the console (issue 12 item 2), the real window against a real server: a Bihoro resident
types their case number at the kiosk; the case's last specialist is offered the call with the number shown, opens
the case's history from the offer (name, contact, earlier sessions with the note's category), and the read is
audited. Kitami's specialist asking for the same number is refused."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from server.case_records import open_case
from server.db.models import AuditEvent, Branch, CallSession, Case, Kiosk, Municipality, Note, Service, Staff, Ticket
from signaling.observer import wait_for
from signaling.protocol.messages import TicketCreate
from signaling.protocol.replies import TicketCreated
from tests.console.conftest import scene
from tests.integration.calls import kiosk_controller, staff_controller
from tests.kiosk.helpers import click, shot
from tests.support import WAIT_S, Env, eventually


async def bihoro_case(env: Env) -> str:
    """A Bihoro case opened by takahashi, with one earlier employment session of hers and its note."""
    async with env.ctx.maker() as db, db.begin():
        muni = (await db.execute(select(Municipality).where(Municipality.code == "bihoro"))).scalar_one()
        staff = (await db.execute(select(Staff).where(Staff.username == "takahashi"))).scalar_one()
        branch = (await db.execute(select(Branch).where(Branch.code == "bihoro"))).scalar_one()
        service = (await db.execute(select(Service).where(Service.code == "employment"))).scalar_one()
        then = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)
        case = await open_case(db, muni, staff, then - timedelta(days=30), name="美幌 一郎", contact="0152-73-0000")
        k = Kiosk(branch_id=branch.id, name="earlier", credential_hash="x")
        db.add(k)
        await db.flush()
        t = Ticket(kiosk_id=k.id, branch_id=branch.id, municipality_id=muni.id, service_id=service.id, state="done",
                   arrival_at=then, created_at=then, ended_at=then, case_id=case.id)
        db.add(t)
        await db.flush()
        sess = CallSession(ticket_id=t.id, kiosk_id=k.id, staff_id=staff.id, branch_id=branch.id,
                           municipality_id=muni.id, service_id=service.id, ticket_created_at=then, accepted_at=then,
                           ended_at=then + timedelta(minutes=20), end_reason="resident_hangup", case_id=case.id)
        db.add(sess)
        await db.flush()
        db.add(Note(session_id=sess.id, municipality_id=muni.id, author_id=staff.id, category="就労先の相談",
                    summary="内容"))
        return case.number


@pytest.mark.parametrize("language", ["ja", "en"])
async def test_the_offer_shows_the_case_and_its_history(tmp_path: Path, language: str) -> None:
    async with scene(tmp_path) as (env, windows):
        number = await bihoro_case(env)
        ctl = await staff_controller(env, "takahashi", media_source="none")
        win = windows.open(ctl, language)
        t = win.texts
        assert await ctl.set_available()
        kiosk, _ = await env.kiosk_client("bihoro")
        reply = await kiosk.ask(TicketCreate(service_code="employment", case_number=number[4:]))
        assert isinstance(reply, TicketCreated) and reply.case_found is True
        dialog = win.offer_dialog
        await eventually(lambda: dialog.offer is not None and dialog.isVisible(), what="the offer rings")
        assert dialog.case.isVisible() and dialog.case.text() == t.t("offer.case", number=number)
        click(dialog.case_history)
        case_dialog = win.case_dialog
        await eventually(case_dialog.isVisible, what="the case's history")
        assert case_dialog.heading.text() == t.t("case.heading", number=number)
        assert "美幌 一郎" in case_dialog.person.text() and "0152-73-0000" in case_dialog.person.text()
        table = case_dialog.table
        assert table.rowCount() == 1
        assert [table.item(0, c).text() for c in range(1, 5)] == [
            t.service("employment"), "美幌町役場 窓口", "高橋 美咲", "就労先の相談"]
        await shot(case_dialog, "case_history", language, app="console")
        async with env.ctx.maker() as db:
            reads = (await db.execute(select(AuditEvent).where(AuditEvent.action == "case.read"))).scalars().all()
        assert [r.actor for r in reads] == [f"staff:{ctl.me['id']}"]

        # Kitami's specialist is refused the same number (another municipality's case is not even confirmed)
        other = await staff_controller(env, "sato", media_source="none")
        errors: list[dict] = []  # type: ignore[type-arg]
        other.on("error", errors.append)
        assert await other.cases.read(number) is None
        assert errors and errors[0]["code"] == "case" and "美幌" not in str(errors)


@pytest.mark.parametrize("language", ["ja", "en"])
async def test_the_specialist_opens_links_finds_and_corrects_a_case_in_the_window(tmp_path: Path,
                                                                                 language: str) -> None:
    """During a call the specialist opens a new case for the resident (the call goes under it at once, and the
    number is on screen to tell the resident); a mistyped or unknown number is refused in words; the wrap-up shows
    the case; from the history tab the number (typed without its prefix) opens the case, whose name is corrected.
    Each step is audited; the name and contact never reach the audit."""
    async with scene(tmp_path) as (env, windows):
        ctl = await staff_controller(env, "takahashi", media_source="none")
        win = windows.open(ctl, language)
        t = win.texts
        kiosk = await kiosk_controller(env, tmp_path, "bihoro")
        windows.track(kiosk)
        assert await ctl.set_available()
        started = asyncio.ensure_future(wait_for(ctl, "call_started", WAIT_S))
        kiosk.begin()
        assert await kiosk.request_service("employment", [])
        await eventually(lambda: ctl.offer is not None, what="the offer rings")
        assert await ctl.accept()
        sid = (await started)["session_id"]
        cv = win.call_view
        await eventually(lambda: win.stack.currentWidget() is cv, what="call view")
        box = cv.case_box
        cv.side.setCurrentIndex(1)
        assert box.unlinked.isVisible() and not box.open_btn.isVisible()
        assert box.none_label.text() == t.t("casebox.none") and not box.linked.isVisible()

        for typed, reason in (("abc", "invalid"), ("2026-9999", "not_found")):
            box.number_edit.setText(typed)
            click(box.link_btn)
            await eventually(lambda r=reason: box.problem.isVisible()  # type: ignore[misc]
                             and box.problem.text() == t.t(f"error.case.{r}"), what=f"{typed}: {reason}")
        box.name_edit.setText("美幌 花子")
        box.contact_edit.setText("090-1234-5678")
        await shot(box, "case_box_unlinked", language, app="console")
        linked = asyncio.ensure_future(wait_for(ctl, "case_linked", WAIT_S))
        click(box.new_btn)
        number = str((await linked)["case"]["number"])
        assert number.startswith("BIH-")
        await eventually(lambda: box.number == number and box.open_btn.isVisible(), what="the number on screen")
        assert number in box.linked.text() and not box.problem.isVisible()
        assert ctl.call is not None and ctl.call.case_number == number
        await shot(box, "case_box_linked", language, app="console")
        async with env.ctx.maker() as db:
            sess = await db.get(CallSession, sid)
            case = (await db.execute(select(Case).where(Case.number == number))).scalar_one()
        assert sess is not None and sess.case_id == case.id and case.name == "美幌 花子"

        # the wrap-up keeps the case
        ended = asyncio.ensure_future(wait_for(ctl, "wrapup", WAIT_S))
        assert await ctl.hang_up()
        await ended
        wv = win.wrapup_view
        await eventually(lambda: win.stack.currentWidget() is wv, what="wrap-up shown")
        assert wv.case_box.number == number and number in wv.case_box.linked.text()
        await shot(wv, "wrapup_with_case", language, app="console")

        # the history tab: the number without its prefix opens the case; the name is corrected there
        win.tabs.setCurrentIndex(1)
        hv = win.history_view
        hv.case_number.setText(number[4:])
        click(hv.case_go)
        dialog = win.case_dialog
        await eventually(lambda: dialog.isVisible() and dialog.case is not None
                         and dialog.case["number"] == number, what="the case opened from the history tab")
        assert dialog.table.rowCount() == 1 and "美幌 花子" in dialog.person.text()
        click(dialog.edit_btn)
        assert dialog.editor.isVisible() and dialog.name_edit.text() == "美幌 花子"
        dialog.name_edit.setText("美幌 華子")
        saved = asyncio.ensure_future(wait_for(ctl, "case", WAIT_S, lambda d: bool(d.get("saved"))))
        click(dialog.save_btn)
        await saved
        await eventually(lambda: "美幌 華子" in dialog.person.text() and not dialog.editor.isVisible(),
                         what="the corrected name shown")
        assert win.statusBar().currentMessage() == t.t("case.saved_notice", number=number)
        await shot(dialog, "case_history_edit", language, app="console")
        async with env.ctx.maker() as db:
            case = (await db.execute(select(Case).where(Case.number == number))).scalar_one()
            actions = (await db.execute(select(AuditEvent).where(AuditEvent.action.like("case.%"))
                                        .order_by(AuditEvent.id))).scalars().all()
        assert case.name == "美幌 華子" and case.contact == "090-1234-5678"
        assert [a.action for a in actions] == ["case.create", "case.attach", "case.read", "case.update"]
        assert not any("美幌" in str(a.detail) or "090-1234" in str(a.detail) for a in actions)
