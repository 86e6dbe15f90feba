"""The audit view for administrators: ``GET /api/audit`` with filters and paging, newest first (admin only).

Paging is by ``seq``: a page answers ``next_before``; pass it as ``before`` for the next (older) page. Reading
the log is itself audited (the filters, not the rows). An administrator of one municipality (not the region's,
server/admin_scope.py) reads only the rows whose actor or subject is one of their municipality's staff, kiosks
or branches, or the municipality itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.admin_scope import Scope
from server.api.admin_deps import AdminScope
from server.api.deps import DB
from server.db.audit import audit
from server.db.models import AuditEvent, Branch, Kiosk, Staff

router = APIRouter(prefix="/api/audit", tags=["audit"])
Text = Annotated[str | None, Query(max_length=64)]


class AuditRow(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]
    hash: str


class AuditPage(BaseModel):
    items: list[AuditRow]
    next_before: int | None  # pass as ``before`` for the next, older page; None: this was the last


async def principals(db: AsyncSession, scope: Scope) -> list[str]:
    """The actors and subjects that belong to the administrator's municipality."""
    mid = scope.municipality_id
    staff = (await db.execute(select(Staff.id).where(Staff.municipality_id == mid))).scalars().all()
    kiosks = (await db.execute(select(Kiosk.id).join(Branch, Kiosk.branch_id == Branch.id)
                               .where(Branch.municipality_id == mid))).scalars().all()
    branches = (await db.execute(select(Branch.code).where(Branch.municipality_id == mid))).scalars().all()
    return ([f"staff:{i}" for i in staff] + [f"kiosk:{i}" for i in kiosks] + [f"branch:{c}" for c in branches]
            + [f"municipality:{scope.municipality_code}"])


@router.get("")
async def audit_log(
    db: DB, scope: AdminScope,
    actor: Text = None, subject: Text = None, action: Text = None,
    since: Annotated[datetime | None, Query(alias="from")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
    before: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    """Filters: exact ``actor``, ``subject`` and ``action`` (``action`` ending in ``.*`` matches a prefix, e.g.
    ``session.*``); ``from`` inclusive and ``to`` exclusive, ISO 8601 with a time zone."""
    for name, value in (("from", since), ("to", until)):
        if value is not None and value.tzinfo is None:
            raise HTTPException(422, f"{name}: give a time zone (e.g. 2026-12-07T09:00:00+09:00)")
    q = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit + 1)
    if not scope.region:
        own = await principals(db, scope)
        q = q.where(or_(AuditEvent.actor.in_(own), AuditEvent.subject.in_(own)))
    if actor:
        q = q.where(AuditEvent.actor == actor)
    if subject:
        q = q.where(AuditEvent.subject == subject)
    if action and action.endswith(".*"):
        q = q.where(AuditEvent.action.startswith(action[:-1], autoescape=True))
    elif action:
        q = q.where(AuditEvent.action == action)
    if since is not None:
        q = q.where(AuditEvent.at >= since)
    if until is not None:
        q = q.where(AuditEvent.at < until)
    if before is not None:
        q = q.where(AuditEvent.seq < before)
    rows = (await db.execute(q)).scalars().all()
    page = [AuditRow(seq=r.seq, at=r.at, actor=r.actor, action=r.action, subject=r.subject, detail=r.detail,
                     hash=r.hash) for r in rows[:limit]]
    filters = {k: v for k, v in (("actor", actor), ("subject", subject), ("action", action),
                                 ("from", since.isoformat() if since else None),
                                 ("to", until.isoformat() if until else None), ("before", before)) if v is not None}
    audit(db, scope.actor, "audit.read", "", rows=len(page), filters=filters)
    await db.commit()
    return AuditPage(items=page, next_before=page[-1].seq if len(rows) > limit else None)
