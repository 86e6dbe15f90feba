"""Administrator operations shared by the CLI and the API: kiosks (enrollment, revocation, names) and staff
accounts. The API passes the administrator's :class:`~server.admin_scope.Scope` (their own municipality, or the
whole region); the CLI passes none (IT on the server).

Exceptions::

    AdminError        no such object (HTTP 404)
     ├── Invalid      a field breaks a rule (HTTP 422, with the field, a code and its parameters)
     └── Conflict     clashes with the current state (HTTP 409, the same)
    OutOfScope        (server.admin_scope) another municipality's object (HTTP 403)
"""

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
from server.admin_scope import Scope
from server.auth import hash_secret, new_enroll_code
from server.db.audit import audit
from server.db.base import utcnow
from server.db.models import STAFF_ROLES, Branch, Kiosk, Municipality, Service, Staff
from signaling.selfcheck_pin import MAX_PIN_LEN, MIN_PIN_LEN, pin_problem

ENROLL_VALID = timedelta(hours=24)
StaffEnd = Literal["disabled", "role_changed"] | None  # how an account change ends its open sessions


class AdminError(Exception):
    pass


class Invalid(AdminError):
    """The request names something that does not exist or breaks a rule (HTTP 422). ``field`` names the request
    field, ``code`` the rule (the admin page's i18n files say it in each language, with ``params``)."""

    def __init__(self, message: str, *, field: str = "", code: str = "invalid", **params: object) -> None:
        super().__init__(message)
        self.field, self.code, self.params = field, code, params


class Conflict(Invalid):
    """The request clashes with the current state (HTTP 409)."""


PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: read out over the phone


def new_password() -> str:
    """A temporary password for an administrator to hand over (shown once): 4 groups of 4, 80 bits."""
    return "-".join("".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(4)) for _ in range(4))


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
    problem = pin_problem(pin)
    if problem == "pin_length":
        raise Invalid(f"the self-check PIN must have {MIN_PIN_LEN} to {MAX_PIN_LEN} digits", field="selfcheck_pin",
                      code="pin_length", min=MIN_PIN_LEN, max=MAX_PIN_LEN)
    if problem == "pin_weak":
        raise Invalid("the self-check PIN must not be one repeated digit or a run such as 123456",
                      field="selfcheck_pin", code="pin_weak")


async def enroll_kiosk(db: AsyncSession, branch_code: str, name: str, actor: str,
                       selfcheck_pin: str | None = None, scope: Scope | None = None) -> Enrollment:
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
    if scope is not None:
        scope.check(branch.municipality_id)
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


async def _kiosk(db: AsyncSession, kiosk_id: int, scope: Scope | None) -> Kiosk:
    k = await db.get(Kiosk, kiosk_id, with_for_update={"of": Kiosk})
    if k is None:
        raise AdminError(f"no kiosk {kiosk_id}")
    if scope is not None:
        scope.check(k.branch.municipality_id)
    return k


async def revoke_kiosk(db: AsyncSession, kiosk_id: int, actor: str, scope: Scope | None = None) -> None:
    """The kiosk's credential and any unused enrollment code stop working (its sockets are closed by the
    caller after the commit)."""
    k = await _kiosk(db, kiosk_id, scope)
    k.revoked_at, k.credential_hash, k.enroll_code_hash = utcnow(), None, None
    audit(db, actor, "kiosk.revoked", f"kiosk:{kiosk_id}")


async def rename_kiosk(db: AsyncSession, kiosk_id: int, name: str, actor: str, scope: Scope | None = None) -> Kiosk:
    k = await _kiosk(db, kiosk_id, scope)
    if k.name != name:
        audit(db, actor, "kiosk.renamed", f"kiosk:{kiosk_id}", name=name)
        k.name = name
    return k


# ---------------------------------------------------------------- staff accounts (DESIGN §2: admin manages staff)
MIN_PASSWORD_LEN = 12


async def _services(db: AsyncSession, codes: list[str]) -> list[Service]:
    found = (await db.execute(select(Service).where(Service.code.in_(codes)))).scalars().all()
    missing = sorted(set(codes) - {s.code for s in found})
    if missing:
        known = (await db.execute(select(Service.code))).scalars().all()
        raise Invalid(f"unknown service {', '.join(missing)}; known: {', '.join(known)}", field="skills",
                      code="unknown_service", names=", ".join(missing))
    return list(found)


def _languages(languages: list[str]) -> list[str]:
    """Spoken languages as the resident's wire codes ("ja", "en"), at least one."""
    if not languages or any(not re.fullmatch(r"[a-z]{2,3}", x) for x in languages):
        raise Invalid(f"languages must be codes like ja or en, at least one: {languages!r}", field="languages",
                      code="languages")
    return list(dict.fromkeys(languages))


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LEN:
        raise Invalid(f"the password must have at least {MIN_PASSWORD_LEN} characters", field="password",
                      code="password_short", min=MIN_PASSWORD_LEN)


async def create_staff(db: AsyncSession, *, username: str, display_name: str, municipality_code: str, role: str,
                       skills: list[str], capabilities: list[str], password: str, actor: str,
                       languages: list[str] | None = None, scope: Scope | None = None) -> Staff:
    if role not in STAFF_ROLES:
        raise Invalid(f"unknown role {role!r}; known: {', '.join(STAFF_ROLES)}", field="role", code="unknown_role")
    _check_password(password)
    langs = _languages(languages or ["ja"])
    password_hash = await hashed(password)
    muni = (await db.execute(select(Municipality).where(Municipality.code == municipality_code))).scalar_one_or_none()
    if muni is None:
        raise Invalid(f"unknown municipality {municipality_code!r}", field="municipality_code",
                      code="unknown_municipality")
    if scope is not None:
        scope.check(muni.id)
    if (await db.execute(select(Staff.id).where(Staff.username == username))).first() is not None:
        raise Conflict(f"the username {username!r} is taken", field="username", code="username_taken")
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
                       languages: list[str] | None = None, scope: Scope | None = None) -> tuple[Staff, StaffEnd]:
    """Change an account. Returns (staff, what ends its sessions): a disable or a role change bumps the token
    version (older access tokens are refused); a disable also revokes its refresh tokens. The caller closes the
    account's live sockets after committing (the server's account watch does too, within a second)."""
    s = await _staff(db, staff_id, scope)
    if actor == f"staff:{staff_id}" and (active is False or (role is not None and role != "admin")):
        raise Conflict("you cannot disable your own account or take away your own admin role",
                       field="active" if active is False else "role", code="own_account")
    changed: dict[str, object] = {}
    role_changed = role is not None and role != s.role
    if role is not None:
        if role not in STAFF_ROLES:
            raise Invalid(f"unknown role {role!r}; known: {', '.join(STAFF_ROLES)}", field="role", code="unknown_role")
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


async def _staff(db: AsyncSession, staff_id: int, scope: Scope | None) -> Staff:
    s = await db.get(Staff, staff_id, with_for_update={"of": Staff})
    if s is None:
        raise AdminError(f"no staff member {staff_id}")
    if scope is not None:
        scope.check(s.municipality_id)
    return s


async def set_staff_password(db: AsyncSession, staff_id: int, password: str, actor: str,
                             scope: Scope | None = None) -> None:
    _check_password(password)
    password_hash = await hashed(password)
    s = await _staff(db, staff_id, scope)
    s.password_hash = password_hash
    s.token_version += 1  # every access token issued before is refused, and every login must start again
    await refresh_tokens.revoke_all(db, staff_id, utcnow())
    audit(db, actor, "staff.password_reset", f"staff:{staff_id}")
