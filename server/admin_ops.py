"""Administrator operations shared by the CLI and the API: kiosks (enrollment, revocation) and staff accounts."""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server import refresh_tokens
from server.auth import hash_secret, new_enroll_code
from server.db.audit import audit
from server.db.base import utcnow
from server.db.models import STAFF_ROLES, Branch, Kiosk, Municipality, Service, Staff

ENROLL_VALID = timedelta(hours=24)
MIN_PIN_LEN, MAX_PIN_LEN = 6, 12
StaffEnd = Literal["disabled", "role_changed"] | None  # how an account change ends its open sessions


class AdminError(Exception):
    pass


async def hashed(secret: str) -> str:
    """argon2 in a worker thread: never on the event loop, and callers hash before their transaction starts."""
    return await asyncio.to_thread(hash_secret, secret)


def new_selfcheck_pin() -> str:
    while True:
        pin = f"{secrets.randbelow(10**MIN_PIN_LEN):0{MIN_PIN_LEN}d}"
        try:
            check_selfcheck_pin(pin)
            return pin
        except Invalid:
            continue


@dataclass(frozen=True)
class Enrollment:
    kiosk_id: int
    code: str  # the one-time enrollment code (8 digits, 24 h)
    selfcheck_pin: str | None  # the IT self-check PIN when it was generated (shown once), None when given


def check_selfcheck_pin(pin: str) -> None:
    if not pin.isdigit() or not MIN_PIN_LEN <= len(pin) <= MAX_PIN_LEN:
        raise Invalid(f"the self-check PIN must have {MIN_PIN_LEN} to {MAX_PIN_LEN} digits")
    if len(set(pin)) == 1 or pin in "01234567890" or pin in "09876543210":
        raise Invalid("the self-check PIN must not be one repeated digit or a run such as 123456")


async def enroll_kiosk(db: AsyncSession, branch_code: str, name: str, actor: str,
                       selfcheck_pin: str | None = None) -> Enrollment:
    """New kiosk at a branch with a one-time 8-digit code valid 24 h, and its IT self-check PIN: the one given,
    or a random 6-digit one returned to be shown once. Only the PIN's argon2 hash is kept (the kiosk gets the
    hash at enrollment and checks the PIN itself, also offline)."""
    if selfcheck_pin is not None:
        check_selfcheck_pin(selfcheck_pin)
    pin = selfcheck_pin or new_selfcheck_pin()
    code = new_enroll_code()
    code_hash, pin_hash = await hashed(code), await hashed(pin)  # before the transaction's first statement
    branch = (await db.execute(select(Branch).where(Branch.code == branch_code))).scalar_one_or_none()
    if branch is None:
        codes = (await db.execute(select(Branch.code))).scalars().all()
        raise AdminError(f"unknown branch {branch_code!r}; known: {', '.join(codes)}")
    k = Kiosk(branch_id=branch.id, name=name or f"{branch.name_ja} kiosk", enroll_code_hash=code_hash,
              enroll_expires_at=utcnow() + ENROLL_VALID, selfcheck_pin_hash=pin_hash)
    db.add(k)
    await db.flush()
    audit(db, actor, "kiosk.enroll_code", f"kiosk:{k.id}", branch=branch_code)
    return Enrollment(k.id, code, None if selfcheck_pin else pin)


async def create_enrollment(db: AsyncSession, branch_code: str, name: str, actor: str) -> tuple[int, str]:
    """:func:`enroll_kiosk` with a random self-check PIN nobody is shown (tests, benchmarks). Returns (kiosk id,
    code)."""
    e = await enroll_kiosk(db, branch_code, name, actor)
    return e.kiosk_id, e.code


async def revoke_kiosk(db: AsyncSession, kiosk_id: int, actor: str) -> None:
    k = await db.get(Kiosk, kiosk_id, with_for_update={"of": Kiosk})
    if k is None:
        raise AdminError(f"no kiosk {kiosk_id}")
    k.revoked_at, k.credential_hash = utcnow(), None
    audit(db, actor, "kiosk.revoked", f"kiosk:{kiosk_id}")


# ---------------------------------------------------------------- staff accounts (DESIGN §2: admin manages staff)
MIN_PASSWORD_LEN = 12


class Invalid(AdminError):
    """The request names something that does not exist or breaks a rule (HTTP 422)."""


class Conflict(AdminError):
    """The request clashes with the current state (HTTP 409)."""


async def _services(db: AsyncSession, codes: list[str]) -> list[Service]:
    found = (await db.execute(select(Service).where(Service.code.in_(codes)))).scalars().all()
    missing = sorted(set(codes) - {s.code for s in found})
    if missing:
        known = (await db.execute(select(Service.code))).scalars().all()
        raise Invalid(f"unknown service {', '.join(missing)}; known: {', '.join(known)}")
    return list(found)


