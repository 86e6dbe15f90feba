"""``GET /api/reports/effect``: the introduction-effect report for supervisors and admins."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response

from server.api.deps import DB, Ctx, require_roles
from server.db.audit import audit
from server.db.models import Staff
from server.reports.build import ReportError, UnknownMunicipality, build_report

router = APIRouter(prefix="/api/reports", tags=["reports"])
REPORT_ROLES = ("supervisor", "admin")
MEDIA = {"html": "text/html; charset=utf-8", "csv": "text/csv; charset=utf-8",
         "json": "application/json; charset=utf-8"}


@router.get("/effect")
async def effect(
    ctx: Ctx,
    db: DB,
    staff: Annotated[Staff, Depends(require_roles(*REPORT_ROLES))],
    date_from: Annotated[date, Query(alias="from", description="first day, YYYY-MM-DD (JST)")],
    date_to: Annotated[date, Query(alias="to", description="last day, included")],
    format: Annotated[Literal["html", "csv", "json"], Query()] = "html",
    municipality: Annotated[str | None, Query(max_length=32, description="municipality code")] = None,
) -> Response:
    actor = f"staff:{staff.id}"
    await db.rollback()  # end the sign-in lookup's transaction: on SQLite it holds the write lock
    try:
        body = await build_report(ctx.maker, ctx.settings, date_from, date_to, municipality, format)
    except ReportError as exc:
        raise HTTPException(404 if isinstance(exc, UnknownMunicipality) else 422, str(exc)) from None
    audit(db, actor, "report.effect", municipality or "all", format=format,
          date_from=date_from.isoformat(), date_to=date_to.isoformat())
    await db.commit()
    name = f"madoguchi-effect-{date_from.isoformat()}_{date_to.isoformat()}{'-' + municipality if municipality else ''}"
    disposition = "inline" if format == "html" else "attachment"
    return Response(body, media_type=MEDIA[format], headers={
        "Content-Disposition": f'{disposition}; filename="{name}.{format}"', "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff"})
