"""The browser-facing edge (issue 10): Host allow-list (DNS rebinding), CORS on REST with the same allow-list as
``/ws``, and operations endpoints (``/metrics``, ``/openapi.json``) that are not public. Real server, real
headless Chromium for the cross-origin sign-in."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from playwright.async_api import async_playwright, expect
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route
from websockets.asyncio.client import connect

from signaling.protocol.version import SUBPROTOCOL
from tests.browser import CHROMIUM, CHROMIUM_ARGS, chromium
from tests.support import WAIT_S, Env, eventually, make_settings, server_env

ALLOWED = "http://127.0.0.1:18931"  # another port is another origin (the preflight tests need no page)
FOREIGN = "http://127.0.0.1:18932"
SCRAPE_TOKEN = "scrape-0123456789abcdef0123456789abcdef"


@pytest.fixture
async def web_env(tmp_path: Path) -> AsyncIterator[Env]:
    settings = make_settings(tmp_path, "sqlite", allowed_origins=[ALLOWED], metrics_token=SCRAPE_TOKEN,
                             api_docs=True)
    async with server_env(settings) as e:
        yield e


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------- Host allow-list (DNS rebinding)


async def test_foreign_host_is_refused_on_rest_and_ws(env: Env) -> None:
    """A rebinding page on evil.example reaches the server by IP but says Host: evil.example and, for the socket,
    Origin: http://evil.example: both look same-origin to an Origin check alone."""
    async with httpx.AsyncClient(base_url=env.url) as http:
        assert (await http.get("/healthz")).status_code == 200
        r = await http.get("/healthz", headers={"Host": f"evil.example:{env.server.port}"})
        assert r.status_code == 400 and "host" in r.text.lower()
        r = await http.post("/api/auth/login", json={"username": "takahashi", "password": "x"},
                            headers={"Host": "evil.example"})
        assert r.status_code == 400
    with pytest.raises(websockets.InvalidStatus) as info:
        async with connect(env.server.ws_url, subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
                           origin=f"http://evil.example:{env.server.port}",  # type: ignore[arg-type]
                           additional_headers={"Host": f"evil.example:{env.server.port}"}, open_timeout=WAIT_S):
            pass
    assert info.value.response.status_code == 400
    # the server's own names still work, with and without the port
    async with httpx.AsyncClient(base_url=env.url) as http:
        for host in ("localhost", f"localhost:{env.server.port}", f"127.0.0.1:{env.server.port}"):
            assert (await http.get("/healthz", headers={"Host": host})).status_code == 200, host


# ---------------------------------------------------------------- CORS: one allow-list, deny by default


async def test_preflight_follows_the_allow_list(web_env: Env, env: Env) -> None:
    pre = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    async with httpx.AsyncClient(base_url=web_env.url) as http:
        ok = await http.options("/api/auth/login", headers={"Origin": ALLOWED, **pre})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == ALLOWED
        assert "POST" in ok.headers["access-control-allow-methods"]
        assert "content-type" in ok.headers["access-control-allow-headers"].lower()
        no = await http.options("/api/auth/login", headers={"Origin": FOREIGN, **pre})
        assert no.status_code == 400 and "access-control-allow-origin" not in no.headers
        simple = await http.get("/api/services", headers={"Origin": FOREIGN})
        assert "access-control-allow-origin" not in simple.headers
    async with httpx.AsyncClient(base_url=env.url) as http:  # nothing configured: nothing allowed
        no = await http.options("/api/auth/login", headers={"Origin": ALLOWED, **pre})
        assert no.status_code == 400 and "access-control-allow-origin" not in no.headers


SIGN_IN_JS = """async ({base, ws, token}) => {
  const out = {};
  try {
    const r = await fetch(base + "/api/auth/login", {method: "POST", headers: {"Content-Type": "application/json"},
                                                     body: JSON.stringify({username: "takahashi",
                                                                           password: "madoguchi-demo"})});
    out.login = r.status;
    token = (await r.json()).access_token;
  } catch (e) { out.login = "blocked: " + e.message; }
  out.ws = await new Promise((resolve) => {
    const sock = new WebSocket(ws, "madoguchi.v1");
    sock.onopen = () => sock.send(JSON.stringify({type: "auth", id: "a1", token: token}));
    sock.onmessage = (e) => { resolve(JSON.parse(e.data).type); sock.close(); };
    sock.onclose = (e) => resolve("closed " + e.code);
  });
  return out;
}"""


@asynccontextmanager
async def page_server() -> AsyncIterator[str]:
    """A real web server on another port (another origin) serving a browser client's page; yields its origin."""

    async def page(_request: Any) -> HTMLResponse:
        return HTMLResponse("<!doctype html><title>browser client</title><p>client</p>")

    server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/app.html", page)]), host="127.0.0.1", port=0,
                                          log_config=None, lifespan="off"))
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started or task.done(), what="page server up")
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        await task


