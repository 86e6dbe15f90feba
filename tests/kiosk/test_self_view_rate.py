"""In a real call the kiosk's views take the specialist's video at every frame tick and the resident's own small
picture at :data:`kiosk.ui.call.SELF_VIEW_FPS` (what it saves: bench/kiosk_cost.py); while a paper is shown, the
document (large) and the specialist (in the corner) both at every tick. The ticks are driven by the test, each
after new frames have arrived both ways."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from kiosk.ui.call import SELF_VIEW_EVERY, SELF_VIEW_FPS
from signaling.observer import wait_for
from tests.integration.calls import staff_controller
from tests.kiosk.helpers import kiosk_app
from tests.support import WAIT_S, Env, eventually


async def test_own_picture_at_the_self_view_rate_the_specialist_at_every_tick(sqlite_env: Env,
                                                                            tmp_path: Path) -> None:
    assert SELF_VIEW_FPS == 5 and SELF_VIEW_EVERY == 3  # 15 ticks a second
    env = sqlite_env
    takahashi = await staff_controller(env, "takahashi")
    app = await kiosk_app(env, tmp_path)
    ctl, call = app.controller, app.window.call
    try:
        assert await takahashi.set_available()
        offer = asyncio.ensure_future(wait_for(takahashi, "offer", WAIT_S))
        ctl.begin()
        assert await ctl.request_service("employment")
        await offer
        assert await takahashi.accept()
        await eventually(lambda: ctl.screen == "in_call")
        await eventually(lambda: call.video.has_picture and call.self_view.has_picture, what="video both ways")
        call._frames.stop()  # the test ticks

        async def tick() -> None:
            remote, local = ctl.remote_frame(), ctl.local_frame()
            await eventually(lambda: ctl.remote_frame() is not remote and ctl.local_frame() is not local,
                             what="new frames both ways")
            call._paint()

        def shown() -> tuple[Any, Any]:
            return call.video._last_frame, call.self_view._last_frame

        changes = [0, 0]
        before = shown()
        for _ in range(3 * SELF_VIEW_EVERY):
            await tick()
            now = shown()
            changes = [c + (a is not b) for c, a, b in zip(changes, now, before, strict=True)]
            before = now
            assert call.video._last_frame is ctl.remote_frame()  # the specialist: always the latest
        assert changes == [3 * SELF_VIEW_EVERY, 3]  # the resident's own picture: one tick in SELF_VIEW_EVERY

        call.set_document(True)  # a paper shown: the self-view frame sits large, the specialist in the corner
        for _ in range(SELF_VIEW_EVERY):
            await tick()
            assert call.video._last_frame is ctl.local_frame() and call.self_view._last_frame is ctl.remote_frame()
        call.set_document(False)
    finally:
        await app.stop()
        await takahashi.stop()
