"""``/monitor``: the page, its script and style, and the live feed at ``/monitor/feed`` (WebSocket).

Feed protocol (JSON text frames)::

    client -> {"type": "auth", "token": "<staff access token>"}    first frame, within 5 s
              (or an ``Authorization: Bearer`` header on the upgrade request, for non-browser clients)
    server -> {"type": "hello", ...}, then {"type": "snapshot", ...} every second,
              {"type": "token", ...} shortly before the token expires: a *monitor credential* (``typ``
              "monitor"), accepted by this feed only, never by the REST API or ``/ws``; a wall display stays
              signed in while its account stays active, allowed and at the same token version (checked
              every MADOGUCHI_AUTH_RECHECK_S, 1 s: a disabled account loses its feed within that),
              {"type": "error", "status": 401|403, ...} and close 4401/4403 when authentication fails.

The token never travels in the URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path
from string import Template

from fastapi import APIRouter, HTTPException, Request, WebSocket
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.websockets import WebSocketDisconnect, WebSocketState

from server import __version__
from server.api.ws import origin_allowed
from server.auth import InvalidToken, decode_token, issue_token
from server.context import AppContext
from server.db.models import Staff
from server.monitor.snapshot import SnapshotCache
from signaling.protocol.errors import CloseCode
from signaling.protocol.monitor import FeedError, FeedModel, Hello, TokenRefresh

router = APIRouter(tags=["monitor"])
MONITOR_ROLES = ("it_monitor", "supervisor", "admin")
STATIC = Path(__file__).parent / "static"
FEED_INTERVAL_S = 1.0
AUTH_TIMEOUT_S = 5.0
REFRESH_BEFORE_S = 300.0  # a fresh token is sent this long before the current one expires
CLOSE_UNAUTHENTICATED, CLOSE_FORBIDDEN, CLOSE_POLICY = (
    CloseCode.UNAUTHENTICATED, CloseCode.ROLE_FORBIDDEN, CloseCode.POLICY_VIOLATION)
_ASSETS = {"monitor.js": "text/javascript; charset=utf-8", "monitor.css": "text/css; charset=utf-8"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


class FeedDenied(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


async def authorise(ctx: AppContext, token: str) -> tuple[Staff, float]:
    """The staff member behind an access token or a monitor credential, if the role may watch. Returns (staff,
    credential expiry)."""
    try:
        claims = decode_token(ctx.settings.secret_key, token, accept=("access", "monitor"))
    except InvalidToken as exc:
        raise FeedDenied(401, "auth_failed", str(exc)) from None
    if claims.kind != "staff":
        raise FeedDenied(403, "forbidden", "staff token required")
    async with ctx.maker() as db:
        staff = await db.get(Staff, claims.principal_id)
    return _check_account(staff, claims.ver), claims.exp


def _check_account(staff: Staff | None, ver: int) -> Staff:
    if staff is None or not staff.active:
        raise FeedDenied(401, "auth_failed", "account unknown or disabled")
    if staff.token_version != ver:
        raise FeedDenied(401, "auth_failed", "credential revoked (password reset or role change)")
    if staff.role not in MONITOR_ROLES:
        raise FeedDenied(403, "forbidden", f"role {staff.role} may not view the monitor")
    return staff


def _cache(ctx: AppContext, app_state: object) -> SnapshotCache:
    cache = getattr(app_state, "monitor_cache", None)
    if cache is None:
        cache = SnapshotCache(max_age_s=FEED_INTERVAL_S / 2)
        app_state.monitor_cache = cache  # type: ignore[attr-defined]
    return cache


@router.get("/monitor", response_class=HTMLResponse, include_in_schema=False)
async def page(request: Request) -> HTMLResponse:
    html = Template((STATIC / "monitor.html").read_text(encoding="utf-8")).substitute(version=__version__)
    return HTMLResponse(html, headers={"Content-Security-Policy": CSP, "Cache-Control": "no-store",
                                       "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})


@router.get("/monitor/static/{name}", include_in_schema=False)
async def asset(name: str) -> Response:
    if name not in _ASSETS:
        raise HTTPException(404, "no such file")
    return Response((STATIC / name).read_bytes(), media_type=_ASSETS[name],
                    headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


async def _send(ws: WebSocket, msg: FeedModel | str) -> None:
    await ws.send_text(msg if isinstance(msg, str) else msg.model_dump_json())


async def _deny(ws: WebSocket, exc: FeedDenied) -> None:
    if ws.application_state == WebSocketState.CONNECTING:  # header auth: answer the upgrade with HTTP 401/403
        if "websocket.http.response" in ws.scope.get("extensions", {}):
            await ws.send_denial_response(JSONResponse({"detail": exc.message, "code": exc.code}, exc.status))
        else:
            await ws.close(CLOSE_POLICY, exc.message[:120])
        return
    with contextlib.suppress(Exception):
        await _send(ws, FeedError(status=exc.status, code=exc.code, message=exc.message))
        await ws.close(CLOSE_FORBIDDEN if exc.status == 403 else CLOSE_UNAUTHENTICATED, exc.message[:120])


async def _first_frame_token(ws: WebSocket) -> str:
    try:
        text = await asyncio.wait_for(ws.receive_text(), AUTH_TIMEOUT_S)
    except TimeoutError:
        raise FeedDenied(401, "not_authenticated", "no auth within 5 s") from None
    try:
        msg = json.loads(text)
    except ValueError:
        raise FeedDenied(401, "not_authenticated", "first frame must be JSON auth") from None
    if not isinstance(msg, dict) or msg.get("type") != "auth" or not isinstance(msg.get("token"), str):
        raise FeedDenied(401, "not_authenticated", "first frame must be {type: auth, token}")
    return str(msg["token"])[:4096]


@router.websocket("/monitor/feed")
async def feed(ws: WebSocket) -> None:
    ctx: AppContext = ws.app.state.ctx
    if not origin_allowed(ws, ctx.settings.allowed_origins):
        await ws.close(CLOSE_POLICY, "origin not allowed")
        return
    header = ws.headers.get("authorization", "")
    try:
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise FeedDenied(401, "auth_failed", "Authorization: Bearer <token> expected")
            staff, exp = await authorise(ctx, token.strip())
            await ws.accept()
        else:
            await ws.accept()
            staff, exp = await authorise(ctx, await _first_frame_token(ws))
    except FeedDenied as exc:
        await _deny(ws, exc)
        return
    except WebSocketDisconnect:
        return
    await _send(ws, Hello(role=staff.role, display_name=staff.display_name, interval_s=FEED_INTERVAL_S))
    reader = asyncio.create_task(_drain(ws))
    try:
        await _push(ws, ctx, staff.id, staff.token_version, exp, reader)
    except FeedDenied as exc:
        await _deny(ws, exc)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the viewer went away mid-send
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader


async def _drain(ws: WebSocket) -> None:
    """Read (and ignore) what the viewer sends, so that its going away ends the feed at once."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return


async def _push(ws: WebSocket, ctx: AppContext, staff_id: int, ver: int, exp: float,
                reader: asyncio.Task[None]) -> None:
    cache = _cache(ctx, ws.app.state)
    checked = time.monotonic()
    recheck_s = ctx.settings.auth_recheck_s
    ttl = ctx.settings.access_token_ttl_s
    refresh_before = min(REFRESH_BEFORE_S, ttl / 2)
    while not reader.done():
        if time.monotonic() - checked >= recheck_s or exp - time.time() < refresh_before:
            checked = time.monotonic()
            async with ctx.maker() as db:
                staff = _check_account(await db.get(Staff, staff_id), ver)
            if exp - time.time() < refresh_before:  # a monitor credential: this feed only, not REST or /ws
                token = issue_token(ctx.settings.secret_key, "staff", staff.id, staff.role, ttl, ver=ver,
                                    typ="monitor")
                exp = time.time() + ttl
                await _send(ws, TokenRefresh(access_token=token, expires_in=ttl))
        await _send(ws, await cache.get(ctx))
        await asyncio.wait({reader}, timeout=min(FEED_INTERVAL_S, recheck_s))
