"""A guest in real headless Chromium (fake camera and microphone) joins a call of a real kiosk controller and a
real console controller, with aiortc media: three links verified from both ends (the page's getStats
inbound-rtp frames decoded from the resident and the specialist; the kiosk and the console count frames
received from the guest), VGA from the kiosk, chat both ways, the resident's refusal, an expired link and a
reused link."""

from __future__ import annotations

import asyncio
import os
import tempfile
from datetime import timedelta
from pathlib import Path

from playwright.async_api import Page

from signaling.observer import wait_for
from tests.integration.guest_browser import admit, call_with, chromium, enter_lobby, new_page, wait_browser_frames
from tests.support import WAIT_S, eventually
from tests.test_guest_access import ShiftedClock

FRAMES = 30
# MADOGUCHI_SCREENSHOTS=docs/screenshots refreshes the committed pictures of the guest page
SHOTS = Path(os.environ.get("MADOGUCHI_SCREENSHOTS") or Path(tempfile.gettempdir()) / "madoguchi-screenshots")
SHOTS.mkdir(parents=True, exist_ok=True)


async def shoot(page: Page, name: str) -> None:
    """The page in Japanese, then in English (its own language switch), back to Japanese."""
    for lang in ("ja", "en"):
        if await page.evaluate("() => document.documentElement.lang") != lang:
            await page.click("#lang")
            await page.wait_for_function(f"() => document.documentElement.lang === '{lang}'")
        await page.screenshot(path=str(SHOTS / f"guest_{name}_{lang}.png"))
    await page.click("#lang")


async def test_three_way_call_with_a_browser_guest(sqlite_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = sqlite_env
    kiosk, staff = await call_with(env, tmp_path)
    errors: list[str] = []
    try:
        async with chromium() as browser:
            page = await new_page(browser, errors)
            entry = await staff.invite_guest("sign_interpreter", "山田 手話")
            assert entry is not None and entry.link.startswith(env.url + "/g/")
            await enter_lobby(page, entry.link)
            assert "山田 手話（手話通訳）" in await page.inner_text("#me")
            await shoot(page, "lobby")
            await admit(staff, kiosk, entry.invitation_id, True)
            guest = f"guest:{entry.invitation_id}"
            k_peer, s_peer = f"kiosk:{kiosk.credential.kiosk_id}", staff.my_peer
            await page.wait_for_selector("#call:not([hidden])", timeout=WAIT_S * 1000)

            # every link carries media, seen from both of its ends
            stats = await wait_browser_frames(page, [k_peer, s_peer], FRAMES)
            assert kiosk.mesh is not None and staff.mesh is not None
            await eventually(lambda: kiosk.mesh.frames_received(guest)["video"] > FRAMES  # type: ignore[union-attr]
                             and staff.mesh.frames_received(guest)["video"] > FRAMES  # type: ignore[union-attr]
                             and kiosk.mesh.frames_received(guest)["audio"] > 0  # type: ignore[union-attr]
                             and staff.mesh.frames_received(guest)["audio"] > 0,  # type: ignore[union-attr]
                             what="the kiosk and the console receive the guest's video and audio")
            assert staff.mesh.frames_received(k_peer)["video"] > FRAMES  # the resident <-> specialist link goes on
            # a sign-language interpreter needs the resident's hands: the kiosk sends VGA, and so does the guest
            assert (stats[k_peer]["frameWidth"], stats[k_peer]["frameHeight"]) == (640, 480)
            frame = kiosk.mesh.links[guest].call.latest_video_frame
            assert frame is not None and (frame.width, frame.height) == (640, 480)
            assert [p.role for p in kiosk.visit.participants if p.peer == guest] == ["guest"]

            await page.evaluate("() => Promise.all([...document.querySelectorAll('video')].map((v) => v.play()))")
            await shoot(page, "call")

            # chat both ways on the call's data channel
            said = asyncio.ensure_future(wait_for(kiosk, "chat", WAIT_S, lambda d: d["who"] == guest))
            assert await page.evaluate("() => window.madoguchiGuest.sendChat('手話通訳の山田です。')") == 2
            assert (await said)["text"] == "手話通訳の山田です。"
            assert staff.send_chat("よろしくお願いします。")
            await page.wait_for_function(
                "() => window.madoguchiGuest.chat.some((c) => c.text === 'よろしくお願いします。')",
                timeout=WAIT_S * 1000)

            # the guest leaves; the call goes on
            left = asyncio.ensure_future(wait_for(kiosk, "participants", WAIT_S, lambda d: d.get("left") == guest))
            await page.click("#leave")
            await left
            assert staff.call is not None and not staff.call.ended
        assert errors == []
    finally:
        await staff.stop()
        await kiosk.stop()


async def test_the_resident_refuses_the_guest(sqlite_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = sqlite_env
    kiosk, staff = await call_with(env, tmp_path)
    try:
        async with chromium() as browser:
            page = await new_page(browser)
            entry = await staff.invite_guest("family", "佐々木 花")
            assert entry is not None
            await enter_lobby(page, entry.link)
            refused = asyncio.ensure_future(wait_for(staff, "guest_state", WAIT_S,
                                                     lambda d: d["entry"].state == "refused"))
            await admit(staff, kiosk, entry.invitation_id, False)
            await page.wait_for_selector("#done:not([hidden])", timeout=WAIT_S * 1000)
            assert "住民の方が今回の参加を望みませんでした" in await page.inner_text("#done-text")
            assert (await refused)["entry"].refused_by == "resident"
            assert kiosk.mesh is not None and f"guest:{entry.invitation_id}" not in kiosk.mesh.links
            assert await page.evaluate("() => window.madoguchiGuest.pcs.size") == 0  # no media ever started
    finally:
        await staff.stop()
        await kiosk.stop()


async def test_expired_and_reused_links(sqlite_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = sqlite_env
    kiosk, staff = await call_with(env, tmp_path)
    try:
        async with chromium() as browser:
            first, second = await new_page(browser), await new_page(browser)
            used = await staff.invite_guest("guardian", "後見 次郎")
            assert used is not None
            await enter_lobby(first, used.link)
            reply = await second.goto(used.link)
            assert reply is not None and reply.status == 410
            assert "すでに使われました" in await second.inner_text("body")
            # the specialist refuses that guest: the console has room for the next link (one guest at a time,
            # a supervisor may still listen in)
            await eventually(lambda: staff.guests.lobby(), what="the guest in the console's lobby")
            assert await staff.admit_guest(used.invitation_id, False)
            await first.wait_for_selector("#done:not([hidden])", timeout=WAIT_S * 1000)
            assert "担当者が今回の参加をお断りしました" in await first.inner_text("#done-text")

            env.settings.media_grace_s = 10 * env.settings.guest_link_ttl_s  # the call outlives the clock's jump
            clock = ShiftedClock(env.ctx.engine.clock)
            env.ctx.engine.clock = clock
            late = await staff.invite_guest("interpreter", "通訳 三郎")
            assert late is not None
            clock.offset = timedelta(seconds=env.settings.guest_link_ttl_s + 1)
            reply = await second.goto(late.link + "?lang=en")
            assert reply is not None and reply.status == 410
            assert "This link has expired" in await second.inner_text("body")
    finally:
        await staff.stop()
        await kiosk.stop()
