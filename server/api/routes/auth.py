"""Staff login; kiosk enrollment (one-time code -> device secret) and device token exchange.

argon2 costs ~0.13 s of CPU per check here: it runs in a bounded thread pool (server/password_hashing.py),
never on the event loop, and never inside a database transaction (on SQLite every transaction holds the write
lock, ``BEGIN IMMEDIATE``): each route reads what it needs, ends that transaction, checks, then writes briefly.
Login and enrollment attempts are limited per client address and per account first (server/attempt_limits.py:
429 with Retry-After); failures are audited (``auth.login_failed``, ``kiosk.enroll_failed``).

Passwords and the 8-digit enrollment codes are guessable, so they get argon2. A kiosk's device secret is 256
random bits (``new_device_secret``): nobody can guess it, so a slow hash buys nothing and costs every kiosk
reconnection 0.13 s of CPU (a node's death sends hundreds at once to the survivors). Device secrets are
stored as ``sha256$<hex>``; one still stored with argon2 (enrolled before) is checked with argon2 once and
then stored the fast way.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server import refresh_tokens
from server.api.deps import DB, Ctx
from server.attempt_limits import AttemptLimiter
from server.auth import issue_token, new_device_secret
from server.context import AppContext
from server.db.audit import audit
from server.db.models import Kiosk, Staff
from server.password_hashing import HashingBusy

router = APIRouter(prefix="/api", tags=["auth"])


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


async def admit(limiter: AttemptLimiter, request: Request, account: str) -> None:
    """Count the attempt; 429 with Retry-After when the address or the account has used its windows."""
    verdict = await limiter.attempt(client_address(request), account)
    if not verdict.allowed:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "too many attempts; try again later",
                            headers={"Retry-After": str(verdict.retry_after_s)})


async def checked(ctx: AppContext, hashed: str | None, secret: str) -> bool:
    """One argon2 check in the bounded pool (503 with Retry-After when its queue is full)."""
    try:
        return await ctx.hashing.verify(hashed, secret)
    except HashingBusy:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "busy; try again shortly",
                            headers={"Retry-After": "1"}) from None


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
    refresh_token: str  # one use: POST /api/auth/refresh returns the next one
    refresh_expires_in: int
    staff: StaffOut


class RefreshIn(BaseModel):
    refresh_token: Annotated[str, Field(min_length=16, max_length=256)]


def staff_out(s: Staff) -> StaffOut:
    return StaffOut(id=s.id, username=s.username, display_name=s.display_name, role=s.role,
                    municipality=s.municipality.name_ja, municipality_id=s.municipality_id,
                    skills=[x.code for x in s.skills], capabilities=list(s.capabilities or []))


@router.post("/auth/login", responses={429: {"description": "too many attempts (Retry-After)"}})
async def login(body: LoginIn, request: Request, db: DB, ctx: Ctx) -> LoginOut:
    await admit(ctx.limits.login, request, body.username)
    # two columns, not the account with its municipality and skills: a flood of wrong guesses costs the event
    # loop as little as possible (bench/login_flood.py)
    row = (await db.execute(select(Staff.id, Staff.password_hash)
                            .where(Staff.username == body.username, Staff.active))).first()
    await db.commit()  # end the read (and SQLite's write lock) before the slow check
    ok = await checked(ctx, row.password_hash if row is not None else None, body.password)
    s = await db.get(Staff, row.id) if row is not None and ok else None  # the whole account, for the right one
    if s is None or not s.active:
        audit(db, f"user:{body.username}"[:64], "auth.login_failed", address=client_address(request))
        await db.commit()
        await ctx.limits.login.failed(client_address(request))
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
    await ctx.limits.login.succeeded(body.username)
    out = _tokens(ctx, db, s, None)
    audit(db, f"staff:{s.id}", "auth.login")
    await db.commit()
    return out


def _tokens(ctx: AppContext, db: AsyncSession, s: Staff, issued: refresh_tokens.Issued | None) -> LoginOut:
    """A short-lived access token at the account's current role and token version, with a refresh token (a new
    family at login, the next of its family at a refresh)."""
    settings = ctx.settings
    ttl = settings.access_token_ttl_s
    token = issue_token(settings.secret_key, "staff", s.id, s.role, ttl, ver=s.token_version)
    issued = issued or refresh_tokens.issue(db, s.id, ctx.now(), settings.refresh_token_ttl_s)
    return LoginOut(access_token=token, expires_in=ttl, refresh_token=issued.token,
                    refresh_expires_in=settings.refresh_token_ttl_s, staff=staff_out(s))


REFRESH_REFUSED = "refresh token invalid, expired or revoked: log in again"


@router.post("/auth/refresh")
async def refresh(body: RefreshIn, db: DB, ctx: Ctx) -> LoginOut:
    """Exchange a refresh token (once) for a new access token and the next refresh token. A refresh token
    used a second time ends its whole family (every session of that login)."""
    try:
        s, issued = await refresh_tokens.rotate(db, body.refresh_token, ctx.now(), ctx.settings.refresh_token_ttl_s)
    except refresh_tokens.RefreshRefused:
        await db.commit()  # a reuse's revocation and audit are kept
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, REFRESH_REFUSED) from None
    out = _tokens(ctx, db, s, issued)
    await db.commit()
    return out


@router.post("/auth/logout")
async def logout(body: RefreshIn, db: DB, ctx: Ctx) -> dict[str, bool]:
    """End this login: its refresh token family is revoked (access tokens already issued run out within
    MADOGUCHI_ACCESS_TOKEN_TTL_S)."""
    staff_id = await refresh_tokens.revoke_token(db, body.refresh_token, ctx.now())
    if staff_id is not None:
        audit(db, f"staff:{staff_id}", "auth.logout")
    await db.commit()
    return {"logged_out": staff_id is not None}


class EnrollIn(BaseModel):
    code: Annotated[str, Field(pattern=r"^\d{8}$")]
    kiosk_id: int


class EnrollOut(BaseModel):
    kiosk_id: int
    secret: str
    branch: str
    selfcheck_pin_hash: str  # argon2 of the IT self-check PIN: the kiosk checks the PIN against it (also offline)


@router.post("/kiosk/enroll", responses={429: {"description": "too many attempts (Retry-After)"}})
async def enroll(body: EnrollIn, request: Request, db: DB, ctx: Ctx) -> EnrollOut:
    """Exchange the one-time code an administrator gave for the device's own secret (shown once)."""
    refused = HTTPException(status.HTTP_401_UNAUTHORIZED, "enrollment code wrong, used or expired")
    await admit(ctx.limits.enroll, request, str(body.kiosk_id))
    k = await db.get(Kiosk, body.kiosk_id)
    now = ctx.now()
    usable = k is not None and k.revoked_at is None and k.enroll_expires_at is not None and k.enroll_expires_at >= now
    code_hash = k.enroll_code_hash if k is not None and usable else None
    await db.commit()  # end the read before the slow checks
    if not await checked(ctx, code_hash, body.code):
        audit(db, f"address:{client_address(request)}"[:64], "kiosk.enroll_failed", f"kiosk:{body.kiosk_id}"[:64])
        await db.commit()
        await ctx.limits.enroll.failed(client_address(request))
        raise refused
    secret = new_device_secret()
    credential = hash_device_secret(secret)
    k = await db.get(Kiosk, body.kiosk_id, with_for_update={"of": Kiosk}, populate_existing=True)
    if k is None or k.enroll_code_hash != code_hash or k.revoked_at is not None:
        raise refused  # used (or revoked) by someone else meanwhile: a code works once
    k.credential_hash, k.enroll_code_hash, k.enroll_expires_at, k.enrolled_at = credential, None, None, now
    audit(db, f"kiosk:{k.id}", "kiosk.enrolled", f"kiosk:{k.id}")
    branch, pin_hash = k.branch.name_ja, k.selfcheck_pin_hash or ""
    await db.commit()
    return EnrollOut(kiosk_id=body.kiosk_id, secret=secret, branch=branch, selfcheck_pin_hash=pin_hash)


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
        ok = await checked(ctx, credential, body.secret)
        if ok:
            await db.execute(update(Kiosk).where(Kiosk.id == body.kiosk_id, Kiosk.credential_hash == credential)
                             .values(credential_hash=hash_device_secret(body.secret)))
            await db.commit()
    if not ok:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "kiosk credential wrong or revoked")
    assert k is not None
    ttl = ctx.settings.kiosk_token_ttl_s
    return TokenOut(access_token=issue_token(ctx.settings.secret_key, "kiosk", k.id, "kiosk", ttl), expires_in=ttl)
