"""Public catalogue of services (what a kiosk shows) and the staff directory for transfers and invitations
(call staff only: it shows who is on duty; partners are listed, so that they can be invited, but never read it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import select

from server.api.deps import DB, require_roles
from server.db.models import Service, Staff
from server.queue.views import CALL_ROLES, INVITEE_ROLES

router = APIRouter(prefix="/api", tags=["catalogue"])


class ServiceOut(BaseModel):
    code: str
    name_ja: str
    name_en: str
    description_ja: str
    description_en: str
    hours_ja: str
    hours_en: str
    is_general: bool


class ColleagueOut(BaseModel):
    id: int
    display_name: str
    municipality: str
    role: str
    status: str
    skills: list[str]


@router.get("/services")
async def services(db: DB) -> list[ServiceOut]:
    rows = (await db.execute(select(Service).order_by(Service.sort_order))).scalars().all()
    return [ServiceOut.model_validate(r, from_attributes=True) for r in rows]


@router.get("/staff")
async def colleagues(db: DB, _: Annotated[Staff, Depends(require_roles(*CALL_ROLES))]) -> list[ColleagueOut]:
    rows = (await db.execute(select(Staff).where(Staff.active, Staff.role.in_(INVITEE_ROLES))
                             .order_by(Staff.id))).scalars().unique().all()
    return [ColleagueOut(id=s.id, display_name=s.display_name, municipality=s.municipality.name_ja, role=s.role,
                         status=s.status, skills=[x.code for x in s.skills]) for s in rows]