async def test_browser_on_an_allowed_origin_signs_in_a_foreign_one_cannot(tmp_path: Path) -> None:
    """Real headless Chromium: a page served from another origin logs in over REST (preflight + POST) and opens
    /ws; the same page from an origin not in MADOGUCHI_ALLOWED_ORIGINS gets neither, even holding a valid token."""
    results: dict[str, Any] = {}
    async with page_server() as allowed, page_server() as foreign, \
            server_env(make_settings(tmp_path, "sqlite", allowed_origins=[allowed])) as env, async_playwright() as p:
        valid = await env.issued_token("takahashi")
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for origin in (allowed, foreign):
                page = await browser.new_page()
                await page.goto(f"{origin}/app.html")
                results[origin] = await page.evaluate(SIGN_IN_JS, {"base": env.url, "ws": env.server.ws_url,
                                                                    "token": valid})
                await page.close()
        finally:
            await browser.close()
    assert results[allowed] == {"login": 200, "ws": "welcome"}, results
    assert str(results[foreign]["login"]).startswith("blocked"), results
    assert results[foreign]["ws"].startswith("closed"), results


# ---------------------------------------------------------------- operations endpoints


async def test_metrics_need_an_ops_token(web_env: Env) -> None:
    it, admin, specialist = [await web_env.issued_token(u) for u in ("it", "admin", "takahashi")]
    async with httpx.AsyncClient(base_url=web_env.url) as http:
        assert (await http.get("/metrics")).status_code == 401
        assert (await http.get("/metrics", headers=bearer("not-a-token"))).status_code == 401
        assert (await http.get("/metrics", headers=bearer(SCRAPE_TOKEN[:-1] + "x"))).status_code == 401
        assert (await http.get("/metrics", headers=bearer(specialist))).status_code == 403
        for token in (it, admin, SCRAPE_TOKEN):
            r = await http.get("/metrics", headers=bearer(token))
            assert r.status_code == 200 and "madoguchi_connected" in r.text


async def test_no_public_api_docs_and_no_cdn(web_env: Env, env: Env) -> None:
    it, specialist = await web_env.issued_token("it"), await web_env.issued_token("takahashi")
    async with httpx.AsyncClient(base_url=web_env.url) as http:
        for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
            assert (await http.get(path)).status_code == 404, path
        assert (await http.get("/openapi.json")).status_code == 401
        assert (await http.get("/openapi.json", headers=bearer(specialist))).status_code == 403
        schema = await http.get("/openapi.json", headers=bearer(it))
        assert schema.status_code == 200 and "/api/auth/login" in schema.json()["paths"]
        assert "cdn" not in json.dumps(schema.json()).lower()
    async with httpx.AsyncClient(base_url=env.url) as http:  # MADOGUCHI_API_DOCS off (the default): no schema at all
        it = await env.issued_token("it")
        assert (await http.get("/openapi.json", headers=bearer(it))).status_code == 404
        assert (await http.get("/api-docs")).status_code == 404


async def test_api_docs_page_works_offline_in_a_browser(web_env: Env) -> None:
    """/api-docs in real Chromium: every request the page makes goes to the server itself (Swagger UI's files
    included); a specialist is told the page is not for them; an administrator signs in, reads the reference, and
    an admin-only request tried from the page carries the token (200). No script error, no CSP violation."""
    origin = web_env.url
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        seen: list[str] = []
        errors: list[str] = []
        page.on("request", lambda r: seen.append(r.url))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.goto(f"{origin}/api-docs")
        await expect(page.locator("#login-form h1")).to_have_text("窓口 API リファレンス")
        await page.fill("#username", "takahashi")
        await page.fill("#password", "madoguchi-demo")
        await page.click("#login-button")
        await expect(page.locator("#login-error")).to_have_text(
            "このアカウントでは API リファレンスを読めません（IT 担当・管理者のみ）")
        await page.fill("#username", "admin")
        await page.fill("#password", "madoguchi-demo")
        await page.click("#login-button")
        await expect(page.locator("#bar")).to_be_visible()
        login_op = page.locator('.opblock-summary-path[data-path="/api/auth/login"]')
        await expect(login_op.first).to_be_visible()
        if shots := os.environ.get("MADOGUCHI_SCREENSHOTS"):
            await page.screenshot(path=str(Path(shots) / "api_docs_ja.png"))
        kiosks = page.locator('.opblock-get:has(.opblock-summary-path[data-path="/api/admin/kiosks"])').first
        await kiosks.locator(".opblock-summary").click()
        await kiosks.locator(".try-out__btn").click()
        await kiosks.locator(".execute").click()  # an admin-only route: 200 only if the page sent the token
        status = kiosks.locator(".live-responses-table tbody .response-col_status").first
        await expect(status).to_have_text("200")
    assert seen and all(u.startswith(origin + "/") for u in seen), [u for u in seen if not u.startswith(origin)]
    assert not errors, errors
