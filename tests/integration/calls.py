"""Helpers for tests that run real kiosk and console controllers with real aiortc media."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kiosk.controller import KioskController
from kiosk.services import credentials
from kiosk.services.credentials import KioskCredential
from kiosk.settings import KioskSettings
from staff_console.controller import StaffController
from staff_console.settings import ConsoleSettings
from tests.support import WAIT_S, Env

# small video; requests wait as long as the tests do (an in-process server on a loaded machine can take
# longer than the production 10 s to answer, and a timed-out request is taken for "offline")
SMALL = dict(video_width=320, video_height=240, video_fps=15, request_timeout_s=WAIT_S)


async def kiosk_controller(env: Env, tmp: Path, branch: str = "bihoro", clock: Callable[[], float] | None = None,
                           **over: object) -> KioskController:
    kid, secret = await env.enroll_kiosk(branch)
    settings = KioskSettings(server_url=env.url, credential_file=tmp / f"kiosk-{kid}.json",  # type: ignore[arg-type]
                             **{**SMALL, **over})
    cred = KioskCredential(kid, secret)
    credentials.save(settings.credential_file, cred)
    ctl = KioskController(settings, cred, clock=clock) if clock is not None else KioskController(settings, cred)
    env.track(ctl)
    await ctl.start()
    await ctl.client.wait_online(WAIT_S)
    return ctl


async def staff_controller(env: Env, username: str, **over: object) -> StaffController:
    ctl = StaffController(ConsoleSettings(server_url=env.url, **{**SMALL, **over}))  # type: ignore[arg-type]
    env.track(ctl)
    await ctl.login(username, "madoguchi-demo")
    assert ctl.client is not None
    await ctl.client.wait_online(WAIT_S)
    return ctl
