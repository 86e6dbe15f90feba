"""Who may read the operations endpoints: ``/metrics`` and (when ``MADOGUCHI_API_DOCS`` is on) ``/openapi.json``.

Either an ``Authorization: Bearer`` staff access token whose account has an operations role (``it_monitor`` or
``admin``), or, for ``/metrics`` only, the scrape token ``MADOGUCHI_METRICS_TOKEN`` (compared in constant time;
a Prometheus job sets it as its ``bearer_token``). Anything else: 401 without a token, 403 with a token of
another role. The API docs have no HTML page: FastAPI's ``/docs`` loads Swagger UI from a CDN, which a closed
municipal network cannot reach, and would be public; ``/openapi.json`` can be opened in any local tool.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.deps import bearer, current_staff, get_ctx, get_db

OPS_ROLES = ("it_monitor", "admin")
MIN_SCRAPE_TOKEN = 32


async def _ops_staff(request: Request, creds: HTTPAuthorizationCredentials | None, db: AsyncSession) -> str:
    staff = await current_staff(request, creds, db)
    if staff.role not in OPS_ROLES:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {staff.role} may not read this")
    return f"staff:{staff.id}"


async def metrics_reader(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    db: Annotated[AsyncSession, Depends(get_db)],
) -> str:
    scrape = get_ctx(request).settings.metrics_token
    if creds is not None and len(scrape) >= MIN_SCRAPE_TOKEN and hmac.compare_digest(
            creds.credentials.encode(), scrape.encode()):
        return "scraper"
    return await _ops_staff(request, creds, db)


async def ops_reader(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    db: Annotated[AsyncSession, Depends(get_db)],
) -> str:
    return await _ops_staff(request, creds, db)


docs_router = APIRouter(include_in_schema=False)


@docs_router.get("/openapi.json")
async def openapi(request: Request, _who: Annotated[str, Depends(ops_reader)]) -> dict[str, Any]:
    return request.app.openapi()  # type: ignore[no-any-return]
