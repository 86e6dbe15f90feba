"""``/api-docs`` (only when ``MADOGUCHI_API_DOCS`` is on): the REST API's reference, readable on a closed municipal
network. Swagger UI 5 (OpenAPI 3.1, as FastAPI writes it) comes from the static folder of the ``fastapi-offline``
package installed beside the server — nothing is fetched from the internet (FastAPI's own ``/docs`` loads it
from a CDN and stays off). The page first signs in through
``/api/auth/login``; the schema (``/openapi.json``) and every "try it out" request then carry that token, which
lives in the page's memory only. The schema is still refused to any role but ``it_monitor`` and ``admin``
(server/edge/ops.py), so the page is only a view of what that token may already read."""

from __future__ import annotations

import json
import re
from pathlib import Path
from string import Template

import fastapi_offline
from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse, Response

from server import __version__

router = APIRouter(include_in_schema=False)
HERE = Path(__file__).parent
STATIC = HERE / "static"
I18N = HERE / "i18n"
VENDOR = Path(fastapi_offline.__file__).parent / "static"
_OWN = {"docs.js": "text/javascript; charset=utf-8", "docs.css": "text/css; charset=utf-8"}
_VENDOR = {"swagger-ui-bundle.js": "text/javascript; charset=utf-8", "swagger-ui.css": "text/css; charset=utf-8"}
# Swagger UI sets style attributes from script (style-src 'unsafe-inline') and draws its icons as data: SVG.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; "
       "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer"}
ASSET_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


def languages() -> list[str]:
    return sorted((p.stem for p in I18N.glob("*.json")), key=lambda c: c != "ja")


@router.get("/api-docs", response_class=HTMLResponse)
async def page() -> HTMLResponse:
    html = Template((STATIC / "docs.html").read_text(encoding="utf-8")).substitute(
        version=__version__, languages=",".join(languages()))
    return HTMLResponse(html, headers=HEADERS)


@router.get("/api-docs/static/{name}")
async def own_asset(name: str) -> Response:
    if name not in _OWN:
        raise HTTPException(404, "no such file")
    return Response((STATIC / name).read_bytes(), media_type=_OWN[name], headers=ASSET_HEADERS)


@router.get("/api-docs/vendor/{name}")
async def vendor_asset(name: str) -> Response:
    if name not in _VENDOR:
        raise HTTPException(404, "no such file")
    return Response((VENDOR / name).read_bytes(), media_type=_VENDOR[name], headers=ASSET_HEADERS)


@router.get("/api-docs/i18n/{lang}.json")
async def texts(lang: str) -> Response:
    if not re.fullmatch(r"[a-z]{2,3}", lang) or lang not in languages():
        raise HTTPException(404, "no such language")
    table = json.loads((I18N / f"{lang}.json").read_text(encoding="utf-8"))
    return Response(json.dumps(table, ensure_ascii=False), media_type="application/json; charset=utf-8",
                    headers=ASSET_HEADERS)
