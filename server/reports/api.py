"""``GET /api/reports/effect`` (and ``/effect.pdf``): the introduction-effect report for supervisors and admins."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response

from server.api.deps import DB, Ctx, require_roles
from server.db.audit import audit
from server.db.models import Staff
from server.reports.build import Format, ReportError, ReportUnavailable, UnknownMunicipality, build_report

router = APIRouter(prefix="/api/reports", tags=["reports"])
REPORT_ROLES = ("supervisor", "admin")
MEDIA = {"html": "text/html; charset=utf-8", "csv": "text/csv; charset=utf-8",
         "json": "application/json; charset=utf-8", "pdf": "application/pdf"}


Staff_ = Annotated[Staff, Depends(require_roles(*REPORT_ROLES))]
From = Annotated[date, Query(alias="from", description="first day, YYYY-MM-DD (JST)")]
To = Annotated[date, Query(alias="to", description="last day, included")]
Muni = Annotated[str | None, Query(max_length=32, description="municipality code")]


@router.get("/effect")
async def effect(ctx: Ctx, db: DB, staff: Staff_, date_from: From, date_to: To,
                 format: Annotated[Literal["html", "csv", "json", "pdf"], Query()] = "html",
                 municipality: Muni = None) -> Response:
    return await _respond(ctx, db, staff, date_from, date_to, format, municipality)


@router.get("/effect.pdf")
async def effect_pdf(ctx: Ctx, db: DB, staff: Staff_, date_from: From, date_to: To, municipality: Muni = None
                     ) -> Response:
    """The print-ready PDF (A4, fonts embedded): the same as ``/effect?format=pdf``."""
    return await _respond(ctx, db, staff, date_from, date_to, "pdf", municipality)


async def _respond(ctx: Ctx, db: DB, staff: Staff, date_from: date, date_to: date, format: Format,
                   municipality: str | None) -> Response:
    actor = f"staff:{staff.id}"
    await db.rollback()  # end the sign-in lookup's transaction: on SQLite it holds the write lock
    try:
        body = await build_report(ctx.maker, ctx.settings, date_from, date_to, municipality, format)
    except ReportError as exc:
        status = 404 if isinstance(exc, UnknownMunicipality) else 503 if isinstance(exc, ReportUnavailable) else 422
        raise HTTPException(status, str(exc)) from None
    audit(db, actor, "report.effect", municipality or "all", format=format,
          date_from=date_from.isoformat(), date_to=date_to.isoformat())
    await db.commit()
    name = f"madoguchi-effect-{date_from.isoformat()}_{date_to.isoformat()}{'-' + municipality if municipality else ''}"
    disposition = "inline" if format in ("html", "pdf") else "attachment"
    return Response(body, media_type=MEDIA[format], headers={
        "Content-Disposition": f'{disposition}; filename="{name}.{format}"', "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff"})
