"""Rotating refresh tokens for staff (RFC 6819 §5.2.2.3, OAuth 2.0 Security BCP §4.14).

A login starts a *family*; each ``POST /api/auth/refresh`` marks the presented token used and issues the
next one of its family with a fresh short-lived access token. A token presented after it was used (a copy
in someone else's hands, or a replay) revokes the whole family: whoever holds the newest one must log in
again. Tokens are 256 random bits, stored as their SHA-256 only. A password reset or a disabled account
revokes every family of the account (:func:`revoke_all`); a role change does not (the next refresh
carries the new role and token version).

Exceptions::

    RefreshRefused          unknown, expired, revoked or reused (the caller answers 401)
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.audit import audit
from server.db.models import RefreshToken, Staff


class RefreshRefused(Exception):
    pass


@dataclass(frozen=True)
class Issued:
    token: str
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(db: AsyncSession, staff_id: int, now: datetime, ttl_s: int, family: str | None = None) -> Issued:
    """Add a refresh token (a new family for a login) to the caller's transaction."""
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(seconds=ttl_s)
    db.add(RefreshToken(token_hash=_digest(token), family=family or secrets.token_hex(16), staff_id=staff_id,
                        issued_at=now, expires_at=expires))
    return Issued(token, expires)


async def rotate(db: AsyncSession, token: str, now: datetime, ttl_s: int) -> tuple[Staff, Issued]:
    """Use ``token`` once: returns its account and the next token of the family. The caller commits (also
    when this raises: a reuse's revocation and its audit must be kept)."""
    row = (await db.execute(select(RefreshToken).where(RefreshToken.token_hash == _digest(token))
                            .with_for_update())).scalar_one_or_none()
    if row is None:
        raise RefreshRefused("refresh token unknown")
    if row.revoked_at is not None:
        raise RefreshRefused("refresh token revoked")
    if row.used_at is not None:  # presented a second time: the family is compromised
        await revoke_family(db, row.family, now)
        audit(db, f"staff:{row.staff_id}", "auth.refresh_reused", f"staff:{row.staff_id}", family=row.family)
        raise RefreshRefused("refresh token already used: every session of this login is ended")
    if row.expires_at <= now:
        raise RefreshRefused("refresh token expired")
    staff = await db.get(Staff, row.staff_id)
    if staff is None or not staff.active:
        raise RefreshRefused("account unknown or disabled")
    # the claim is one conditional update: two concurrent uses of one token cannot both rotate it
    claimed = await db.execute(update(RefreshToken).where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None))
                               .values(used_at=now))
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        await revoke_family(db, row.family, now)
        raise RefreshRefused("refresh token already used: every session of this login is ended")
    return staff, issue(db, staff.id, now, ttl_s, row.family)


async def revoke_family(db: AsyncSession, family: str, now: datetime) -> None:
    await db.execute(update(RefreshToken).where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
                     .values(revoked_at=now))


async def revoke_token(db: AsyncSession, token: str, now: datetime) -> int | None:
    """Log out: revoke the family of ``token``. Returns its staff id (None for an unknown token)."""
    row = (await db.execute(select(RefreshToken).where(RefreshToken.token_hash == _digest(token)))
           ).scalar_one_or_none()
    if row is None:
        return None
    await revoke_family(db, row.family, now)
    return row.staff_id


async def revoke_all(db: AsyncSession, staff_id: int, now: datetime) -> None:
    await db.execute(update(RefreshToken).where(RefreshToken.staff_id == staff_id, RefreshToken.revoked_at.is_(None))
                     .values(revoked_at=now))
