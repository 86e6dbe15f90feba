"""Admin API: kiosks (enroll, rename, revoke) and staff accounts (create, change, disable, reset password), each
limited to the administrator's scope (server/admin_scope.py: their municipality, or the whole region).
Municipalities, branches, services and settings: routes/admin_catalog.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import segno
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, select, true

from server.admin_ops import (
    AdminError,
    create_staff,
    enroll_kiosk,
    new_password,
    rename_kiosk,
    revoke_kiosk,
    set_staff_password,
    update_staff,
)
from server.admin_scope import OutOfScope, Scope
from server.api.admin_deps import AdminScope, admin_http
from server.api.deps import DB, Ctx
from server.db.models import Branch, Kiosk, Staff, StaffRole
from signaling.protocol.errors import CloseCode
from signaling.protocol.models import Need

router = APIRouter(prefix="/api/admin", tags=["admin"])


class KioskOut(BaseModel):
    id: int
    name: str
    branch: str
    municipality: str
    enrolled: bool
    revoked: bool
    enroll_expires_at: datetime | None  # an enrollment code is outstanding until then (not enrolled, not revoked)
    last_seen_at: datetime | None


KioskName = Annotated[str, Field(max_length=64)]


class EnrollCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    branch_code: Annotated[str, Field(min_length=1, max_length=32)]
    name: KioskName = ""
    selfcheck_pin: Annotated[str | None, Field(min_length=6, max_length=12, pattern=r"^\d+$")] = None  # else generated


class EnrollCodeOut(BaseModel):
    kiosk_id: int
    code: str
    valid_hours: int = 24
    selfcheck_pin: str | None = None  # the generated self-check PIN, shown this once (None when one was given)
    qr_text: str  # what the QR code carries: the server's address, the kiosk number and the code
    qr_svg: str  # the QR code as an SVG data URI (for the admin page; nothing leaves the server to draw it)


class KioskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=64)]


def _kiosk_out(k: Kiosk) -> KioskOut:
    pending = k.credential_hash is None and k.revoked_at is None and k.enrolled_at is None
    return KioskOut(id=k.id, name=k.name, branch=k.branch.code, municipality=k.branch.municipality.code,
                    enrolled=k.credential_hash is not None, revoked=k.revoked_at is not None,
                    enroll_expires_at=k.enroll_expires_at if pending else None, last_seen_at=k.last_seen_at)


def _in_scope(scope: Scope) -> ColumnElement[bool]:
    """A WHERE clause on Branch.municipality_id (or none) for a list."""
    return true() if scope.region else Branch.municipality_id == scope.municipality_id


@router.get("/kiosks")
async def list_kiosks(db: DB, scope: AdminScope) -> list[KioskOut]:
    rows = (await db.execute(select(Kiosk).join(Branch, Kiosk.branch_id == Branch.id).where(_in_scope(scope))
                             .order_by(Kiosk.id))).scalars().all()
    return [_kiosk_out(k) for k in rows]


@router.post("/kiosks")
async def new_kiosk(body: EnrollCodeIn, request: Request, db: DB, scope: AdminScope) -> EnrollCodeOut:
    try:
        e = await enroll_kiosk(db, body.branch_code, body.name, scope.actor, body.selfcheck_pin, scope)
        await db.commit()
    except (AdminError, OutOfScope) as exc:
        raise admin_http(exc) from None
    qr_text = f"madoguchi-enroll:?server={str(request.base_url).rstrip('/')}&kiosk={e.kiosk_id}&code={e.code}"
    qr = segno.make(qr_text, error="m").svg_data_uri(scale=5, border=2)
    return EnrollCodeOut(kiosk_id=e.kiosk_id, code=e.code, selfcheck_pin=e.selfcheck_pin, qr_text=qr_text, qr_svg=qr)


@router.patch("/kiosks/{kiosk_id}")
async def change_kiosk(kiosk_id: int, body: KioskIn, db: DB, scope: AdminScope) -> KioskOut:
    try:
        k = await rename_kiosk(db, kiosk_id, body.name, scope.actor, scope)
        out = _kiosk_out(k)
        await db.commit()
    except (AdminError, OutOfScope) as exc:
        raise admin_http(exc) from None
    return out


@router.post("/kiosks/{kiosk_id}/revoke")
async def revoke(kiosk_id: int, db: DB, ctx: Ctx, scope: AdminScope) -> dict[str, bool]:
    try:
        await revoke_kiosk(db, kiosk_id, scope.actor, scope)
        await db.commit()
    except (AdminError, OutOfScope) as exc:
        raise admin_http(exc) from None
    await ctx.delivery.disconnect(f"kiosk:{kiosk_id}", CloseCode.REVOKED, "kiosk revoked")
    return {"revoked": True}


# ---------------------------------------------------------------- staff accounts
Username = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{2,31}$")]
Name = Annotated[str, Field(min_length=1, max_length=64)]
Password = Annotated[str, Field(min_length=1, max_length=256)]  # none given: one is made and shown once
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
    password: Password | None = None


class StaffUpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    display_name: Name | None = None
    role: StaffRole | None = None
    skills: Codes | None = None
    capabilities: list[Need] | None = None
    languages: Languages | None = None
    active: bool | None = None


class StaffCreatedOut(StaffAdminOut):
    password: str | None  # the temporary password the server made (shown this once), None when one was given


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: Password | None = None


class PasswordOut(BaseModel):
    reset: bool
    password: str | None  # the temporary password the server made (shown this once), None when one was given


def _staff_out(s: Staff) -> StaffAdminOut:
    return StaffAdminOut(id=s.id, username=s.username, display_name=s.display_name, municipality=s.municipality.code,
                         role=s.role, skills=sorted(sv.code for sv in s.skills), capabilities=list(s.capabilities),
                         languages=list(s.languages or ["ja"]), active=s.active, status=s.status)


@router.get("/staff")
async def list_staff(db: DB, scope: AdminScope) -> list[StaffAdminOut]:
    q = select(Staff).order_by(Staff.id)
    if not scope.region:
        q = q.where(Staff.municipality_id == scope.municipality_id)
    rows = (await db.execute(q)).scalars().unique().all()
    return [_staff_out(s) for s in rows]


@router.post("/staff", status_code=201)
async def add_staff(body: StaffCreateIn, db: DB, scope: AdminScope) -> StaffCreatedOut:
    made = None if body.password else new_password()
    try:
        s = await create_staff(db, username=body.username, display_name=body.display_name,
                               municipality_code=body.municipality_code, role=body.role, skills=list(body.skills),
                               capabilities=list(body.capabilities), languages=list(body.languages),
                               password=body.password or made or "", actor=scope.actor, scope=scope)
        out = StaffCreatedOut(**_staff_out(s).model_dump(), password=made)
        await db.commit()
    except (AdminError, OutOfScope) as exc:
        raise admin_http(exc) from None
    return out


@router.patch("/staff/{staff_id}")
async def change_staff(staff_id: int, body: StaffUpdateIn, db: DB, ctx: Ctx, scope: AdminScope) -> StaffAdminOut:
    try:
        s, ended = await update_staff(
            db, staff_id, scope.actor, display_name=body.display_name, role=body.role,
            skills=list(body.skills) if body.skills is not None else None,
            capabilities=list(body.capabilities) if body.capabilities is not None else None,
            languages=list(body.languages) if body.languages is not None else None, active=body.active,
            scope=scope)
        out = _staff_out(s)
        await db.commit()
    except (AdminError, OutOfScope) as exc:
        raise admin_http(exc) from None
    if ended == "disabled":  # the console stops for good (protocol.md: 4001 is final)
        await ctx.delivery.disconnect(f"staff:{staff_id}", CloseCode.REVOKED, "account disabled")
    elif ended == "role_changed":  # the console refreshes its token and comes back with the new role
        await ctx.delivery.disconnect(f"staff:{staff_id}", CloseCode.CREDENTIALS_CHANGED, "role changed")
    return out


@router.post("/staff/{staff_id}/password")
async def reset_password(staff_id: int, body: PasswordIn, db: DB, ctx: Ctx, scope: AdminScope) -> PasswordOut:
    """A new password (a forgotten or leaked one), given or made here and answered once: the account's access and
    refresh tokens stop working and its open consoles are closed with 4001."""
    made = None if body.password else new_password()
    try:
        await set_staff_password(db, staff_id, body.password or made or "", scope.actor, scope)
        await db.commit()
    except (AdminError, OutOfScope) as exc:
        raise admin_http(exc) from None
    if scope.actor != f"staff:{staff_id}":
        await ctx.delivery.disconnect(f"staff:{staff_id}", CloseCode.REVOKED, "password reset by an administrator")
    return PasswordOut(reset=True, password=made)
