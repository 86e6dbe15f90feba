"""Case records (issue 12 item 2): issuing numbers, finding a case by what a resident or specialist typed, and
the case's last specialist. Database reads and writes only; who may see what is decided by the callers
(server/api/routes/cases.py for staff, server/queue/tickets.py for a kiosk's ticket).

A number is issued as ``PREFIX-YEAR-SERIAL``: the municipality's prefix, the year in Japan of ``now`` and the
next serial of that municipality and year (the unique constraints catch two issuers racing; the caller's
transaction then fails and is retried by the client)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import CallSession, Case, Municipality, Staff
from signaling.protocol.case_number import format_case_number, parse_case_number, prefix_of
from signaling.protocol.models import JST


async def open_case(db: AsyncSession, municipality: Municipality, by: Staff, now: datetime,
                    name: str = "", contact: str = "") -> Case:
    year = now.astimezone(JST).year
    last = (await db.execute(select(func.max(Case.serial)).where(
        Case.municipality_id == municipality.id, Case.year == year))).scalar_one_or_none()
    serial = (last or 0) + 1
    case = Case(municipality_id=municipality.id, year=year, serial=serial,
                number=format_case_number(prefix_of(municipality.code), year, serial),
                name=name, contact=contact, created_at=now, created_by_id=by.id)
    db.add(case)
    await db.flush()
    return case


async def find_case(db: AsyncSession, municipality: Municipality, typed: str) -> Case | None:
    """The case of ``municipality`` that ``typed`` names (with or without the prefix), or None: a malformed
    number, another municipality's prefix and an unknown number are all simply not found."""
    try:
        prefix, year, serial = parse_case_number(typed)
    except ValueError:
        return None
    if prefix is not None and prefix != prefix_of(municipality.code):
        return None
    return (await db.execute(select(Case).where(
        Case.municipality_id == municipality.id, Case.year == year, Case.serial == serial))).scalar_one_or_none()


async def last_specialist(db: AsyncSession, case_id: int) -> int | None:
    """The specialist of the case's most recent session, if any."""
    return (await db.execute(select(CallSession.staff_id).where(CallSession.case_id == case_id)
                             .order_by(CallSession.accepted_at.desc(), CallSession.id.desc()).limit(1))
            ).scalar_one_or_none()


async def case_sessions(db: AsyncSession, case_id: int) -> list[CallSession]:
    """The case's sessions, oldest first (its history)."""
    return list((await db.execute(select(CallSession).where(CallSession.case_id == case_id)
                                  .order_by(CallSession.accepted_at, CallSession.id))).scalars().unique().all())
