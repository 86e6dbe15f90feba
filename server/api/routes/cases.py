"""Cases (issue 12 item 2): a resident's continuing matter in one municipality. Only specialists and supervisors
of the case's municipality open, read, change or attach to it: everyone else — another municipality's staff
(even of the shared pool), IT monitors, admins, partners, guests, kiosks — is refused (403 by role, 404 for
another municipality: its numbers are not even confirmed). The name and contact are personal data: each read of
them is audited (``case.read``) as a note's read is; the audit holds ids, never the name or contact.

A number may be given with or without the prefix (``KIT-2026-0042`` or ``2026-0042``): without it, the reader's
own municipality is meant. The history lists the case's sessions, oldest first: when, which service, which
branch, which specialist, and the category of the note (the note itself is read by its own route)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from server.api.deps import DB, require_roles
from server.api.routes.sessions import may_read_note
from server.case_records import case_sessions, find_case, open_case
from server.db.audit import audit
from server.db.base import utcnow
from server.db.models import CallSession, Case, Note, Staff

router = APIRouter(prefix="/api/cases", tags=["cases"])
CaseStaff = Annotated[Staff, Depends(require_roles("specialist", "supervisor"))]
Number = Annotated[str, Path(min_length=1, max_length=24)]


class CaseIn(BaseModel):
    name: Annotated[str, Field(max_length=64)] = ""
    contact: Annotated[str, Field(max_length=128)] = ""


class CaseVisit(BaseModel):
    session_id: int
    accepted_at: datetime
    ended_at: datetime | None
    service_code: str
    branch: str
    staff_id: int
    staff_name: str
    note_category: str | None  # None: no note (yet)


class CaseOut(CaseIn):
    number: str
    created_at: datetime
    created_by: str
    history: list[CaseVisit] = Field(default_factory=list)


class AttachIn(BaseModel):
    session_id: int = Field(ge=1, lt=2**63)


async def _case(db: DB, staff: Staff, number: str, lock: bool = False) -> Case:
    case = await find_case(db, staff.municipality, number)
    if case is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such case in your municipality")
    if lock:
        await db.refresh(case, with_for_update=True)
    return case


async def _out(db: DB, staff: Staff, case: Case) -> CaseOut:
    sessions = await case_sessions(db, case.id)
    notes = {n.session_id: n for n in (await db.execute(
        select(Note).where(Note.session_id.in_([s.id for s in sessions])))).scalars().all()}
    creator = await db.get(Staff, case.created_by_id)
    return CaseOut(
        number=case.number, name=case.name, contact=case.contact, created_at=case.created_at,
        created_by=creator.display_name if creator is not None else "",
        history=[CaseVisit(session_id=s.id, accepted_at=s.accepted_at, ended_at=s.ended_at,
                           service_code=s.service.code, branch=s.branch.name_ja, staff_id=s.staff_id,
                           staff_name=s.staff.display_name,
                           note_category=n.category if n is not None and may_read_note(staff, n) else None)
                 for s in sessions for n in [notes.get(s.id)]])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_case(body: CaseIn, db: DB, staff: CaseStaff) -> CaseOut:
    case = await open_case(db, staff.municipality, staff, utcnow(), name=body.name, contact=body.contact)
    audit(db, f"staff:{staff.id}", "case.create", f"case:{case.id}", number=case.number,
          personal=bool(body.name or body.contact))
    out = await _out(db, staff, case)
    await db.commit()
    return out


@router.get("/{number}")
async def read_case(number: Number, db: DB, staff: CaseStaff) -> CaseOut:
    case = await _case(db, staff, number)
    out = await _out(db, staff, case)
    audit(db, f"staff:{staff.id}", "case.read", f"case:{case.id}", number=case.number)
    await db.commit()
    return out


@router.put("/{number}")
async def update_case(number: Number, body: CaseIn, db: DB, staff: CaseStaff) -> CaseOut:
    case = await _case(db, staff, number, lock=True)
    case.name, case.contact = body.name, body.contact
    audit(db, f"staff:{staff.id}", "case.update", f"case:{case.id}", number=case.number)
    await db.flush()
    out = await _out(db, staff, case)
    await db.commit()
    return out


@router.post("/{number}/sessions")
async def attach_session(number: Number, body: AttachIn, db: DB, staff: CaseStaff) -> CaseOut:
    """The session's own specialist (during or after the call), or a supervisor of the municipality, puts a
    session of this municipality's resident under the case. Again under the same case: nothing changes."""
    case = await _case(db, staff, number)
    sess = await db.get(CallSession, body.session_id, with_for_update={"of": CallSession})
    if sess is None or sess.municipality_id != case.municipality_id or (
            sess.staff_id != staff.id and staff.role != "supervisor"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such session of yours with this municipality's resident")
    if sess.case_id is not None and sess.case_id != case.id:
        raise HTTPException(status.HTTP_409_CONFLICT, "this session is already under another case")
    if sess.case_id is None:
        sess.case_id = case.id
        audit(db, f"staff:{staff.id}", "case.attach", f"case:{case.id}", number=case.number, session_id=sess.id)
        await db.flush()
    out = await _out(db, staff, case)
    await db.commit()
    return out
