"""A guest's way in: ``GET /g/<token>`` serves the page while the link works (a clear page in Japanese and
English when it does not: unknown, used, expired, or the call has ended); the page trades the token once for
a guest access token (``POST /api/guest/redeem``) and then speaks the ``/ws`` protocol as a guest principal.

The link's token is in the URL (a link has to carry it); it is single-use, short-lived, kept only as a hash,
and the page sends ``Referrer-Policy: no-referrer`` so that it leaks nowhere.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from pathlib import Path
from string import Template
from typing import Annotated, TypeVar

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from server import __version__
from server.api.deps import Ctx
from server.context import AppContext
from server.guest_auth import issue_guest_token
from server.queue import guests
from server.queue.guests import GuestPass, LinkReason, LinkRefused
from server.queue.step import PresenceView, Step

router = APIRouter(tags=["guests"])
T = TypeVar("T")
STATIC = Path(__file__).parent / "static"
_ASSETS = {"guest.js": "text/javascript; charset=utf-8", "guest.css": "text/css; charset=utf-8"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
       "media-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer"}
TOKEN_MAX = 128
# why a link does not work, said plainly in both languages (the page a guest sees instead of the call)
DEAD: dict[LinkReason, tuple[int, str, str]] = {
    "unknown": (404, "このリンクは無効です。招待した職員に新しいリンクを依頼してください。",
                "This link is not valid. Please ask the staff member who invited you for a new link."),
    "used": (410, "このリンクはすでに使われました。リンクは一度だけ使えます。"
                  "招待した職員に新しいリンクを依頼してください。",
             "This link has already been used. A link works only once; please ask for a new one."),
    "expired": (410, "このリンクの有効期限が切れました。招待した職員に新しいリンクを依頼してください。",
                "This link has expired. Please ask the staff member who invited you for a new link."),
    "ended": (410, "この通話は終了しました。リンクは使えません。",
              "This call has ended. The link no longer works."),
}


class RedeemIn(BaseModel):
    token: Annotated[str, Field(min_length=1, max_length=TOKEN_MAX)]


class GuestPassOut(BaseModel):
    guest_token: str
    invitation_id: int
    session_id: int
    display_name: str
    role: str


async def _run(ctx: AppContext, op: Callable[[Step, str], Awaitable[T]], token: str) -> T:
    """One transaction on the queue's clock, without the queue engine's lock: a link check reads one row and
    writes at most that row and an audit event; an unauthenticated page must not queue behind the routing."""
    async with ctx.maker() as db, db.begin():
        step = Step(db=db, now=ctx.engine.clock.now(), settings=ctx.settings, presence=PresenceView(),
                    metrics=ctx.metrics, shared=ctx.engine.shared)
        return await op(step, token)


def dead_page(reason: LinkReason) -> HTMLResponse:
    status, ja, en = DEAD[reason]
    page = Template((STATIC / "dead.html").read_text(encoding="utf-8")).substitute(
        version=__version__, reason=reason, ja=html.escape(ja), en=html.escape(en))
    return HTMLResponse(page, status_code=status, headers=HEADERS)


@router.get("/g/{token}", response_class=HTMLResponse, include_in_schema=False)
async def guest_page(token: str, ctx: Ctx) -> HTMLResponse:
    if len(token) > TOKEN_MAX:
        return dead_page("unknown")
    try:
        await _run(ctx, guests.check_link, token)
    except LinkRefused as exc:
        return dead_page(exc.reason)
    page = Template((STATIC / "guest.html").read_text(encoding="utf-8")).substitute(version=__version__)
    return HTMLResponse(page, headers=HEADERS)


@router.get("/g-static/{name}", include_in_schema=False)
async def asset(name: str) -> Response:
    if name not in _ASSETS:
        raise HTTPException(404, "no such file")
    return Response((STATIC / name).read_bytes(), media_type=_ASSETS[name],
                    headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


@router.post("/api/guest/redeem", response_model=GuestPassOut)
async def redeem(body: RedeemIn, ctx: Ctx) -> GuestPassOut:
    """Trade the link's token (once) for a guest access token for ``/ws``. 404 unknown, 410 used/expired/ended."""
    g = await _run(ctx, guests.redeem, body.token)
    if not isinstance(g, GuestPass):
        status, ja, en = DEAD[g]
        raise HTTPException(status, {"reason": g, "message_ja": ja, "message_en": en})
    token = issue_guest_token(ctx.settings.secret_key, g.invitation_id, ctx.settings.guest_token_ttl_s)
    return GuestPassOut(guest_token=token, invitation_id=g.invitation_id, session_id=g.session_id,
                        display_name=g.display_name, role=g.role)
