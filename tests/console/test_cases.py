"""The case number on the console (issue 12 item 2), the real window against a real server: a Bihoro resident
types their case number at the kiosk; the case's last specialist is offered the call with the number shown, opens
the case's history from the offer (name, contact, earlier sessions with the note's category), and the read is
audited. Kitami's specialist asking for the same number is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from server.case_records import open_case
from server.db.models import AuditEvent, Branch, CallSession, Kiosk, Municipality, Note, Service, Staff, Ticket
from signaling.protocol.messages import TicketCreate
from signaling.protocol.replies import TicketCreated
from tests.console.conftest import scene
from tests.integration.calls import staff_controller
from tests.kiosk.helpers import click, shot
from tests.support import Env, eventually


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
