"""Appointments (issue 12 item 3) for staff: book, list a day, cancel, and the printable day view (HTML, or PDF
printed by the report's Chromium). Only specialists and supervisors of the municipality: other roles are refused
(403), another municipality's appointment or branch is not even confirmed (404). Booking and cancelling run as queue
steps (server/queue/appointment_book.py): audited, pushed to the colleagues' consoles, and the walk-ins' estimates
follow. The day view is audited as a read (``appointment.print``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select

from server.api.deps import DB, Ctx, require_roles
from server.appointments_print import render_day
from server.db.audit import audit
from server.db.models import Appointment, Branch, Service, Staff
from server.queue import appointment_book
from server.queue.errors import Conflict, Forbidden, Invalid, NotFound, QueueError
from server.queue.views import CALL_ROLES
from server.reports.pdf import PdfUnavailable, html_to_pdf
from signaling.principal import Principal
from signaling.protocol.case_number import case_number
from signaling.protocol.models import JST, AppointmentItem

router = APIRouter(prefix="/api/appointments", tags=["appointments"])
ApptStaff = Annotated[Staff, Depends(require_roles("specialist", "supervisor"))]
STATUS = {NotFound: 404, Forbidden: 403, Invalid: 422, Conflict: 409}
Day = Annotated[date | None, Query()]
BranchCode = Annotated[str | None, Query(max_length=32)]
StaffId = Annotated[int | None, Query(ge=1, lt=2**63)]


class AppointmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    branch_code: Annotated[str, Field(min_length=1, max_length=32)]
    service_code: Annotated[str, Field(min_length=1, max_length=64)]
    starts_at: AwareDatetime
    duration_min: Annotated[int, Field(ge=5, le=240)] = 30
    staff_id: Annotated[int, Field(ge=1, lt=2**63)] | None = None
    case_number: Annotated[str, Field(min_length=1, max_length=24)] | None = None

    @field_validator("case_number")
    @classmethod
    def _case(cls, number: str | None) -> str | None:
        return None if number is None else case_number(number)


class BranchOut(BaseModel):
    code: str
    name_ja: str
    name_en: str


class SpecialistOut(BaseModel):
    id: int
    name: str
    services: list[str]


class DayOut(BaseModel):
    """The day's appointments, and what a booking form offers: the municipality's branches and the specialists and
    supervisors of the municipality with their services."""

    day: date
    items: list[AppointmentItem]
    branches: list[BranchOut] = Field(default_factory=list)
    specialists: list[SpecialistOut] = Field(default_factory=list)


def _principal(s: Staff) -> Principal:
    return Principal("staff", s.id, s.role, s.display_name, s.municipality_id)


async def _run(ctx: Ctx, op: object, *args: object) -> AppointmentItem:
    try:
        return await ctx.engine.run(op, *args)  # type: ignore[arg-type,no-any-return]
    except QueueError as exc:
        raise HTTPException(STATUS.get(type(exc), 409), exc.message) from None


@router.post("", status_code=status.HTTP_201_CREATED)
async def book(body: AppointmentIn, ctx: Ctx, staff: ApptStaff) -> AppointmentItem:
    return await _run(ctx, appointment_book.book, _principal(staff), appointment_book.Booking(**body.model_dump()))


@router.post("/{appointment_id}/cancel")
async def cancel(appointment_id: Annotated[int, Path(ge=1, lt=2**63)], ctx: Ctx, staff: ApptStaff) -> AppointmentItem:
    return await _run(ctx, appointment_book.cancel, _principal(staff), appointment_id)


async def _day(ctx: Ctx, db: DB, staff: Staff, day: date | None, branch: str | None,
               staff_id: int | None) -> tuple[date, Branch | None, list[AppointmentItem]]:
    day = day or ctx.now().astimezone(JST).date()
    b = None
    if branch is not None:
        b = (await db.execute(select(Branch).where(Branch.code == branch))).scalar_one_or_none()
        if b is None or b.municipality_id != staff.municipality_id:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such branch in your municipality")
    q = select(Appointment).where(Appointment.municipality_id == staff.municipality_id, Appointment.day == day)
    if b is not None:
        q = q.where(Appointment.branch_id == b.id)
    if staff_id is not None:
        q = q.where(Appointment.staff_id == staff_id)
    rows = (await db.execute(q.order_by(Appointment.starts_at, Appointment.id))).scalars().unique().all()
    return day, b, [appointment_book.item_of(a) for a in rows]


@router.get("")
async def list_day(ctx: Ctx, db: DB, staff: ApptStaff, day: Day = None, branch: BranchCode = None,
                   staff_id: StaffId = None) -> DayOut:
    """The municipality's appointments of ``day`` (Japan time; default today), by time; ``branch``/``staff_id``
    narrow it to one branch or one specialist."""
    day, _, items = await _day(ctx, db, staff, day, branch, staff_id)
    branches = (await db.execute(select(Branch).where(Branch.municipality_id == staff.municipality_id)
                                 .order_by(Branch.id))).scalars().all()
    colleagues = (await db.execute(select(Staff).where(
        Staff.municipality_id == staff.municipality_id, Staff.active, Staff.role.in_(CALL_ROLES)).order_by(Staff.id)
    )).scalars().unique().all()
    await db.commit()
    return DayOut(day=day, items=items,
                  branches=[BranchOut(code=b.code, name_ja=b.name_ja, name_en=b.name_en) for b in branches],
                  specialists=[SpecialistOut(id=s.id, name=s.display_name, services=[x.code for x in s.skills])
                               for s in colleagues])


@router.get("/day")
async def print_day(ctx: Ctx, db: DB, staff: ApptStaff, day: Day = None, branch: BranchCode = None,
                    staff_id: StaffId = None, lang: Annotated[Literal["ja", "en"], Query()] = "ja",
                    format: Annotated[Literal["html", "pdf"], Query()] = "html") -> Response:
    """The day view to print: an HTML page (A4 portrait) or the same as a PDF."""
    day, b, items = await _day(ctx, db, staff, day, branch, staff_id)
    services = {s.code: (s.name_ja if lang == "ja" else s.name_en)
                for s in (await db.execute(select(Service))).scalars().all()}
    muni = staff.municipality.name_ja if lang == "ja" else staff.municipality.name_en
    where = (b.name_ja if lang == "ja" else b.name_en) if b is not None else None
    html = render_day(items, day, muni, where, services, lang, ctx.now())
    audit(db, f"staff:{staff.id}", "appointment.print", f"day:{day.isoformat()}", branch=branch, format=format,
          count=len(items))
    await db.commit()
    if format == "html":
        return Response(html, media_type="text/html; charset=utf-8")
    try:
        pdf = await html_to_pdf(html, ctx.settings.report_chromium, f"appointments {day.isoformat()}")
    except PdfUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="appointments-{day.isoformat()}.pdf"'})
