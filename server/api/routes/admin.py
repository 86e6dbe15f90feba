"""Admin API: branches, kiosks (enroll, revoke)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import select

from server.admin_ops import AdminError, create_enrollment, revoke_kiosk
from server.api.deps import DB, Ctx, require_roles
from server.db.models import Kiosk, Staff
from signaling.protocol.errors import CloseCode

router = APIRouter(prefix="/api/admin", tags=["admin"])
Admin = Annotated[Staff, Depends(require_roles("admin"))]


class KioskOut(BaseModel):
    id: int
    name: str
    branch: str
    enrolled: bool
    revoked: bool


class EnrollCodeIn(BaseModel):
    branch_code: Annotated[str, Field(min_length=1, max_length=32)]
    name: Annotated[str, Field(max_length=64)] = ""


class EnrollCodeOut(BaseModel):
    kiosk_id: int
    code: str
    valid_hours: int = 24


@router.get("/kiosks")
async def list_kiosks(db: DB, _: Admin) -> list[KioskOut]:
    rows = (await db.execute(select(Kiosk).order_by(Kiosk.id))).scalars().all()
    return [KioskOut(id=k.id, name=k.name, branch=k.branch.code, enrolled=k.credential_hash is not None,
                     revoked=k.revoked_at is not None) for k in rows]


@router.post("/kiosks")
async def new_kiosk(body: EnrollCodeIn, db: DB, staff: Admin) -> EnrollCodeOut:
    try:
        kid, code = await create_enrollment(db, body.branch_code, body.name, f"staff:{staff.id}")
        await db.commit()
    except AdminError as exc:
        raise HTTPException(404, str(exc)) from None
    return EnrollCodeOut(kiosk_id=kid, code=code)


@router.post("/kiosks/{kiosk_id}/revoke")
async def revoke(kiosk_id: int, db: DB, ctx: Ctx, staff: Admin) -> dict[str, bool]:
    try:
        await revoke_kiosk(db, kiosk_id, f"staff:{staff.id}")
        await db.commit()
    except AdminError as exc:
        raise HTTPException(404, str(exc)) from None
    await ctx.hub.disconnect(f"kiosk:{kiosk_id}", CloseCode.REVOKED, "kiosk revoked")
    return {"revoked": True}
