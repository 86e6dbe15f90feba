"""Sessions and their notes. Notes are sensitive: the server decides who may read them.

Rule: the author, or a specialist/supervisor of the resident's municipality,
or anyone of those roles when the note is marked shared. IT monitors and
admins never read notes.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from server.api.deps import DB, Ctx, require_roles
from server.db.audit import audit
from server.db.base import utcnow
from server.db.models import Branch, CallSession, Note, Service, Staff

router = APIRouter(prefix="/api/sessions", tags=["sessions"])
CallStaff = Annotated[Staff, Depends(require_roles("specialist", "supervisor"))]


class NoteIn(BaseModel):
    category: Annotated[str, Field(min_length=1, max_length=64)]
    summary: Annotated[str, Field(max_length=20_000)] = ""
    follow_up: bool = False
    follow_up_by: Annotated[str, Field(max_length=128)] = ""
    referral_org: Annotated[str, Field(max_length=128)] = ""
    shared: bool = False


class NoteOut(NoteIn):
    session_id: int
    author_id: int
    updated_at: datetime


class SessionOut(BaseModel):
    id: int
    ticket_id: int
    service_code: str
    branch: str
    branch_code: str
    municipality_id: int
    staff_id: int
    staff_name: str
    accepted_at: datetime
    media_connected_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    wait_s: float
    talk_s: float | None
    note: NoteOut | None = None


def may_read_record(staff: Staff, author_id: int, municipality_id: int, shared: bool) -> bool:
    """The rule for a consultation record (a note, a document still kept with it)."""
    if staff.role not in ("specialist", "supervisor"):
        return False
    return author_id == staff.id or municipality_id == staff.municipality_id or shared


def may_read_note(staff: Staff, note: Note) -> bool:
    return may_read_record(staff, note.author_id, note.municipality_id, note.shared)


def note_out(n: Note) -> NoteOut:
    return NoteOut(session_id=n.session_id, author_id=n.author_id, category=n.category, summary=n.summary,
                   follow_up=n.follow_up, follow_up_by=n.follow_up_by, referral_org=n.referral_org,
                   shared=n.shared, updated_at=n.updated_at)


def session_out(s: CallSession, note: Note | None) -> SessionOut:
    return SessionOut(
        id=s.id, ticket_id=s.ticket_id, service_code=s.service.code, branch=s.branch.name_ja,
        branch_code=s.branch.code, municipality_id=s.municipality_id, staff_id=s.staff_id,
        staff_name=s.staff.display_name, accepted_at=s.accepted_at, media_connected_at=s.media_connected_at,
        ended_at=s.ended_at, end_reason=s.end_reason,
        wait_s=(s.accepted_at - s.ticket_created_at).total_seconds(),
        talk_s=(s.ended_at - s.accepted_at).total_seconds() if s.ended_at else None,
        note=note_out(note) if note is not None else None,
    )


@router.put("/{session_id}/note")
async def save_note(session_id: int, body: NoteIn, db: DB, ctx: Ctx, staff: CallStaff) -> NoteOut:
    sess = await db.get(CallSession, session_id)
    if sess is None or sess.staff_id != staff.id:
        raise HTTPException(404, "no such session of yours")
    note = (await db.execute(select(Note).where(Note.session_id == session_id).with_for_update())
            ).scalar_one_or_none()
    if note is None:
        note = Note(session_id=session_id, municipality_id=sess.municipality_id, author_id=staff.id,
                    created_at=utcnow())
        db.add(note)
    for key, value in body.model_dump().items():
        setattr(note, key, value)
    note.updated_at = utcnow()
    audit(db, f"staff:{staff.id}", "note.save", f"session:{session_id}")
    await db.flush()
    out = note_out(note)
    await db.commit()
    return out


@router.get("/{session_id}/note")
async def read_note(session_id: int, db: DB, staff: CallStaff) -> NoteOut:
    note = (await db.execute(select(Note).where(Note.session_id == session_id))).scalar_one_or_none()
    if note is None or not may_read_note(staff, note):
        raise HTTPException(404, "no note you may read")  # 404, not 403: do not reveal it exists
    out = note_out(note)
    audit(db, f"staff:{staff.id}", "note.read", f"session:{session_id}")
    await db.commit()
    return out


@router.get("")
async def history(
    db: DB, staff: CallStaff,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    branch: Annotated[str | None, Query(max_length=32)] = None,
    service: Annotated[str | None, Query(max_length=64)] = None,
    staff_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[SessionOut]:
    """A specialist's own sessions; a supervisor may ask for any specialist's (notes still filtered)."""
    q = select(CallSession).order_by(CallSession.accepted_at.desc()).limit(limit)
    if staff.role == "supervisor" and staff_id is not None:
        q = q.where(CallSession.staff_id == staff_id)
    elif staff.role != "supervisor" or staff_id is None:
        q = q.where(CallSession.staff_id == staff.id)
    if date_from is not None:
        q = q.where(CallSession.accepted_at >= datetime.combine(date_from, time.min).astimezone())
    if date_to is not None:
        q = q.where(CallSession.accepted_at < datetime.combine(date_to + timedelta(days=1), time.min).astimezone())
    if branch:
        q = q.join(Branch, Branch.id == CallSession.branch_id).where(Branch.code == branch)
    if service:
        q = q.join(Service, Service.id == CallSession.service_id).where(Service.code == service)
    rows = (await db.execute(q)).scalars().unique().all()
    notes = {n.session_id: n for n in (await db.execute(
        select(Note).where(Note.session_id.in_([r.id for r in rows])))).scalars().all()}
    return [session_out(r, n if n is not None and may_read_note(staff, n) else None)
            for r in rows for n in [notes.get(r.id)]]
