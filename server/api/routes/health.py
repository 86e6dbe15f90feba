"""Liveness, readiness (database reachable, migrations current) and Prometheus metrics (not public:
:mod:`server.edge.ops`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from server.edge.ops import metrics_reader
from server.migrate import head_revision

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request, response: Response) -> dict[str, str]:
    ctx = request.app.state.ctx
    try:
        async with ctx.maker() as db:
            current = (await db.execute(text("SELECT version_num FROM alembic_version"))).scalar_one_or_none()
    except Exception as exc:
        response.status_code = 503
        return {"status": "database unreachable", "detail": type(exc).__name__}
    head = head_revision()
    if current != head:
        response.status_code = 503
        return {"status": "migrations not current", "current": str(current), "head": head}
    return {"status": "ready", "revision": head}


@router.get("/metrics")
async def metrics(request: Request, _who: Annotated[str, Depends(metrics_reader)]) -> Response:
    return Response(generate_latest(request.app.state.ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)
