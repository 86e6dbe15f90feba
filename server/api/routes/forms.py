"""Forms the resident confirmed on the kiosk (issue 11 item 4), as kept with the session. Consultation content:
the note's readers only (:func:`~server.api.routes.sessions.may_read_record`: the session's specialist, the
municipality's specialists and supervisors, others when the note is shared); IT monitors, admins, partners and
guests never (403 by role); anyone else 404 (the record's existence is not confirmed). Every read is audited
(``form.read``, ids only).

``GET /api/sessions/{id}/forms`` lists them with their content; ``GET /api/sessions/{id}/forms/{cid}`` is one
(the console fetches the confirmed one to print it, so that what is printed is what was stored). ``content_hash``
is the SHA-256 of the canonical JSON of ``content`` (:func:`signaling.protocol.forms.content_hash`)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel
from sqlalchemy import select

from server.api.deps import DB
from server.api.routes.sessions import CallStaff, may_read_record
from server.db.audit import audit
from server.db.models import CallSession, FormConfirmation, Kiosk, Note, Staff
from signaling.protocol.forms import FormContent

router = APIRouter(prefix="/api/sessions", tags=["forms"])


class FormConfirmationOut(BaseModel):
    id: int
    session_id: int
    form_code: str
    form_version: int
    revision: int
    state: str
    content: FormContent
    content_hash: str
    sent_by_id: int
    sent_at: datetime
    answered_at: datetime | None
    confirmed_at: datetime | None
    kiosk_id: int | None
    kiosk_name: str
    branch_ja: str
    branch_en: str
    changes: list[str]
    change_reason: str | None


async def _readable(db: DB, staff: Staff, session_id: int) -> CallSession | None:
    sess = await db.get(CallSession, session_id)
    if sess is None:
        return None
    note = (await db.execute(select(Note).where(Note.session_id == session_id))).scalar_one_or_none()
    shared = note.shared if note is not None else False
    return sess if may_read_record(staff, sess.staff_id, sess.municipality_id, shared) else None


async def _out(db: DB, sess: CallSession, row: FormConfirmation) -> FormConfirmationOut:
    kiosk = await db.get(Kiosk, row.kiosk_id) if row.kiosk_id is not None else None
    return FormConfirmationOut(
        id=row.id, session_id=row.session_id, form_code=row.form_code, form_version=row.form_version,
        revision=row.revision, state=row.state, content=FormContent.model_validate(row.content),
        content_hash=row.content_hash, sent_by_id=row.sent_by_id, sent_at=row.sent_at, answered_at=row.answered_at,
        confirmed_at=row.confirmed_at, kiosk_id=row.kiosk_id, kiosk_name=kiosk.name if kiosk is not None else "",
        branch_ja=sess.branch.name_ja, branch_en=sess.branch.name_en, changes=list(row.changes),
        change_reason=row.change_reason)


@router.get("/{session_id}/forms")
async def list_forms(session_id: int, db: DB, staff: CallStaff) -> list[FormConfirmationOut]:
    sess = await _readable(db, staff, session_id)
    if sess is None:
        raise HTTPException(404, "no forms you may read")
    rows = (await db.execute(select(FormConfirmation).where(FormConfirmation.session_id == session_id)
                             .order_by(FormConfirmation.id))).scalars().all()
    out = [await _out(db, sess, r) for r in rows]
    audit(db, f"staff:{staff.id}", "form.read", f"session:{session_id}", forms=[r.id for r in rows])
    await db.commit()
    return out


@router.get("/{session_id}/forms/{confirmation_id}")
async def read_form(session_id: int, confirmation_id: int, db: DB, staff: CallStaff) -> FormConfirmationOut:
    row = await db.get(FormConfirmation, confirmation_id)
    sess = await _readable(db, staff, session_id) if row is not None and row.session_id == session_id else None
    if row is None or sess is None:
        raise HTTPException(404, "no form you may read")  # 404, not 403: do not reveal it exists
    out = await _out(db, sess, row)
    audit(db, f"staff:{staff.id}", "form.read", f"session:{session_id}", forms=[confirmation_id])
    await db.commit()
    return out