def _languages(languages: list[str]) -> list[str]:
    """Spoken languages as the resident's wire codes ("ja", "en"), at least one."""
    if not languages or any(not re.fullmatch(r"[a-z]{2,3}", x) for x in languages):
        raise Invalid(f"languages must be codes like ja or en, at least one: {languages!r}")
    return list(dict.fromkeys(languages))


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LEN:
        raise Invalid(f"the password must have at least {MIN_PASSWORD_LEN} characters")


async def create_staff(db: AsyncSession, *, username: str, display_name: str, municipality_code: str, role: str,
                       skills: list[str], capabilities: list[str], password: str, actor: str,
                       languages: list[str] | None = None) -> Staff:
    if role not in STAFF_ROLES:
        raise Invalid(f"unknown role {role!r}; known: {', '.join(STAFF_ROLES)}")
    _check_password(password)
    langs = _languages(languages or ["ja"])
    password_hash = await hashed(password)
    muni = (await db.execute(select(Municipality).where(Municipality.code == municipality_code))).scalar_one_or_none()
    if muni is None:
        raise Invalid(f"unknown municipality {municipality_code!r}")
    if (await db.execute(select(Staff.id).where(Staff.username == username))).first() is not None:
        raise Conflict(f"the username {username!r} is taken")
    s = Staff(username=username, display_name=display_name, municipality=muni, role=role,
              password_hash=password_hash, capabilities=list(capabilities), active=True, languages=langs,
              skills=await _services(db, skills))
    db.add(s)
    await db.flush()
    audit(db, actor, "staff.created", f"staff:{s.id}", role=role, municipality=municipality_code, skills=skills)
    return s


async def update_staff(db: AsyncSession, staff_id: int, actor: str, *, display_name: str | None = None,
                       role: str | None = None, skills: list[str] | None = None,
                       capabilities: list[str] | None = None, active: bool | None = None,
                       languages: list[str] | None = None) -> tuple[Staff, StaffEnd]:
    """Change an account. Returns (staff, what ends its sessions): a disable or a role change bumps the token
    version (older access tokens are refused); a disable also revokes its refresh tokens. The caller closes the
    account's live sockets after committing (the server's account watch does too, within a second)."""
    s = await db.get(Staff, staff_id, with_for_update={"of": Staff})
    if s is None:
        raise AdminError(f"no staff member {staff_id}")
    if actor == f"staff:{staff_id}" and (active is False or (role is not None and role != "admin")):
        raise Conflict("you cannot disable your own account or take away your own admin role")
    changed: dict[str, object] = {}
    role_changed = role is not None and role != s.role
    if role is not None:
        if role not in STAFF_ROLES:
            raise Invalid(f"unknown role {role!r}; known: {', '.join(STAFF_ROLES)}")
        s.role, changed["role"] = role, role
    if display_name is not None:
        s.display_name, changed["display_name"] = display_name, True
    if skills is not None:
        s.skills, changed["skills"] = await _services(db, skills), skills
    if capabilities is not None:
        s.capabilities, changed["capabilities"] = list(capabilities), capabilities
    if languages is not None:  # spoken languages: routing prefers a specialist with the resident's
        s.languages, changed["languages"] = _languages(languages), languages
    disabled_now = active is False and s.active
    if active is not None:
        s.active, changed["active"] = active, active
    if disabled_now:
        s.status, s.status_reason = "offline", ""
        await refresh_tokens.revoke_all(db, staff_id, utcnow())
    if disabled_now or role_changed:
        s.token_version += 1
    audit(db, actor, "staff.updated", f"staff:{staff_id}", **changed)
    return s, "disabled" if disabled_now else "role_changed" if role_changed else None


async def set_staff_password(db: AsyncSession, staff_id: int, password: str, actor: str) -> None:
    _check_password(password)
    password_hash = await hashed(password)
    s = await db.get(Staff, staff_id, with_for_update={"of": Staff})
    if s is None:
        raise AdminError(f"no staff member {staff_id}")
    s.password_hash = password_hash
    s.token_version += 1  # every access token issued before is refused, and every login must start again
    await refresh_tokens.revoke_all(db, staff_id, utcnow())
    audit(db, actor, "staff.password_reset", f"staff:{staff_id}")


# ---------------------------------------------------------------- municipalities (privacy settings)
async def set_outside_supervision(db: AsyncSession, municipality_code: str, allowed: bool, actor: str) -> Municipality:
    """Whether supervisors of other municipalities may listen in to this municipality's calls (off by default)."""
    m = (await db.execute(select(Municipality).where(Municipality.code == municipality_code)
                          .with_for_update())).scalar_one_or_none()
    if m is None:
        raise AdminError(f"no municipality {municipality_code!r}")
    if m.outside_supervision != allowed:
        m.outside_supervision = allowed
        audit(db, actor, "municipality.outside_supervision", f"municipality:{m.code}", allowed=allowed)
    return m
