"""``/admin``: the page, its script and style, and its translation files (one JSON file per language in
``i18n/``, as the kiosk's and console's). Plain HTML and JavaScript, nothing from the internet; the page signs
in through ``/api/auth/login`` and then speaks only the admin REST API (``/api/admin/*``, ``/api/audit``), which
checks the role and the municipality on every request. The token never travels in a URL."""

from __future__ import annotations

import json
import re
from pathlib import Path
from string import Template

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse, Response

from server import __version__

router = APIRouter(tags=["admin page"])
HERE = Path(__file__).parent
STATIC = HERE / "static"
I18N = HERE / "i18n"
_ASSETS = {"admin.js": "text/javascript; charset=utf-8", "admin.css": "text/css; charset=utf-8"}
# img-src data: is the enrollment QR code (an SVG data URI made by the server)
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer"}


def languages() -> list[str]:
    """Every translation file is a language of the page: Japanese first."""
    found = sorted(p.stem for p in I18N.glob("*.json"))
    return sorted(found, key=lambda c: c != "ja")


@router.get("/admin", response_class=HTMLResponse, include_in_schema=False)
async def page() -> HTMLResponse:
    html = Template((STATIC / "admin.html").read_text(encoding="utf-8")).substitute(
        version=__version__, languages=",".join(languages()))
    return HTMLResponse(html, headers=HEADERS)


@router.get("/admin/static/{name}", include_in_schema=False)
async def asset(name: str) -> Response:
    if name not in _ASSETS:
        raise HTTPException(404, "no such file")
    return Response((STATIC / name).read_bytes(), media_type=_ASSETS[name],
                    headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


@router.get("/admin/i18n/{lang}.json", include_in_schema=False)
async def texts(lang: str) -> Response:
    if not re.fullmatch(r"[a-z]{2,3}", lang) or lang not in languages():
        raise HTTPException(404, "no such language")
    table = json.loads((I18N / f"{lang}.json").read_text(encoding="utf-8"))
    return Response(json.dumps(table, ensure_ascii=False), media_type="application/json; charset=utf-8",
                    headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})
