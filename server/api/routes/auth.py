"""Staff login; kiosk enrollment (one-time code -> device secret) and device token exchange.

argon2 costs ~0.13 s of CPU per check here: it runs in a small thread pool (one thread per core), never on
the event loop, and never inside a database transaction (on SQLite every transaction holds the write lock,
``BEGIN IMMEDIATE``): each route reads what it needs, ends that transaction, checks, then writes briefly.

Passwords and the 8-digit enrollment codes are guessable, so they get argon2. A kiosk's device secret is 256
random bits (``new_device_secret``): nobody can guess it, so a slow hash buys nothing and costs every kiosk
reconnection 0.13 s of CPU (a node's death sends hundreds at once to the survivors). Device secrets are
stored as ``sha256$<hex>``; one still stored with argon2 (enrolled before) is checked with argon2 once and
then stored the fast way.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field
from sqlalchemy import select, update

from server.api.deps import DB, Ctx
from server.auth import hash_secret, issue_token, new_device_secret, verify_secret
from server.db.audit import audit
from server.db.models import Kiosk, Staff

router = APIRouter(prefix="/api", tags=["auth"])

# argon2-cffi releases the GIL while it hashes: one thread per core keeps the cores busy and the loop free;
# more threads would only queue in the kernel and hold 64 MiB each. Requests beyond that wait their turn.
_hashing = ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1), thread_name_prefix="argon2")
_dummy_hash: str | None = None  # checked against when there is no account, so both answers take as long


async def hash_off_loop(secret: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_hashing, hash_secret, secret)


async def verify_off_loop(hashed: str | None, secret: str) -> bool:
    """Check ``secret`` against ``hashed`` in the pool; without a hash, check against a dummy one (as slow)."""
    global _dummy_hash
    if hashed is None:
        if _dummy_hash is None:
            _dummy_hash = await hash_off_loop("no such account")
        await asyncio.get_running_loop().run_in_executor(_hashing, verify_secret, _dummy_hash, secret)
        return False
    return await asyncio.get_running_loop().run_in_executor(_hashing, verify_secret, hashed, secret)


DEVICE_HASH_PREFIX = "sha256$"


def hash_device_secret(secret: str) -> str:
    """For high-entropy device secrets only (never for passwords or codes a person could guess)."""
    return DEVICE_HASH_PREFIX + hashlib.sha256(secret.encode()).hexdigest()


def check_device_secret(stored: str, secret: str) -> bool:
    return hmac.compare_digest(stored.encode(), hash_device_secret(secret).encode())


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
    await db.commit()  # end the read (and SQLite's write lock) before the slow check
    ok = await verify_off_loop(s.password_hash if s is not None and s.active else None, body.password)
    if s is None or not ok:
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
    refused = HTTPException(status.HTTP_401_UNAUTHORIZED, "enrollment code wrong, used or expired")
    k = await db.get(Kiosk, body.kiosk_id)
    now = ctx.now()
    usable = k is not None and k.revoked_at is None and k.enroll_expires_at is not None and k.enroll_expires_at >= now
    code_hash = k.enroll_code_hash if k is not None and usable else None
    await db.commit()  # end the read before the slow checks
    if not await verify_off_loop(code_hash, body.code):
        raise refused
    secret = new_device_secret()
    credential = hash_device_secret(secret)
    k = await db.get(Kiosk, body.kiosk_id, with_for_update={"of": Kiosk}, populate_existing=True)
    if k is None or k.enroll_code_hash != code_hash or k.revoked_at is not None:
        raise refused  # used (or revoked) by someone else meanwhile: a code works once
    k.credential_hash, k.enroll_code_hash, k.enroll_expires_at, k.enrolled_at = credential, None, None, now
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
    credential = k.credential_hash if k is not None and k.revoked_at is None else None
    await db.commit()  # end the read (and SQLite's write lock) before any slow check
    if credential is None:
        ok = False  # kiosk ids are not secret: no need to spend a slow check to hide which exist
    elif credential.startswith(DEVICE_HASH_PREFIX):
        ok = check_device_secret(credential, body.secret)
    else:  # enrolled before device secrets were hashed the fast way: argon2 once, then upgrade
        ok = await verify_off_loop(credential, body.secret)
        if ok:
            await db.execute(update(Kiosk).where(Kiosk.id == body.kiosk_id, Kiosk.credential_hash == credential)
                             .values(credential_hash=hash_device_secret(body.secret)))
            await db.commit()
    if not ok:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "kiosk credential wrong or revoked")
    assert k is not None
    ttl = ctx.settings.kiosk_token_ttl_s
    return TokenOut(access_token=issue_token(ctx.settings.secret_key, "kiosk", k.id, "kiosk", ttl), expires_in=ttl)
