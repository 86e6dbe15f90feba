"""Staff login; kiosk enrollment (one-time code -> device secret) and device token exchange."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from server.api.deps import DB, Ctx
from server.auth import hash_secret, issue_token, new_device_secret, verify_secret
from server.db.audit import audit
from server.db.models import Kiosk, Staff

router = APIRouter(prefix="/api", tags=["auth"])


class LoginIn(BaseModel):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class StaffOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    municipality: str
    municipality_id: int
    skills: list[str]
    capabilities: list[str]


class LoginOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    staff: StaffOut


def staff_out(s: Staff) -> StaffOut:
    return StaffOut(id=s.id, username=s.username, display_name=s.display_name, role=s.role,
                    municipality=s.municipality.name_ja, municipality_id=s.municipality_id,
                    skills=[x.code for x in s.skills], capabilities=list(s.capabilities or []))


@router.post("/auth/login")
async def login(body: LoginIn, db: DB, ctx: Ctx) -> LoginOut:
    s = (await db.execute(select(Staff).where(Staff.username == body.username))).scalar_one_or_none()
    if s is None or not s.active or not verify_secret(s.password_hash, body.password):
        audit(db, f"user:{body.username}"[:64], "auth.login_failed")
        await db.commit()
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
    ttl = ctx.settings.access_token_ttl_s
    token = issue_token(ctx.settings.secret_key, "staff", s.id, s.role, ttl)
    out = LoginOut(access_token=token, expires_in=ttl, staff=staff_out(s))
    audit(db, f"staff:{s.id}", "auth.login")
    await db.commit()
    return out


class EnrollIn(BaseModel):
    code: Annotated[str, Field(pattern=r"^\d{8}$")]
    kiosk_id: int


class EnrollOut(BaseModel):
    kiosk_id: int
    secret: str
    branch: str


@router.post("/kiosk/enroll")
async def enroll(body: EnrollIn, db: DB, ctx: Ctx) -> EnrollOut:
    """Exchange the one-time code an administrator gave for the device's own secret (shown once)."""
    k = await db.get(Kiosk, body.kiosk_id, with_for_update={"of": Kiosk})
    now = ctx.now()
    if (k is None or k.revoked_at is not None or k.enroll_expires_at is None or k.enroll_expires_at < now
            or not verify_secret(k.enroll_code_hash, body.code)):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "enrollment code wrong, used or expired")
    secret = new_device_secret()
    k.credential_hash, k.enroll_code_hash, k.enroll_expires_at, k.enrolled_at = hash_secret(secret), None, None, now
    audit(db, f"kiosk:{k.id}", "kiosk.enrolled", f"kiosk:{k.id}")
    branch = k.branch.name_ja
    await db.commit()
    return EnrollOut(kiosk_id=body.kiosk_id, secret=secret, branch=branch)


class KioskTokenIn(BaseModel):
    kiosk_id: int
    secret: Annotated[str, Field(min_length=16, max_length=256)]


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


@router.post("/kiosk/token")
async def kiosk_token(body: KioskTokenIn, db: DB, ctx: Ctx) -> TokenOut:
    k = await db.get(Kiosk, body.kiosk_id)
    if k is None or k.revoked_at is not None or not verify_secret(k.credential_hash, body.secret):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "kiosk credential wrong or revoked")
    ttl = ctx.settings.kiosk_token_ttl_s
    return TokenOut(access_token=issue_token(ctx.settings.secret_key, "kiosk", k.id, "kiosk", ttl), expires_in=ttl)
