"""Administrator operations on the places and the catalogue (issue 13 item 1): municipalities (names, whether
supervisors of other municipalities may listen in), branches (names, one-way distance to city hall, used by the
introduction-effect report) and the region-wide services (names and descriptions in every language, the hours
the kiosk shows when nobody is on duty, membership of the shared wide-area pool).

Every change is audited with what changed; a request that changes nothing writes nothing. Errors as in
:mod:`server.admin_ops`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.admin_ops import AdminError, Conflict
from server.admin_scope import Scope
from server.db.audit import audit
from server.db.models import Branch, Municipality, Service


def _apply(obj: object, changes: dict[str, Any]) -> dict[str, Any]:
    """Set the given (not None) attributes that differ; returns what changed."""
    changed = {k: v for k, v in changes.items() if v is not None and getattr(obj, k) != v}
    for k, v in changed.items():
        setattr(obj, k, v)
    return changed


# ---------------------------------------------------------------- municipalities
async def _municipality(db: AsyncSession, code: str, scope: Scope | None) -> Municipality:
    m = (await db.execute(select(Municipality).where(Municipality.code == code).with_for_update())
         ).scalar_one_or_none()
    if m is None:
        raise AdminError(f"no municipality {code!r}")
    if scope is not None:
        scope.check(m.id)
    return m


async def set_outside_supervision(db: AsyncSession, municipality_code: str, allowed: bool, actor: str,
                                  scope: Scope | None = None) -> Municipality:
    """Whether supervisors of other municipalities may listen in to this municipality's calls (off by default)."""
    m = await _municipality(db, municipality_code, scope)
    if m.outside_supervision != allowed:
        m.outside_supervision = allowed
        audit(db, actor, "municipality.outside_supervision", f"municipality:{m.code}", allowed=allowed)
    return m


async def rename_municipality(db: AsyncSession, code: str, actor: str, scope: Scope | None = None, *,
                              name_ja: str | None = None, name_en: str | None = None) -> Municipality:
    m = await _municipality(db, code, scope)
    changed = _apply(m, {"name_ja": name_ja, "name_en": name_en})
    if changed:
        audit(db, actor, "municipality.updated", f"municipality:{code}", **changed)
    return m


# ---------------------------------------------------------------- branches
async def create_branch(db: AsyncSession, actor: str, scope: Scope | None = None, *, municipality_code: str,
                        code: str, name_ja: str, name_en: str, distance_km: float) -> Branch:
    m = await _municipality(db, municipality_code, scope)
    if (await db.execute(select(Branch.id).where(Branch.code == code))).first() is not None:
        raise Conflict(f"the branch code {code!r} is taken", field="code", code="code_taken")
    b = Branch(municipality_id=m.id, code=code, name_ja=name_ja, name_en=name_en, distance_km=distance_km)
    db.add(b)
    await db.flush()
    await db.refresh(b, ["municipality"])
    audit(db, actor, "branch.created", f"branch:{code}", municipality=municipality_code, name_ja=name_ja,
          name_en=name_en, distance_km=distance_km)
    return b


async def update_branch(db: AsyncSession, code: str, actor: str, scope: Scope | None = None, *,
                        name_ja: str | None = None, name_en: str | None = None,
                        distance_km: float | None = None) -> Branch:
    b = (await db.execute(select(Branch).where(Branch.code == code).with_for_update(of=Branch))).scalar_one_or_none()
    if b is None:
        raise AdminError(f"no branch {code!r}")
    if scope is not None:
        scope.check(b.municipality_id)
    changed = _apply(b, {"name_ja": name_ja, "name_en": name_en, "distance_km": distance_km})
    if changed:
        audit(db, actor, "branch.updated", f"branch:{code}", **changed)
    return b


# ---------------------------------------------------------------- services (region-wide)
SERVICE_TEXTS = ("name_ja", "name_en", "description_ja", "description_en", "hours_ja", "hours_en")


async def create_service(db: AsyncSession, actor: str, scope: Scope | None = None, *, code: str,
                         texts: dict[str, str], shared: bool) -> Service:
    if scope is not None:
        scope.check_region()
    if (await db.execute(select(Service.id).where(Service.code == code))).first() is not None:
        raise Conflict(f"the service code {code!r} is taken", field="code", code="code_taken")
    last = (await db.execute(select(func.max(Service.sort_order)))).scalar() or 0
    values = {k: texts.get(k, "") for k in SERVICE_TEXTS}
    s = Service(code=code, shared=shared, is_general=False, sort_order=last + 1, **values)
    db.add(s)
    await db.flush()
    audit(db, actor, "service.created", f"service:{code}", shared=shared, **values)
    return s


async def update_service(db: AsyncSession, code: str, actor: str, scope: Scope | None = None, *,
                         texts: dict[str, str | None], shared: bool | None = None) -> Service:
    if scope is not None:
        scope.check_region()
    s = (await db.execute(select(Service).where(Service.code == code).with_for_update())).scalar_one_or_none()
    if s is None:
        raise AdminError(f"no service {code!r}")
    changed = _apply(s, {**{k: texts.get(k) for k in SERVICE_TEXTS}, "shared": shared})
    if changed:
        audit(db, actor, "service.updated", f"service:{code}", **changed)
    return s
