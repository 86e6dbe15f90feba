"""Document stills kept with a session's record (issue 11, item 1). Sensitive like the note, same rules.

``POST /api/sessions/{id}/attachments`` (the session's own specialist): the raw image as the body,
``Content-Type: image/jpeg`` or ``image/png``, ``X-Content-SHA256``: its SHA-256 in hex. Refused: another
specialist's session (404), a body over :data:`MAX_ATTACHMENT_BYTES` (413), a hash mismatch, a type other than
announced, or something that is not a readable image (422). ``GET …/attachments`` lists them (metadata),
``GET …/attachments/{aid}`` returns the bytes. Readers: as the note (:func:`may_read_record`); IT monitors,
admins, partners and guests never (403 by role). Every save and read is audited (never the content).
"""

from __future__ import annotations

import hashlib
import io
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request, Response
from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel
from sqlalchemy import select

from server.api.deps import DB
from server.api.routes.sessions import CallStaff, may_read_record
from server.db.audit import audit
from server.db.base import utcnow
from server.db.models import Attachment, CallSession, Note, Staff

router = APIRouter(prefix="/api/sessions", tags=["attachments"])
MAX_ATTACHMENT_BYTES = 16 * 1024 * 1024  # = signaling.protocol.channel.MAX_BLOB_BYTES: any still a kiosk sends
FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}
MAX_PIXELS = 64_000_000


class AttachmentOut(BaseModel):
    id: int
    session_id: int
    author_id: int
    kind: str
    mime: str
    width: int
    height: int
    size: int
    sha256: str
    created_at: datetime


def attachment_out(a: Attachment) -> AttachmentOut:
    return AttachmentOut(id=a.id, session_id=a.session_id, author_id=a.author_id, kind=a.kind, mime=a.mime,
                         width=a.width, height=a.height, size=a.size, sha256=a.sha256, created_at=a.created_at)


def image_size(data: bytes, mime: str) -> tuple[int, int]:
    """(width, height) of a valid image of the announced type; HTTPException 422 otherwise."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format != FORMATS[mime]:
                raise HTTPException(422, f"the body is {img.format or 'unknown'}, not {mime}")
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise HTTPException(422, f"image of {width}x{height} pixels is too large")
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise HTTPException(422, f"not a readable image: {exc}") from None
    return width, height


async def _readable(db: DB, staff: Staff, session_id: int) -> bool:
    sess = await db.get(CallSession, session_id)
    if sess is None:
        return False
    note = (await db.execute(select(Note).where(Note.session_id == session_id))).scalar_one_or_none()
    shared = note.shared if note is not None else False
    return may_read_record(staff, sess.staff_id, sess.municipality_id, shared)


@router.post("/{session_id}/attachments", status_code=201)
async def add_attachment(
    session_id: int, request: Request, db: DB, staff: CallStaff,
    content_type: Annotated[str, Header()] = "",
    x_content_sha256: Annotated[str, Header()] = "",
) -> AttachmentOut:
    sess = await db.get(CallSession, session_id)
    if sess is None or sess.staff_id != staff.id:
        raise HTTPException(404, "no such session of yours")
    mime = content_type.split(";")[0].strip().lower()
    if mime not in FORMATS:
        raise HTTPException(415, f"Content-Type must be one of {', '.join(FORMATS)}")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_ATTACHMENT_BYTES:
        raise HTTPException(413, f"at most {MAX_ATTACHMENT_BYTES} bytes")
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > MAX_ATTACHMENT_BYTES:
            raise HTTPException(413, f"at most {MAX_ATTACHMENT_BYTES} bytes")
    data = bytes(body)
    if not data:
        raise HTTPException(422, "empty body")
    digest = hashlib.sha256(data).hexdigest()
    if x_content_sha256.strip().lower() != digest:
        raise HTTPException(422, "X-Content-SHA256 does not match the body")
    width, height = image_size(data, mime)
    row = Attachment(session_id=session_id, municipality_id=sess.municipality_id, author_id=staff.id,
                     kind="document_still", mime=mime, width=width, height=height, size=len(data), sha256=digest,
                     data=data, created_at=utcnow())
    db.add(row)
    await db.flush()
    audit(db, f"staff:{staff.id}", "attachment.save", f"session:{session_id}", attachment=row.id, size=len(data))
    out = attachment_out(row)
    await db.commit()
    return out


@router.get("/{session_id}/attachments")
async def list_attachments(session_id: int, db: DB, staff: CallStaff) -> list[AttachmentOut]:
    if not await _readable(db, staff, session_id):
        raise HTTPException(404, "no attachments you may read")
    rows = (await db.execute(select(Attachment).where(Attachment.session_id == session_id)
                             .order_by(Attachment.id))).scalars().all()
    return [attachment_out(a) for a in rows]


@router.get("/{session_id}/attachments/{attachment_id}")
async def read_attachment(session_id: int, attachment_id: int, db: DB, staff: CallStaff) -> Response:
    row = await db.get(Attachment, attachment_id)
    if row is None or row.session_id != session_id or not await _readable(db, staff, session_id):
        raise HTTPException(404, "no attachment you may read")  # 404, not 403: do not reveal it exists
    audit(db, f"staff:{staff.id}", "attachment.read", f"session:{session_id}", attachment=attachment_id)
    data, mime, digest = row.data, row.mime, row.sha256
    await db.commit()
    return Response(content=data, media_type=mime, headers={"X-Content-SHA256": digest,
                                                            "Cache-Control": "no-store"})
