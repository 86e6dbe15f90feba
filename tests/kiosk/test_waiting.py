"""The waiting screen tells the wait honestly: the server's estimate counted down on the kiosk's own (injected)
clock, re-based on every update, "soon" only under a minute, and no negative number when it runs out.

The controller gets the server's pushes through the signaling client's own entry point
(``client.on_message``), so no server is needed; the clock is advanced, never slept on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kiosk.app import KioskApp
from kiosk.services.credentials import KioskCredential
from kiosk.settings import KioskSettings
from signaling.protocol.messages import ServerMessage, SessionStart, TicketUpdate
from signaling.protocol.models import Participant
from tests.kiosk.helpers import SIZE, shot
from tests.support import ManualClock


@pytest.fixture
async def kiosk(tmp_path: Path) -> AsyncIterator[tuple[KioskApp, ManualClock]]:
    clock = ManualClock()
    settings = KioskSettings(server_url="http://127.0.0.1:9", credential_file=tmp_path / "kiosk.json",  # type: ignore[arg-type]
                             fullscreen=False, media_source="synthetic", video_width=320, video_height=240)
    app = KioskApp(settings, KioskCredential(3, "secret", "bihoro"), audio=False, clock=clock)
    app.window.resize(*SIZE)
    app.window.show()
    try:
        yield app, clock
    finally:
        await app.stop()


def update(estimate: float | None, position: int | None = 3, state: str = "waiting") -> TicketUpdate:
    return TicketUpdate(ticket_id=7, state=state, service_code="employment", position=position,  # type: ignore[arg-type]
                        estimated_wait_s=estimate)


async def push(app: KioskApp, msg: ServerMessage) -> None:
    assert app.controller.client.on_message is not None
    await app.controller.client.on_message(msg)


async def test_wait_counts_down_and_rebases(kiosk: tuple[KioskApp, ManualClock]) -> None:
    app, clock = kiosk
    ctl, w = app.controller, app.window
    est, t = w.waiting.estimate, w.ctx.t

    def shown() -> str:
        return est.text() if est.isVisible() else ""

    def tick(seconds: float) -> str:
        clock.advance(seconds)
        ctl.refresh_wait()
        return shown()

    await push(app, update(300.0))
    assert ctl.screen == "waiting" and w.current_page() is w.waiting
    assert shown() == t("waiting.estimate", minutes=5) == "待ち時間のめやす：およそ 5 分"
    assert tick(59) == t("waiting.estimate", minutes=5)     # 4:01 left: still "about 5"
    assert tick(2) == t("waiting.estimate", minutes=4)      # 3:59 left
    assert tick(119) == t("waiting.estimate", minutes=2)    # 2:00 left
    assert tick(60) == t("waiting.estimate_soon")           # 1:00 left: now it is honestly soon
    assert tick(60) == t("waiting.estimate_soon")           # due now
    assert tick(59) == t("waiting.estimate_soon")
    assert tick(1) == t("waiting.estimate_overdue") == "もう少しお待ちください"  # a minute past, nothing happened
    assert tick(3600) == t("waiting.estimate_overdue")      # never a negative number
    assert "-" not in shown()

    # a fresh estimate re-bases the countdown (the server refreshes it while the resident waits)
    await push(app, update(130.0, position=2))
    assert shown() == t("waiting.estimate", minutes=3)
    assert tick(11) == t("waiting.estimate", minutes=2)

    # the old "estimate 0 means soon" is gone: 0 is soon only because it is genuinely under a minute
    await push(app, update(0.0, position=1))
    assert shown() == t("waiting.estimate_soon")
    assert tick(59) == t("waiting.estimate_soon")
    assert tick(1) == t("waiting.estimate_overdue")
    await push(app, update(20.0, position=1))
    assert shown() == t("waiting.estimate_soon")

    # no estimate: nothing is promised
    await push(app, update(None, position=4))
    assert shown() == ""
    assert w.waiting.position.text() == t("waiting.position", n=4)
    await push(app, update(None, position=None))  # cannot be placed now: no stale place either
    assert shown() == "" and w.waiting.position.text() == t("waiting.estimate_unknown")

    # English, same countdown
    await push(app, update(600.0))
    ctl.set_language("en")
    assert shown() == "Estimated wait: about 10 minutes"
    assert tick(541) == "You will be connected soon"
    assert tick(118) == "You will be connected soon"
    assert tick(1) == "Please wait a little longer"


async def test_a_late_queue_update_does_not_undo_the_call(kiosk: tuple[KioskApp, ManualClock]) -> None:
    """The guards against out-of-order pushes stay: an update computed before the accept and delivered after
    session.start neither sends the screen back to waiting nor brings a countdown back."""
    app, clock = kiosk
    ctl = app.controller
    await push(app, update(300.0))
    await push(app, SessionStart(session_id=11, ticket_id=7, service_code="employment", you="kiosk:3",
                                 participants=[Participant(peer="kiosk:3", role="resident"),
                                               Participant(peer="staff:1", role="specialist")]))
    assert ctl.screen == "in_call"
    await push(app, update(240.0, position=1))
    await push(app, update(240.0, position=1, state="offered"))
    assert ctl.screen == "in_call" and ctl.visit.session_id == 11
    clock.advance(30)
    ctl.refresh_wait()
    assert ctl.wait_view.kind == "unknown"


@pytest.mark.parametrize("language", ["ja", "en"])
async def test_waiting_screen_picture(kiosk: tuple[KioskApp, ManualClock], language: str) -> None:
    """Rendered for review (docs/screenshots when MADOGUCHI_SCREENSHOTS says so): number 3, about 12 minutes."""
    app, _clock = kiosk
    app.controller.set_language(language)
    await push(app, update(690.0))
    app.window.offline.set_online(True)  # no server in this test: keep the offline overlay away
    await shot(app.window, "waiting_countdown", language)
    assert app.window.waiting.estimate.text() == app.window.ctx.t("waiting.estimate", minutes=12)
