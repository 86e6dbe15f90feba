"""Prints at the branch (issue 11, item 3), recorded with the session: what was printed and how it ended.

The PDF goes console → kiosk → the branch's printer peer to peer; the server never sees it. The specialist's
console reports each print that ended: ``POST /api/sessions/{id}/prints`` (the session's own specialist) with
the document's title, page count, size and SHA-256 and the result (done, paper_out, no_printer, failed, with
the printer's reason). It becomes an audit event ``print.branch`` on the session — metadata, never the content;
the SHA-256 lets anyone holding the document prove it is the one printed.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from server.api.deps import DB
from server.api.routes.sessions import CallStaff
from server.db.audit import audit
from server.db.models import CallSession

router = APIRouter(prefix="/api/sessions", tags=["prints"])
MAX_PRINT_BYTES = 10 * 1024 * 1024  # = signaling.protocol.channel.MAX_DOCUMENT_BYTES


class PrintIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(max_length=120)] = ""
    pages: Annotated[int, Field(ge=1, le=200)] | None = None
    size: Annotated[int, Field(ge=1, le=MAX_PRINT_BYTES)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    result: Literal["done", "paper_out", "no_printer", "failed"]
    reason: Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")] | None = None


class PrintOut(BaseModel):
    session_id: int
    result: str


@router.post("/{session_id}/prints", status_code=201)
async def record_print(session_id: int, body: PrintIn, db: DB, staff: CallStaff) -> PrintOut:
    sess = await db.get(CallSession, session_id)
    if sess is None or sess.staff_id != staff.id:
        raise HTTPException(404, "no such session of yours")
    audit(db, f"staff:{staff.id}", "print.branch", f"session:{session_id}", branch=sess.branch_id,
          name=body.name, pages=body.pages, size=body.size, sha256=body.sha256, result=body.result,
          reason=body.reason)
    await db.commit()
    return PrintOut(session_id=session_id, result=body.result)
