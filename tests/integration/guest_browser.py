"""Helpers for a guest in real headless Chromium (Debian ``chromium``, fake camera and microphone) joining a
call of real kiosk and console controllers: used by tests/integration/test_guest_browser.py and
bench/guest_join.py."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page

from kiosk.controller import KioskController
from signaling.observer import wait_for
from staff_console.controller import StaffController
from tests.browser import MEDIA_ARGS
from tests.browser import chromium as browser_with
from tests.integration.calls import kiosk_controller, staff_controller
from tests.support import WAIT_S, Env

VGA = dict(video_width=640, video_height=480, video_fps=15)  # what a sign-language interpreter needs


def chromium() -> AbstractAsyncContextManager[Browser]:
    """Chromium with fake camera and microphone, as a guest's browser."""
    return browser_with(*MEDIA_ARGS)


async def new_page(browser: Browser, errors: list[str] | None = None) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP")
    page = await context.new_page()
    if errors is not None:
        page.on("pageerror", lambda e: errors.append(str(e)))
    return page


async def call_with(env: Env, tmp: Path) -> tuple[KioskController, StaffController]:
    """A resident (kiosk, VGA 15 fps) in a call with takahashi (console), media connected."""
    staff = await staff_controller(env, "takahashi")
    kiosk = await kiosk_controller(env, tmp, "bihoro", **VGA)
    assert await staff.set_available()
    offer = asyncio.ensure_future(wait_for(staff, "offer", WAIT_S))
    kiosk.begin()
    assert await kiosk.request_service("employment", [])
    await offer
    connected = asyncio.ensure_future(wait_for(staff, "call_status", WAIT_S, lambda d: d["status"] == "connected"))
    assert await staff.accept()
    await connected
    return kiosk, staff


async def enter_lobby(page: Page, link: str) -> None:
    """Open the link, pass the camera/microphone check, enter the lobby."""
    await page.goto(link)
    await page.wait_for_selector("#enter:not([disabled])", timeout=WAIT_S * 1000)
    await page.click("#enter")
    await page.wait_for_selector("#lobby:not([hidden])", timeout=WAIT_S * 1000)


async def admit(staff: StaffController, kiosk: KioskController, invitation_id: int, agree: bool) -> None:
    """The specialist admits the guest waiting in the lobby; the resident answers the kiosk's announcement."""
    asked = asyncio.ensure_future(wait_for(kiosk, "guest_consent", WAIT_S))
    if not any(e.invitation_id == invitation_id for e in staff.guests.lobby()):
        await wait_for(staff, "guest_lobby", WAIT_S,
                       lambda d: any(e.invitation_id == invitation_id for e in d["entries"]))
    assert await staff.admit_guest(invitation_id, True)
    await asked
    assert await kiosk.answer_guest(agree)


async def browser_stats(page: Page) -> dict[str, Any]:
    return await page.evaluate("() => window.madoguchiGuest.stats()")  # type: ignore[no-any-return]


async def wait_browser_frames(page: Page, peers: list[str], frames: int) -> dict[str, Any]:
    """Until the page has decoded more than ``frames`` video frames (and some audio) from each of ``peers``."""
    await page.wait_for_function(
        """([peers, n]) => { const s = window.madoguchiGuest; if (!s || !s.pcs) return false;
             return peers.every((p) => s.firstFrameAt.has(p)); }""", arg=[peers, frames], timeout=WAIT_S * 1000)
    while True:  # the stats are read on the page's own event, each a round trip: no fixed pause in between
        stats = await browser_stats(page)
        if all(stats.get(p, {}).get("framesDecoded", 0) > frames and stats[p].get("audioPackets", 0) > 0
               for p in peers):
            return stats
        await page.wait_for_function("() => true", timeout=WAIT_S * 1000)
