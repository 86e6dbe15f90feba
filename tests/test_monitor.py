"""/monitor in real headless Chromium against a real server: kiosks, a real call with media, alerts, privacy.

The page logs in as the IT monitor through its own form. One call runs with
real aiortc media (kiosk and console controllers: real SDP through the hub,
real chat on the data channel, real stats); a second one is driven at
protocol level with poor quality figures, so the quality alert is certain.
Nothing the resident or specialist wrote, said or negotiated may reach the
page or its feed.

Set MADOGUCHI_SCREENSHOTS=docs/screenshots to also write monitor_ja.png and monitor_en.png.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from playwright.async_api import Page, expect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from signaling.observer import wait_for
from signaling.protocol.messages import (
    CallbackBands,
    CallbackCreate,
    CallMedia,
    CallStatsReport,
    OfferAccept,
    StatusSet,
    TicketCreate,
)
from signaling.protocol.models import CallbackBandRef, CallStats
from signaling.protocol.monitor import Snapshot
from tests.browser import chromium
from tests.integration.calls import kiosk_controller, staff_controller
from tests.support import WAIT_S, Env, eventually, make_settings, server_env

OFFLINE_ALERT_S = 2.0
WAIT_ALERT_S = 3.0

# what residents and specialists say and write: none of it may reach the monitor
RESIDENT_NAME = "山田太郎"
NOTE_SUMMARY = "障害年金の申請について相談。通院先は北見赤十字病院。MONITOR-LEAK-CANARY-7731"
FOLLOW_UP_BY = "山田花子（長女）"
CHAT_FROM_STAFF = "山田太郎さん、聞こえますか CHAT-CANARY-A1"
CHAT_FROM_RESIDENT = "はい、聞こえます。手帳の更新です CHAT-CANARY-B2"
SDP_MARKERS = ("a=fingerprint", "a=ice-ufrag", "a=ice-pwd", "m=audio", "m=video")
expect.set_options(timeout=WAIT_S * 1000)  # the page follows a loaded machine too: generous, as everywhere

CALLBACK_PHONE = "0157826123"  # a resident's number left for a callback: personal, never on the monitor
SECRETS = (RESIDENT_NAME, NOTE_SUMMARY, "MONITOR-LEAK-CANARY-7731", FOLLOW_UP_BY, CHAT_FROM_STAFF,
           CHAT_FROM_RESIDENT, "CHAT-CANARY", CALLBACK_PHONE, *SDP_MARKERS)


def watch(page: Page) -> tuple[list[str], list[str], list[str]]:
    """Console errors, frames the page received on its feed, and every URL it asked for."""
    errors: list[str] = []
    frames: list[str] = []
    urls: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: urls.append(r.url))

    def on_ws(ws: Any) -> None:
        urls.append(ws.url)
        ws.on("framereceived", lambda payload: frames.append(payload if isinstance(payload, str) else payload.decode()))

    page.on("websocket", on_ws)
    return errors, frames, urls


async def login(page: Page, env: Env, username: str = "it") -> None:
    await page.goto(f"{env.url}/monitor")
    await page.fill("#username", username)
    await page.fill("#password", "madoguchi-demo")
    await page.click("#login-button")
    await expect(page.locator("#board")).to_be_visible()


def kiosk_row(page: Page, kiosk_id: int) -> Any:
    return page.locator(f'tr.kiosk[data-kiosk="{kiosk_id}"]')


async def feed_snapshot(env: Env, token: str) -> str:
    """One snapshot as a non-browser client gets it (token in the Authorization header)."""
    url = env.server.ws_url.replace("/ws", "/monitor/feed")
    async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        while True:
            raw = str(await asyncio.wait_for(ws.recv(), WAIT_S))
            if json.loads(raw)["type"] == "snapshot":
                return raw


async def test_monitor_live_page(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, kiosk_offline_alert_s=OFFLINE_ALERT_S, wait_alert_s=WAIT_ALERT_S)
    shots = os.environ.get("MADOGUCHI_SCREENSHOTS")
    async with server_env(settings) as env, chromium() as browser:
        page = await browser.new_page(viewport={"width": 1920, "height": 1080})
        errors, frames, urls = watch(page)
        await login(page, env)

        # a real call: kiosk and console controllers with aiortc media, chat on the data channel
        console = await staff_controller(env, "takahashi")
        kiosk = await kiosk_controller(env, tmp_path, "bihoro")
        try:
            kid = kiosk.credential.kiosk_id
            await expect(kiosk_row(page, kid)).to_have_attribute("data-state", "online")
            await expect(kiosk_row(page, kid)).to_contain_text("美幌町役場 窓口")
            await expect(kiosk_row(page, kid)).to_contain_text("kiosk/")  # app version

            assert await console.set_available()
            offer = asyncio.ensure_future(wait_for(console, "offer", WAIT_S))
            kiosk.begin()
            assert await kiosk.request_service("employment", ["written"])
            await offer
            connected = asyncio.ensure_future(wait_for(console, "call_status", WAIT_S,
                                                       lambda d: d["status"] == "connected"))
            assert await console.accept()
            await connected
            assert console.call is not None
            sid = console.call.session_id
            for ctl in (console, kiosk):  # chat rides the data channel: wait until media flows both ways
                await eventually(lambda c=ctl: c.mesh is not None and c.mesh.link() is not None  # type: ignore[misc]
                                 and c.mesh.link().call.video_frames_received > 10, what="media both ways")
            got_chat = asyncio.ensure_future(wait_for(kiosk, "chat", WAIT_S, lambda d: d["who"] != "me"))
            assert console.send_chat(CHAT_FROM_STAFF)
            assert kiosk.send_chat(CHAT_FROM_RESIDENT)
            assert (await got_chat)["text"] == CHAT_FROM_STAFF
            assert await console.save_note("障害年金", NOTE_SUMMARY, follow_up=True, follow_up_by=FOLLOW_UP_BY,
                                           referral_org=f"{RESIDENT_NAME}さんの主治医")

            session = page.locator(f'tr.session[data-session="{sid}"]')
            await expect(session).to_contain_text("美幌町役場 窓口")
            await expect(session).to_contain_text("就労の相談")
            await expect(kiosk_row(page, kid)).to_contain_text("通話中")  # screen state
            # real stats arrive every 2 s: fps and bitrate measured by aiortc on both sides
            fps_cells = page.locator(f'tr.session[data-session="{sid}"] td.num, '
                                     f'tr.session[data-session="{sid}"] + tr td.num')
            await expect(fps_cells.nth(4)).not_to_have_text("—")  # kiosk side fps
            await expect(fps_cells.nth(8)).not_to_have_text("—")  # staff side fps

            # a second call at protocol level with poor quality: the quality alert
            sato, sato_in = await env.staff_client("sato")
            k2, _ = await env.kiosk_client("kitami-tokoro")  # own municipality: offered at once
            await sato.request(StatusSet(status="available"))
            t2 = await k2.request(TicketCreate(service_code="general"))
            await sato_in.next("offer", ticket_id=t2["ticket_id"])
            sid2 = (await sato.request(OfferAccept(ticket_id=t2["ticket_id"])))["session_id"]
            for client in (k2, sato):
                await client.request(CallMedia(session_id=sid2, state="connected", setup_ms=380.0))
            await k2.request(CallStatsReport(session_id=sid2, stats=CallStats(
                rtt_ms=61.5, loss_pct=8.5, bitrate_kbps=412.0, fps=11.0, frames_received=1800)))
            await sato.request(CallStatsReport(session_id=sid2, stats=CallStats(
                rtt_ms=58.0, loss_pct=0.3, bitrate_kbps=690.0, fps=15.0, frames_received=1900)))
            row2 = page.locator(f'tr.session[data-session="{sid2}"]')
            await expect(row2).to_contain_text("8.5")
            await expect(row2).to_contain_text("412")
            await expect(row2.locator("td.bad")).to_have_text("8.5")
            alert_q = page.locator(f'li.alert[data-key="quality:{sid2}:kiosk:loss_pct"]')
            await expect(alert_q).to_contain_text("通話品質の低下")
            await expect(alert_q).to_contain_text("8.5%")

            # a resident waits (both disability specialists are busy): queue, then the long-wait alert
            k3, _ = await env.kiosk_client("kunneppu")
            await k3.request(TicketCreate(service_code="disability"))
            queue = page.locator('tr[data-service="disability"]')
            await expect(queue.locator("td").nth(1)).to_have_text("1")
            await expect(page.locator("li.alert[data-kind=long_wait]")).to_contain_text(
                "訓子府町役場 窓口", timeout=(WAIT_ALERT_S + WAIT_S) * 1000)

            # a resident of another town asks for a callback (issue 12 item 4): the page counts it, no number
            k5, _ = await env.kiosk_client("oketo")
            band = (await k5.request(CallbackBands(service_code="disability")))["bands"][0]
            await k5.request(CallbackCreate(service_code="disability", phone=CALLBACK_PHONE,
                                            band=CallbackBandRef(day=band["day"], part=band["part"])))
            await expect(queue.locator("td").nth(4)).to_have_text("1")

            # a kiosk goes away: offline on the page, then the alert, and not before its time: a timer of the
            # alert time less half a second, started before the close, fires first (the server runs on this
            # loop; the page's answers reach the test through it too: one clock orders both, whatever the load)
            k4, _ = await env.kiosk_client("oketo")
            k4_id = k4.welcome.principal_id  # type: ignore[union-attr]
            await expect(kiosk_row(page, k4_id)).to_have_attribute("data-state", "online")
            order: list[str] = []
            asyncio.get_running_loop().call_later(OFFLINE_ALERT_S - 0.5, order.append, "alert time - 0.5 s")
            await k4.close()
            await expect(kiosk_row(page, k4_id)).to_have_attribute("data-state", "offline")
            alert_k = page.locator(f'li.alert[data-key="kiosk_offline:{k4_id}"]')
            await expect(alert_k).to_contain_text("端末オフライン", timeout=(OFFLINE_ALERT_S + WAIT_S) * 1000)
            order.append("alert shown")
            assert order == ["alert time - 0.5 s", "alert shown"]
            for key in (f"quality:{sid2}:kiosk:loss_pct", f"kiosk_offline:{k4_id}"):
                await expect(page.locator(f'li.alert[data-key="{key}"]')).to_have_count(1)

            # English on demand
            await page.click("#board .lang-toggle")
            await expect(page.locator("h1").last).to_have_text("Madoguchi monitor")
            await expect(alert_k).to_contain_text("Kiosk offline")
            await expect(session).to_contain_text("Employment support")
            if shots:
                await page.screenshot(path=str(Path(shots) / "monitor_en.png"))
            await page.click("#board .lang-toggle")
            await expect(alert_k).to_contain_text("端末オフライン")
            if shots:
                await page.screenshot(path=str(Path(shots) / "monitor_ja.png"))

            # privacy: nothing said, written or negotiated reaches the page or its feed
            direct = await feed_snapshot(env, await env.staff_token("it"))
            Snapshot.model_validate_json(direct)  # the allow-list, strictly (extra fields refused)
            dom = await page.content() + await page.inner_text("body")
            received = "\n".join(frames)
            assert any('"type":"snapshot"' in f for f in frames) and f'"id":{sid}' in received
            for secret in SECRETS:
                assert secret not in dom, secret
                assert secret not in received, secret
                assert secret not in direct, secret
            token = await env.staff_token("it")
            assert not any(token in u or "token=" in u for u in urls), "a token travelled in a URL"
            assert errors == []
        finally:
            await kiosk.stop()
            await console.stop()


async def test_feed_roles_and_handshake(env: Env) -> None:
    url = env.server.ws_url.replace("/ws", "/monitor/feed")

    async def first_frame(token: str) -> tuple[dict[str, Any], int | None]:
        async with websockets.connect(url) as ws:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            msg = json.loads(await asyncio.wait_for(ws.recv(), WAIT_S))
            if msg["type"] == "error":
                with pytest.raises(ConnectionClosed):
                    await asyncio.wait_for(ws.recv(), WAIT_S)
                return msg, ws.close_code
            return msg, None

    # a specialist: 403, as a frame and a close code; and as HTTP 403 with the header
    msg, code = await first_frame(await env.staff_token("takahashi"))
    assert (msg["status"], msg["code"], code) == (403, "forbidden", 4403)
    with pytest.raises(InvalidStatus) as denied:
        async with websockets.connect(url, additional_headers={
                "Authorization": f"Bearer {await env.staff_token('sato')}"}):
            pass
    assert denied.value.response.status_code == 403
    # garbage and kiosk tokens
    msg, code = await first_frame("not-a-token")
    assert (msg["status"], code) == (401, 4401)
    kid, secret = await env.enroll_kiosk("oketo")
    msg, code = await first_frame(await env.kiosk_token(kid, secret))
    assert (msg["status"], code) == (403, 4403)
    # a token in the URL is never looked at: the server still waits for the auth frame
    it_token = await env.staff_token("it")
    async with websockets.connect(f"{url}?token={it_token}") as ws:
        await ws.send(json.dumps({"type": "hello"}))
        msg = json.loads(await asyncio.wait_for(ws.recv(), WAIT_S))
        assert (msg["type"], msg["status"]) == ("error", 401)
    # a page from another origin may not open the feed
    with pytest.raises(InvalidStatus):
        async with websockets.connect(url, origin="http://evil.example"):  # type: ignore[arg-type]
            pass
    # the three allowed roles get the feed
    for user, role in (("it", "it_monitor"), ("tanaka", "supervisor"), ("admin", "admin")):
        msg, code = await first_frame(await env.staff_token(user))
        assert (msg["type"], msg["role"], code) == ("hello", role, None)
    snap = Snapshot.model_validate_json(await feed_snapshot(env, it_token))
    assert {q.service_code for q in snap.queues} == {"disability", "guardianship", "employment", "general"}
    assert [(k.id, k.state) for k in snap.kiosks] == [(kid, "offline")]  # enrolled above, never connected
    assert snap.alerts == []  # ... for less than kiosk_offline_alert_s


async def test_page_and_assets_are_locked_down(sqlite_env: Env) -> None:
    async with httpx.AsyncClient(base_url=sqlite_env.url) as http:
        page = await http.get("/monitor")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert 'src="/monitor/static/monitor.js' in page.text and "<script>" not in page.text
        js = await http.get("/monitor/static/monitor.js")
        assert js.status_code == 200 and "javascript" in js.headers["content-type"]
        assert "innerHTML" not in js.text  # everything is written as text
        assert (await http.get("/monitor/static/../app.py")).status_code == 404
        assert (await http.get("/monitor/static/secret.txt")).status_code == 404


async def test_wrong_password_and_forbidden_role_on_the_page(sqlite_env: Env) -> None:
    async with chromium() as browser:
        page = await browser.new_page()
        errors, _, _ = watch(page)
        await page.goto(f"{sqlite_env.url}/monitor")
        await page.fill("#username", "it")
        await page.fill("#password", "wrong")
        await page.click("#login-button")
        await expect(page.locator("#login-error")).to_have_text("ユーザー名またはパスワードが違います")
        await page.fill("#username", "takahashi")
        await page.fill("#password", "madoguchi-demo")
        await page.click("#login-button")
        await expect(page.locator("#login-error")).to_have_text("このアカウントではモニターを表示できません")
        await expect(page.locator("#board")).to_be_hidden()
        assert [e for e in errors if "401" not in e] == []  # the failed login's 401 is the only console line
