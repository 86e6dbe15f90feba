"""Admin API for the places and the catalogue: municipalities, branches, services, and the settings an
administrator reads but sets elsewhere (retention and the shared-pool wait are server settings:
``MADOGUCHI_RETENTION_DAYS``, ``MADOGUCHI_SHARED_POOL_AFTER_S``). Scoped as routes/admin.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from server.admin_catalog import (
    create_branch,
    create_service,
    rename_municipality,
    set_outside_supervision,
    update_branch,
    update_service,
)
from server.admin_ops import AdminError
from server.admin_scope import OutOfScope
from server.api.admin_deps import Admin, AdminScope, admin_http
from server.api.deps import DB, Ctx
from server.db.models import Branch, Municipality, Service
from server.retention.records import RECORD_TYPES

router = APIRouter(prefix="/api/admin", tags=["admin"])
Code = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,31}$")]
Name = Annotated[str, Field(min_length=1, max_length=64)]
Km = Annotated[float, Field(ge=0, le=1000)]  # one way, road distance to city hall
Description = Annotated[str, Field(max_length=256)]
Hours = Annotated[str, Field(max_length=128)]


# ---------------------------------------------------------------- municipalities
class MunicipalityOut(BaseModel):
    code: str
    name_ja: str
    name_en: str
    outside_supervision: bool  # supervisors of other municipalities may listen in to this one's calls


class MunicipalityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outside_supervision: bool | None = None
    name_ja: Name | None = None
    name_en: Name | None = None


def _municipality_out(m: Municipality) -> MunicipalityOut:
    return MunicipalityOut(code=m.code, name_ja=m.name_ja, name_en=m.name_en, outside_supervision=m.outside_supervision)


@router.get("/municipalities")
async def list_municipalities(db: DB, scope: AdminScope) -> list[MunicipalityOut]:
    q = select(Municipality).order_by(Municipality.id)
    if not scope.region:
        q = q.where(Municipality.id == scope.municipality_id)
    return [_municipality_out(m) for m in (await db.execute(q)).scalars().all()]


@router.patch("/municipalities/{code}")
async def change_municipality(code: str, body: MunicipalityIn, db: DB, scope: AdminScope) -> MunicipalityOut:
    try:
        m = await rename_municipality(db, code, scope.actor, scope, name_ja=body.name_ja, name_en=body.name_en)
        if body.outside_supervision is not None:
            m = await set_outside_supervision(db, code, body.outside_supervision, scope.actor, scope)
        out = _municipality_out(m)
        await db.commit()
    except (AdminError, OutOfScope) as exc:
        raise admin_http(exc) from None
    return out


# ---------------------------------------------------------------- branches
class BranchOut(BaseModel):
    code: str
    municipality: str
    name_ja: str
    name_en: str
    distance_km: float


class BranchCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    municipality_code: Annotated[str, Field(min_length=1, max_length=32)]
    code: Code
    name_ja: Name
    name_en: Name
    distance_km: Km


class BranchUpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name_ja: Name | None = None
    name_en: Name | None = None
    distance_km: Km | None = None


def _branch_out(b: Branch) -> BranchOut:
    return BranchOut(code=b.code, municipality=b.municipality.code, name_ja=b.name_ja, name_en=b.name_en,
                     distance_km=b.distance_km)


@router.get("/branches")
async def list_branches(db: DB, scope: AdminScope) -> list[BranchOut]:
    q = select(Branch).order_by(Branch.municipality_id, Branch.id)
    if not scope.region:
        q = q.where(Branch.municipality_id == scope.municipality_id)
    return [_branch_out(b) for b in (await db.execute(q)).scalars().all()]


@router.post("/branches", status_code=201)
async def add_branch(body: BranchCreateIn, db: DB, scope: AdminScope) -> BranchOut:
    try:
        b = await create_branch(db, scope.actor, scope, **body.model_dump())
        out = _branch_out(b)
        await db.commit()
    except (AdminError, OutOfScope) as exc:
        raise admin_http(exc) from None
    return out


@router.patch("/branches/{code}")
async def change_branch(code: str, body: BranchUpdateIn, db: DB, scope: AdminScope) -> BranchOut:
    try:
        b = await update_branch(db, code, scope.actor, scope, **body.model_dump())
        out = _branch_out(b)
        await db.commit()
    except (AdminError, OutOfScope) as exc:
        raise admin_http(exc) from None
    return out


# ---------------------------------------------------------------- services (region-wide)
class ServiceOut(BaseModel):
    code: str
    name_ja: str
    name_en: str
    description_ja: str
    description_en: str
    hours_ja: str  # what the kiosk shows when nobody is on duty for the service
    hours_en: str
    shared: bool  # in the wide-area pool: other municipalities' specialists may take it after the pool wait
    is_general: bool


class ServiceCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Code
    name_ja: Name
    name_en: Name
    description_ja: Description = ""
    description_en: Description = ""
    hours_ja: Hours = ""
    hours_en: Hours = ""
    shared: bool = True


class ServiceUpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name_ja: Name | None = None
    name_en: Name | None = None
    description_ja: Description | None = None
    description_en: Description | None = None
    hours_ja: Hours | None = None
    hours_en: Hours | None = None
    shared: bool | None = None


def _service_out(s: Service) -> ServiceOut:
    return ServiceOut(code=s.code, name_ja=s.name_ja, name_en=s.name_en, description_ja=s.description_ja,
                      description_en=s.description_en, hours_ja=s.hours_ja, hours_en=s.hours_en, shared=s.shared,
                      is_general=s.is_general)


@router.get("/services")
async def list_services(db: DB, _: AdminScope) -> list[ServiceOut]:
    rows = (await db.execute(select(Service).order_by(Service.sort_order, Service.id))).scalars().all()
    return [_service_out(s) for s in rows]


@router.post("/services", status_code=201)
async def add_service(body: ServiceCreateIn, db: DB, scope: AdminScope) -> ServiceOut:
    texts = body.model_dump(exclude={"code", "shared"})
    try:
        s = await create_service(db, scope.actor, scope, code=body.code, texts=texts, shared=body.shared)
        out = _service_out(s)
        await db.commit()
    except (AdminError, OutOfScope) as exc:
        raise admin_http(exc) from None
    return out


@router.patch("/services/{code}")
async def change_service(code: str, body: ServiceUpdateIn, db: DB, scope: AdminScope) -> ServiceOut:
    try:
        s = await update_service(db, code, scope.actor, scope, texts=body.model_dump(exclude={"shared"}),
                                 shared=body.shared)
        out = _service_out(s)
        await db.commit()
    except (AdminError, OutOfScope) as exc:
        raise admin_http(exc) from None
    return out


# ---------------------------------------------------------------- settings (read here, set in the environment)
class RetentionOut(BaseModel):
    record: str
    days: int
    what: str


class AdminSettingsOut(BaseModel):
    username: str  # the administrator asking
    display_name: str
    municipality: str  # their own
    region: bool  # they administer the whole region (and the services)
    region_municipality: str
    shared_pool_after_s: float  # MADOGUCHI_SHARED_POOL_AFTER_S
    retention: list[RetentionOut]  # MADOGUCHI_RETENTION_DAYS
    retention_run_s: float  # MADOGUCHI_RETENTION_RUN_S


@router.get("/settings")
async def admin_settings(ctx: Ctx, staff: Admin, scope: AdminScope) -> AdminSettingsOut:
    s = ctx.settings
    retention = [RetentionOut(record=name, days=s.retention_days[name], what=r.what)
                 for name, r in RECORD_TYPES.items() if name in s.retention_days]
    return AdminSettingsOut(username=staff.username, display_name=staff.display_name,
                            municipality=scope.municipality_code, region=scope.region,
                            region_municipality=s.region_admin_municipality,
                            shared_pool_after_s=s.shared_pool_after_s, retention=retention,
                            retention_run_s=s.retention_run_s)
