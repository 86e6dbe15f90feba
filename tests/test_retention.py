"""Retention (issue 10, hole 9: notes were kept for ever): each kind of personal record is purged after its period
from the table in the settings, each purge is audited with counts only, the audit log's own purge leaves a chain
that still verifies, and the server runs it daily on its injected clock. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.app import create_app
from server.audit.verify import verify_chain
from server.case_records import open_case
from server.db.base import Base
from server.db.models import (
    Attachment,
    AuditCheckpoint,
    AuditEvent,
    Branch,
    Callback,
    CallSession,
    Case,
    Feedback,
    GuestInvitation,
    Kiosk,
    Municipality,
    Note,
    RefreshToken,
    Staff,
    Ticket,
)
from server.db.seed import seed_demo
from server.db.session import make_engine, make_sessionmaker
from server.history_seed import seed_history
from server.migrate import upgrade_async
from server.queue.clock import ManualClock
from server.queue.states import FINAL
from server.retention.records import NOT_PERSONAL, RECORD_TYPES
from server.retention.run import RetentionConfigError, periods, run_retention
from tests.support import eventually, make_settings, reset_pg, server_env

T0 = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
SHORT = {"note": 60, "feedback": 30, "session": 90, "refresh_token": 30, "audit": 400, "callback": 30}


def test_every_table_is_a_record_type_or_declared_not_personal() -> None:
    by_type = [t for r in RECORD_TYPES.values() for t in r.tables]
    assert len(by_type) == len(set(by_type)) and not set(by_type) & set(NOT_PERSONAL)
    unclassified = set(Base.metadata.tables) - set(by_type) - set(NOT_PERSONAL)
    assert not unclassified, (f"tables {sorted(unclassified)} are neither purged by a record type nor declared "
                              "NOT_PERSONAL in server/retention/records.py: give personal data a retention period")


def test_the_period_table_is_checked(tmp_path: Path) -> None:
    assert [p.record_type for p in periods(SHORT)] == list(RECORD_TYPES)
    for bad, words in (({**SHORT, "notes": 30}, "unknown record types ['notes']"),
                       ({k: v for k, v in SHORT.items() if k != "feedback"}, "no period for ['feedback']"),
                       ({**SHORT, "note": 0}, "at least 1")):
        with pytest.raises(RetentionConfigError, match=words.replace("[", r"\[").replace("]", r"\]")):
            periods(bad)
    with pytest.raises(RetentionConfigError):  # the server refuses to start with a record type left unset
        create_app(make_settings(tmp_path, retention_days={"note": 30}))


async def _counts(maker: async_sessionmaker[AsyncSession], cutoffs: dict[str, datetime]) -> dict[str, Any]:
    async with maker() as db:
        async def n(q: Any) -> int:
            return int((await db.execute(q)).scalar_one())

        return {
            "note_old": await n(select(func.count()).select_from(Note).where(Note.created_at < cutoffs["note"])),
            "note_new": await n(select(func.count()).select_from(Note).where(Note.created_at >= cutoffs["note"])),
            "feedback_old": await n(select(func.count()).select_from(Feedback)
                                    .where(Feedback.created_at < cutoffs["feedback"])),
            "feedback_new": await n(select(func.count()).select_from(Feedback)
                                    .where(Feedback.created_at >= cutoffs["feedback"])),
            "session_old": await n(select(func.count()).select_from(CallSession)
                                   .where(CallSession.ended_at < cutoffs["session"])),
            "session_all": await n(select(func.count()).select_from(CallSession)),
            "ticket_old": await n(select(func.count()).select_from(Ticket).where(
                Ticket.state.in_(FINAL), func.coalesce(Ticket.ended_at, Ticket.created_at) < cutoffs["session"])),
        }


async def test_a_run_purges_what_expired_and_audits_counts_only(tmp_path: Path, backend: str) -> None:
    url = make_settings(tmp_path, backend).database_url
    if backend == "pg":
        await reset_pg(url)
    await upgrade_async(url)
    engine = make_engine(url)
    maker = make_sessionmaker(engine)
    try:
        async with maker() as db, db.begin():
            await seed_demo(db)
        await seed_history(maker, 150, now=T0)
        async with maker() as db, db.begin():  # sign-ins: one expired 40 days ago, one 10 days ago
            for i, expired in enumerate((T0 - timedelta(days=40), T0 - timedelta(days=10))):
                db.add(RefreshToken(token_hash=f"{i:064x}", family=f"f{i}", staff_id=1,
                                    issued_at=expired - timedelta(hours=12), expires_at=expired))
            oldest = (await db.execute(select(CallSession).order_by(CallSession.accepted_at).limit(1))).scalar_one()
            db.add(GuestInvitation(session_id=oldest.id, invited_by_id=oldest.staff_id, role="family",
                                   display_name="家族", token_hash="f" * 64, state="left",
                                   created_at=oldest.accepted_at, expires_at=oldest.accepted_at + timedelta(hours=1)))
            newest = (await db.execute(select(CallSession).order_by(CallSession.accepted_at.desc()).limit(1))
                      ).scalar_one()
            for sess in (oldest, newest):  # document stills kept with the record: the note's period
                db.add(Attachment(session_id=sess.id, municipality_id=sess.municipality_id, author_id=sess.staff_id,
                                  mime="image/jpeg", width=1, height=1, size=1, sha256="0" * 64, data=b"x",
                                  created_at=sess.accepted_at))
        cutoffs = {k: T0 - timedelta(days=v) for k, v in SHORT.items()}
        before = await _counts(maker, cutoffs)
        assert before["note_old"] and before["note_new"] and before["feedback_old"] and before["session_old"]

        counts = await run_retention(maker, SHORT, T0)

        after = await _counts(maker, cutoffs)
        assert (after["note_old"], after["feedback_old"], after["session_old"], after["ticket_old"]) == (0, 0, 0, 0)
        assert (after["note_new"], after["feedback_new"]) == (before["note_new"], before["feedback_new"])
        assert counts["note"] == before["note_old"] and counts["feedback"] == before["feedback_old"]
        assert counts["session"] == before["session_old"] == before["session_all"] - after["session_all"]
        assert counts["ticket"] > 0
        assert counts["audit_event"] == 0  # the seed's audit rows are younger than 400 days
        async with maker() as db:
            rows = (await db.execute(select(AuditEvent).where(AuditEvent.action == "retention.purged")
                                     .order_by(AuditEvent.seq))).scalars().all()
        assert [(r.actor, r.subject) for r in rows] == [("system", "note"), ("system", "feedback"),
                                                        ("system", "session"), ("system", "refresh_token")]
        assert counts["refresh_token"] == 1
        assert rows[0].detail == {"note": counts["note"], "attachment": 1, "form_confirmation": 0,
                                  "before": cutoffs["note"].isoformat(), "days": 60}
        async with maker() as db:
            kept = (await db.execute(select(Attachment.session_id))).scalars().all()
        assert kept == [newest.id]
        assert rows[2].detail == {"session": counts["session"], "ticket": counts["ticket"], "guest_invitation": 1,
                                  "resident_case": 0, "branch_call": 0, "appointment": 0,
                                  "before": cutoffs["session"].isoformat(), "days": 90}

        # nothing more to purge: nothing written
        assert not any((await run_retention(maker, SHORT, T0)).values())
        async with maker() as db:
            assert (await db.execute(select(func.count()).select_from(AuditEvent)
                                     .where(AuditEvent.action == "retention.purged"))).scalar_one() == 4

        # years later everything has expired, the audit log included: a checkpoint, and the chain still verifies
        later = max(T0, datetime.now(UTC)) + timedelta(days=800)  # past the seed's audit rows (wall clock)
        counts = await run_retention(maker, SHORT, later)
        assert counts["audit_event"] > 0 and counts["note"] == before["note_new"]
        async with maker() as db:
            left = {m.__tablename__: (await db.execute(select(func.count()).select_from(m))).scalar_one()
                    for m in (Note, Attachment, Feedback, CallSession, Ticket, RefreshToken, GuestInvitation)}
            cp = (await db.execute(select(AuditCheckpoint))).scalar_one()
            audit_rows = (await db.execute(select(AuditEvent).order_by(AuditEvent.seq))).scalars().all()
        assert left == {"note": 0, "attachment": 0, "feedback": 0, "call_session": 0, "ticket": 0, "refresh_token": 0,
                        "guest_invitation": 0}
        # this run's own rows (at ``later``) stay; its audit purge is the last row
        assert [r.subject for r in audit_rows] == ["note", "feedback", "session", "refresh_token", "audit"]
        assert cp.rows == counts["audit_event"] == audit_rows[-1].detail["audit_event"]
        assert audit_rows[0].prev_hash == cp.hash and all(r.at == later for r in audit_rows)
        async with engine.connect() as conn:
            v = await conn.run_sync(verify_chain, None)
        assert v.ok and v.from_seq == cp.through_seq + 1 and v.rows == 5
    finally:
        await engine.dispose()


async def test_callback_numbers_are_purged_after_their_period(tmp_path: Path, backend: str) -> None:
    """A callback's phone number (issue 12 item 4) goes with its record after ``callback`` days, counted from when
    the task closed, or from when it was asked for if nobody ever closed it; the purge is audited by count."""
    url = make_settings(tmp_path, backend).database_url
    if backend == "pg":
        await reset_pg(url)
    await upgrade_async(url)
    engine = make_engine(url)
    maker = make_sessionmaker(engine)
    try:
        async with maker() as db, db.begin():
            await seed_demo(db)
            branch = (await db.execute(select(Branch).where(Branch.code == "bihoro"))).scalar_one()
            kiosk = Kiosk(branch_id=branch.id, name="k", credential_hash="x")
            db.add(kiosk)
            await db.flush()
            day = timedelta(days=1)
            for phone, created, closed in (("0152000001", T0 - 40 * day, T0 - 35 * day),  # closed 35 days ago
                                           ("0152000002", T0 - 31 * day, None),            # never handled, 31 days
                                           ("0152000003", T0 - 40 * day, T0 - 10 * day),   # retried, closed lately
                                           ("0152000004", T0 - 2 * day, None)):
                db.add(Callback(kiosk_id=kiosk.id, branch_id=branch.id, municipality_id=branch.municipality_id,
                                service_id=1, phone=phone, band_part="am", band_starts_at=created,
                                band_ends_at=created, state="done" if closed else "open", attempts=0, note="",
                                created_at=created, closed_at=closed))
        counts = await run_retention(maker, SHORT, T0)
        assert counts["callback"] == 2
        async with maker() as db:
            left = (await db.execute(select(Callback.phone).order_by(Callback.phone))).scalars().all()
            row = (await db.execute(select(AuditEvent).where(AuditEvent.action == "retention.purged",
                                                             AuditEvent.subject == "callback"))).scalar_one()
        assert left == ["0152000003", "0152000004"]
        assert row.detail == {"callback": 2, "before": (T0 - 30 * day).isoformat(), "days": 30}
        assert "0152" not in str(row.detail)
    finally:
        await engine.dispose()


async def test_the_server_runs_retention_daily_on_its_clock(tmp_path: Path, backend: str) -> None:
    clock = ManualClock(T0)
    settings = make_settings(tmp_path, backend, retention_days=SHORT, retention_run_s=86400.0)
    async with server_env(settings, clock=clock) as env:
        schedule = env.app.state.retention
        await eventually(lambda: schedule.runs >= 1, what="the run at start-up")
        await seed_history(env.ctx.maker, 40, now=T0)  # after that run: all of it is younger than a day there
        assert schedule.next_at == T0 + timedelta(days=1)
        clock.advance(86400 - 1)
        assert await schedule.tick() is None  # not due yet (the server's own loop sees the same)

        async with env.ctx.maker() as db:
            notes = (await db.execute(select(func.count()).select_from(Note)
                                      .where(Note.created_at < T0 + timedelta(days=1) - timedelta(days=60)))
                     ).scalar_one()
        assert notes > 0
        clock.advance(1)  # a day after the first run: the server's loop runs it
        await eventually(lambda: schedule.runs >= 2, what="the daily run")
        async with env.ctx.maker() as db:
            purged = (await db.execute(select(AuditEvent.detail).where(
                AuditEvent.action == "retention.purged", AuditEvent.subject == "note"))).scalars().all()
            left = (await db.execute(select(func.count()).select_from(Note).where(
                Note.created_at < T0 + timedelta(days=1) - timedelta(days=60)))).scalar_one()
        assert [d["note"] for d in purged] == [notes] and left == 0
        assert schedule.next_at == T0 + timedelta(days=2)


async def test_a_case_goes_with_the_sessions_period_once_none_of_its_sessions_is_left(tmp_path: Path,
                                                                                      backend: str) -> None:
    """A case's number, name and contact (issue 12 item 2) follow the record type ``session``: a case older than
    the period goes when it has no session or ticket left; a case with a session still kept stays."""
    url = make_settings(tmp_path, backend).database_url
    if backend == "pg":
        await reset_pg(url)
    await upgrade_async(url)
    engine = make_engine(url)
    maker = make_sessionmaker(engine)
    day = timedelta(days=1)
    try:
        async with maker() as db, db.begin():
            await seed_demo(db)
            muni = (await db.execute(select(Municipality).where(Municipality.code == "kitami"))).scalar_one()
            sato = (await db.execute(select(Staff).where(Staff.username == "sato"))).scalar_one()
            branch = (await db.execute(select(Branch).where(Branch.code == "kitami-tokoro"))).scalar_one()
            kiosk = Kiosk(branch_id=branch.id, name="k", credential_hash="x")
            db.add(kiosk)
            await db.flush()
            numbers = {}
            for label, opened, last_call in (("old, old call", T0 - 400 * day, T0 - 100 * day),
                                             ("old, recent call", T0 - 400 * day, T0 - 10 * day),
                                             ("old, never called", T0 - 100 * day, None),
                                             ("new", T0 - 5 * day, None)):
                case = await open_case(db, muni, sato, opened, name="山田 太郎", contact="0152-72-1111")
                numbers[label] = case.number
                if last_call is not None:
                    t = Ticket(kiosk_id=kiosk.id, branch_id=branch.id, municipality_id=muni.id, service_id=1,
                               state="done", arrival_at=last_call, created_at=last_call, ended_at=last_call,
                               case_id=case.id)
                    db.add(t)
                    await db.flush()
                    db.add(CallSession(ticket_id=t.id, kiosk_id=kiosk.id, staff_id=sato.id, branch_id=branch.id,
                                       municipality_id=muni.id, service_id=1, ticket_created_at=last_call,
                                       accepted_at=last_call, ended_at=last_call, case_id=case.id))
        counts = await run_retention(maker, SHORT, T0)
        assert counts["resident_case"] == 2 and counts["session"] == 1
        async with maker() as db:
            left = (await db.execute(select(Case.number).order_by(Case.id))).scalars().all()
            row = (await db.execute(select(AuditEvent).where(AuditEvent.action == "retention.purged",
                                                             AuditEvent.subject == "session"))).scalar_one()
        assert left == [numbers["old, recent call"], numbers["new"]]
        assert row.detail["resident_case"] == 2 and "山田" not in str(row.detail)
    finally:
        await engine.dispose()
