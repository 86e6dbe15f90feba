"""Admin API: kiosks (enroll, revoke), staff accounts (create, change, disable, reset password) and the
municipalities' privacy settings (may supervisors of other municipalities listen in)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from server.admin_ops import (
    AdminError,
    Conflict,
    Invalid,
    create_staff,
    enroll_kiosk,
    revoke_kiosk,
    set_outside_supervision,
    set_staff_password,
    update_staff,
)
from server.api.deps import DB, Ctx, require_roles
from server.db.models import Kiosk, Municipality, Staff, StaffRole
from signaling.protocol.errors import CloseCode
from signaling.protocol.models import Need

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
    selfcheck_pin: Annotated[str | None, Field(min_length=6, max_length=12, pattern=r"^\d+$")] = None  # else generated


class EnrollCodeOut(BaseModel):
    kiosk_id: int
    code: str
    valid_hours: int = 24
    selfcheck_pin: str | None = None  # the generated self-check PIN, shown this once (None when one was given)


@router.get("/kiosks")
async def list_kiosks(db: DB, _: Admin) -> list[KioskOut]:
    rows = (await db.execute(select(Kiosk).order_by(Kiosk.id))).scalars().all()
    return [KioskOut(id=k.id, name=k.name, branch=k.branch.code, enrolled=k.credential_hash is not None,
                     revoked=k.revoked_at is not None) for k in rows]


@router.post("/kiosks")
async def new_kiosk(body: EnrollCodeIn, db: DB, staff: Admin) -> EnrollCodeOut:
    try:
        e = await enroll_kiosk(db, body.branch_code, body.name, f"staff:{staff.id}", body.selfcheck_pin)
        await db.commit()
    except Invalid as exc:
        raise HTTPException(422, str(exc)) from None
    except AdminError as exc:
        raise HTTPException(404, str(exc)) from None
    return EnrollCodeOut(kiosk_id=e.kiosk_id, code=e.code, selfcheck_pin=e.selfcheck_pin)


@router.post("/kiosks/{kiosk_id}/revoke")
async def revoke(kiosk_id: int, db: DB, ctx: Ctx, staff: Admin) -> dict[str, bool]:
    try:
        await revoke_kiosk(db, kiosk_id, f"staff:{staff.id}")
        await db.commit()
    except AdminError as exc:
        raise HTTPException(404, str(exc)) from None
    await ctx.delivery.disconnect(f"kiosk:{kiosk_id}", CloseCode.REVOKED, "kiosk revoked")
    return {"revoked": True}


# ---------------------------------------------------------------- staff accounts
Username = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{2,31}$")]
Name = Annotated[str, Field(min_length=1, max_length=64)]
Password = Annotated[str, Field(min_length=1, max_length=256)]
Codes = Annotated[list[Annotated[str, Field(min_length=1, max_length=32)]], Field(max_length=20)]
# languages a specialist speaks, as the resident's wire language codes ("ja", "en"): routing prefers them
Languages = Annotated[list[Annotated[str, Field(pattern=r"^[a-z]{2,3}$")]], Field(min_length=1, max_length=8)]


class StaffAdminOut(BaseModel):
    id: int
    username: str
    display_name: str
    municipality: str
    role: str
    skills: list[str]
    capabilities: list[str]
    languages: list[str]
    active: bool
    status: str


class StaffCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Username
    display_name: Name
    municipality_code: Annotated[str, Field(min_length=1, max_length=32)]
    role: StaffRole
    skills: Codes = []
    capabilities: list[Need] = []
    languages: Languages = ["ja"]
    password: Password


class StaffUpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    display_name: Name | None = None
    role: StaffRole | None = None
    skills: Codes | None = None
    capabilities: list[Need] | None = None
    languages: Languages | None = None
    active: bool | None = None


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: Password


def _staff_out(s: Staff) -> StaffAdminOut:
    return StaffAdminOut(id=s.id, username=s.username, display_name=s.display_name, municipality=s.municipality.code,
                         role=s.role, skills=sorted(sv.code for sv in s.skills), capabilities=list(s.capabilities),
                         languages=list(s.languages or ["ja"]), active=s.active, status=s.status)


def _http(exc: AdminError) -> HTTPException:
    code = 422 if isinstance(exc, Invalid) else 409 if isinstance(exc, Conflict) else 404
    return HTTPException(code, str(exc))


@router.get("/staff")
async def list_staff(db: DB, _: Admin) -> list[StaffAdminOut]:
    rows = (await db.execute(select(Staff).order_by(Staff.id))).scalars().unique().all()
    return [_staff_out(s) for s in rows]


@router.post("/staff", status_code=201)
async def add_staff(body: StaffCreateIn, db: DB, staff: Admin) -> StaffAdminOut:
    try:
        s = await create_staff(db, username=body.username, display_name=body.display_name,
                               municipality_code=body.municipality_code, role=body.role, skills=list(body.skills),
                               capabilities=list(body.capabilities), languages=list(body.languages),
                               password=body.password,
                               actor=f"staff:{staff.id}")
        out = _staff_out(s)
        await db.commit()
    except AdminError as exc:
        raise _http(exc) from None
    return out


@router.patch("/staff/{staff_id}")
async def change_staff(staff_id: int, body: StaffUpdateIn, db: DB, ctx: Ctx, staff: Admin) -> StaffAdminOut:
    try:
        s, ended = await update_staff(
            db, staff_id, f"staff:{staff.id}", display_name=body.display_name, role=body.role,
            skills=list(body.skills) if body.skills is not None else None,
            capabilities=list(body.capabilities) if body.capabilities is not None else None,
            languages=list(body.languages) if body.languages is not None else None, active=body.active)
        out = _staff_out(s)
        await db.commit()
    except AdminError as exc:
        raise _http(exc) from None
    if ended == "disabled":  # the console stops for good (protocol.md: 4001 is final)
        await ctx.delivery.disconnect(f"staff:{staff_id}", CloseCode.REVOKED, "account disabled")
    elif ended == "role_changed":  # the console refreshes its token and comes back with the new role
        await ctx.delivery.disconnect(f"staff:{staff_id}", CloseCode.CREDENTIALS_CHANGED, "role changed")
    return out


@router.post("/staff/{staff_id}/password")
async def reset_password(staff_id: int, body: PasswordIn, db: DB, ctx: Ctx, staff: Admin) -> dict[str, bool]:
    """A new password (a forgotten or leaked one): the account's access and refresh tokens stop working and its
    open consoles are closed with 4001."""
    try:
        await set_staff_password(db, staff_id, body.password, f"staff:{staff.id}")
        await db.commit()
    except AdminError as exc:
        raise _http(exc) from None
    if staff_id != staff.id:
        await ctx.delivery.disconnect(f"staff:{staff_id}", CloseCode.REVOKED, "password reset by an administrator")
    return {"reset": True}


# ---------------------------------------------------------------- municipalities
class MunicipalityOut(BaseModel):
    code: str
    name_ja: str
    name_en: str
    outside_supervision: bool  # supervisors of other municipalities may listen in to this one's calls


class MunicipalityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outside_supervision: bool


def _municipality_out(m: Municipality) -> MunicipalityOut:
    return MunicipalityOut(code=m.code, name_ja=m.name_ja, name_en=m.name_en, outside_supervision=m.outside_supervision)


@router.get("/municipalities")
async def list_municipalities(db: DB, _: Admin) -> list[MunicipalityOut]:
    rows = (await db.execute(select(Municipality).order_by(Municipality.id))).scalars().all()
    return [_municipality_out(m) for m in rows]


@router.patch("/municipalities/{code}")
async def change_municipality(code: str, body: MunicipalityIn, db: DB, staff: Admin) -> MunicipalityOut:
    try:
        m = await set_outside_supervision(db, code, body.outside_supervision, f"staff:{staff.id}")
        out = _municipality_out(m)
        await db.commit()
    except AdminError as exc:
        raise _http(exc) from None
    return out
