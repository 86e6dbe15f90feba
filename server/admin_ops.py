"""Administrator operations shared by the CLI and the API: kiosks, enrollment, revocation."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import hash_secret, new_enroll_code
from server.db.base import utcnow
from server.db.models import Branch, Kiosk
from server.queue.context import audit

ENROLL_VALID = timedelta(hours=24)


class AdminError(Exception):
    pass


async def create_enrollment(db: AsyncSession, branch_code: str, name: str, actor: str) -> tuple[int, str]:
    """New kiosk at a branch with a one-time 8-digit code valid 24 h. Returns (kiosk id, code)."""
    branch = (await db.execute(select(Branch).where(Branch.code == branch_code))).scalar_one_or_none()
    if branch is None:
        codes = (await db.execute(select(Branch.code))).scalars().all()
        raise AdminError(f"unknown branch {branch_code!r}; known: {', '.join(codes)}")
    code = new_enroll_code()
    k = Kiosk(branch_id=branch.id, name=name or f"{branch.name_ja} kiosk", enroll_code_hash=hash_secret(code),
              enroll_expires_at=utcnow() + ENROLL_VALID)
    db.add(k)
    await db.flush()
    audit(db, actor, "kiosk.enroll_code", f"kiosk:{k.id}", branch=branch_code)
    return k.id, code


async def revoke_kiosk(db: AsyncSession, kiosk_id: int, actor: str) -> None:
    k = await db.get(Kiosk, kiosk_id, with_for_update={"of": Kiosk})
    if k is None:
        raise AdminError(f"no kiosk {kiosk_id}")
    k.revoked_at, k.credential_hash = utcnow(), None
    audit(db, actor, "kiosk.revoked", f"kiosk:{kiosk_id}")
