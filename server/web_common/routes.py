"""``/common/signin.js``: the sign-in the server's pages share (each page lists it before its own script)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response

router = APIRouter(include_in_schema=False)
SIGNIN = Path(__file__).parent / "signin.js"


@router.get("/common/signin.js")
async def signin() -> Response:
    return Response(SIGNIN.read_bytes(), media_type="text/javascript; charset=utf-8",
                    headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})
