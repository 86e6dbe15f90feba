"""A resident's visit by simulated touches on the real window, against a real server and real consoles."""

from __future__ import annotations

import asyncio
import itertools
import os
import stat
from pathlib import Path
from typing import Any

from sqlalchemy import select

from kiosk.app import enroll_with_page
from kiosk.services import credentials
from kiosk.settings import KioskSettings
from server.admin_ops import create_enrollment, revoke_kiosk
from server.db.models import AuditEvent, Feedback, Ticket
from server.db.seed import seed_demo
from server.run import start_server
from signaling.observer import wait_for
from tests.integration.calls import kiosk_controller, staff_controller
from tests.kiosk.helpers import TEST_PIN, choose_language, click, kiosk_app
from tests.support import WAIT_S, Env, ManualClock, allow_outside_supervision, eventually, make_settings


async def test_whole_visit_by_touch(sqlite_env: Env, tmp_path: Path) -> None:
    env = sqlite_env
    takahashi = await staff_controller(env, "takahashi")
    (tmp_path / "other").mkdir()
    other = await kiosk_controller(env, tmp_path / "other")  # another resident, a step ahead of ours
    app = await kiosk_app(env, tmp_path)
    ctl, w = app.controller, app.window
    tanaka = None
    try:
        assert await takahashi.set_available()
        first_offer = asyncio.ensure_future(wait_for(takahashi, "offer", WAIT_S))
        other.begin()
        assert await other.request_service("employment")
        await first_offer

        # welcome → kind of help → needs → waiting, by touch
        click(w.welcome.start)
        await eventually(lambda: ctl.screen == "choosing")
        click(w.services_page.buttons["employment"])
        await eventually(lambda: ctl.screen == "needs")
        click(w.needs.toggles["written"])
        click(w.needs.next)
        await eventually(lambda: ctl.screen == "waiting" and w.waiting.ticket.get("position") == 2)
        assert "2" in w.waiting.position.text()
        assert ctl.visit.needs == ["written"]

        # the resident ahead is served: ours moves up, live
        assert await takahashi.accept()
        await eventually(lambda: w.waiting.ticket.get("position") == 1, what="position 2 → 1")
        assert w.waiting.position.text() == w.ctx.t("waiting.position_next")
        await eventually(lambda: takahashi.mesh is not None and takahashi.mesh.link() is not None
                         and takahashi.mesh.link().call.video_frames_received > 0,  # type: ignore[union-attr]
                         what="the resident ahead on the line")
        assert await takahashi.hang_up()
        await eventually(lambda: takahashi.wrapup is not None)
        assert await takahashi.save_note("就労支援", "前の相談")
        our_offer = asyncio.ensure_future(wait_for(takahashi, "offer", WAIT_S))
        assert await takahashi.finish_wrapup()
        await our_offer

        # the specialist answers: a chime, the call screen, real video painted, chat both ways
        sounds = app.audio.sounds_played if app.audio else 0
        assert await takahashi.accept()
        await eventually(lambda: ctl.screen == "in_call")
        assert app.audio is not None and app.audio.sounds_played == sounds + 1
        await eventually(lambda: w.call.video.frames_painted > 0 and w.call.self_view.frames_painted > 0,
                         what="remote and self video painted")
        await eventually(lambda: app.audio is not None and app.audio.frames_in > 20, what="remote audio played")
        await eventually(lambda: takahashi.mesh is not None and takahashi.mesh.link() is not None
                         and takahashi.mesh.link().call._channel_open.is_set())  # type: ignore[union-attr]
        theirs = asyncio.ensure_future(wait_for(takahashi, "chat", WAIT_S, lambda d: d["who"] != "me"))
        assert w.call.keyboard_open  # a written call (筆談) opens with the on-screen keyboard; under it the phrases
        click(w.call.keyboard_toggle)
        click(w.call.quick[4])  # "please write it down"
        assert (await theirs)["text"] == w.ctx.t("call.quick.write")
        assert takahashi.send_chat("来週、ハローワークへ一緒に行きましょう")
        await eventually(lambda: w.call.chat.count() == 2)

        # a supervisor listening in is announced on the kiosk (DESIGN §6)
        await allow_outside_supervision(env)  # tanaka is Kitami's supervisor; this kiosk is Bihoro's
        tanaka = await staff_controller(env, "tanaka")
        session_id = ctl.visit.session_id
        assert session_id is not None and await tanaka.join_silently(session_id)
        await eventually(lambda: w.call.banner.isVisible()
                         and w.ctx.t("call.role.supervisor") in w.call.banner.text(), what="supervisor announced")
        assert w.ctx.t("call.role.supervisor") in w.call.people.text()
        assert await tanaka.leave()

        # mute and camera toggles reach the call
        click(w.call.mute)
        assert ctl.mesh is not None and ctl.mesh.muted
        click(w.call.mute)
        assert not ctl.mesh.muted

        # end → feedback (stored) → welcome, everything of this resident gone
        click(w.call.end)
        click(w.call.end_yes)
        await eventually(lambda: ctl.screen == "feedback")
        click(w.feedback.faces[4])
        click(w.feedback.trip_yes)
        click(w.feedback.send)
        await eventually(lambda: ctl.screen == "idle")
        await eventually(lambda: w.welcome.thanks.isVisible())
        # the screen clears at once; the rating travels through the outbox, kept until the server acknowledged
        # it (after its commit)
        await eventually(lambda: not ctl.outbox.pending, what="the feedback delivered")
        async with env.ctx.maker() as db:
            fb = (await db.execute(select(Feedback))).scalars().one()
            assert (fb.rating, fb.saved_trip, fb.session_id) == (5, True, session_id)
            actions = [a.action for a in (await db.execute(select(AuditEvent))).scalars()]
            assert "session.join" in actions
        assert ctl.visit.ticket_id is None and ctl.visit.chat == [] and ctl.visit.needs == []
        assert w.call.chat.count() == 0 and w.call.entry.text() == ""
        assert not w.call.video.has_picture and not w.call.self_view.has_picture
        assert not any(b.isChecked() for b in w.needs.toggles.values())
        assert w.waiting.ticket == {} and w.feedback.rating() is None and w.nospec.info == {}
        assert w.current_page() is w.welcome
    finally:
        await app.stop()
        await other.stop()
        await takahashi.stop()
        if tanaka is not None:
            await tanaka.stop()


async def test_cancel_while_waiting(sqlite_env: Env, tmp_path: Path) -> None:
    env = sqlite_env
    takahashi = await staff_controller(env, "takahashi")
    app = await kiosk_app(env, tmp_path)
    ctl, w = app.controller, app.window
    try:
        assert await takahashi.set_available()
        click(w.welcome.start)
        await eventually(lambda: ctl.screen == "choosing")
        click(w.services_page.buttons["disability"])
        await eventually(lambda: ctl.screen == "needs")
        click(w.needs.next)
        await eventually(lambda: ctl.screen == "waiting")
        tid = ctl.visit.ticket_id
        resets: list[dict[str, object]] = []
        ctl.on("reset", resets.append)
        revoked = asyncio.ensure_future(wait_for(takahashi, "offer_revoked", WAIT_S))
        click(w.waiting.cancel)
        await eventually(lambda: ctl.screen == "idle")
        await revoked
        await eventually(w.waiting.cancel.isEnabled, what="the cancel's end")  # the request's ack is in
        assert len(resets) == 1  # one reset: a second, after the next resident began, would wipe their choices
        async with env.ctx.maker() as db:
            t = await db.get(Ticket, tid)
            assert t is not None and t.state == "cancelled"
        assert ctl.visit.ticket_id is None and w.waiting.ticket == {} and w.current_page() is w.welcome
    finally:
        await app.stop()
        await takahashi.stop()


async def test_server_restart_while_waiting(tmp_path: Path) -> None:
    """The server goes away and comes back on the same database: the kiosk shows a calm overlay, retries by
    itself, and shows the same ticket waiting again, without a restart of the kiosk."""
    settings = make_settings(tmp_path, kiosk_grace_s=60.0)
    srv = await start_server(settings)
    app_state = srv.server.config.loaded_app
    while hasattr(app_state, "app"):
        app_state = app_state.app
    async with app_state.state.ctx.maker() as db, db.begin():
        await seed_demo(db)
    env = Env(server=srv, settings=settings, app=app_state)
    takahashi = await staff_controller(env, "takahashi")
    app = await kiosk_app(env, tmp_path, )
    ctl, w = app.controller, app.window
    app.controller.client.backoff_max_s = 1.0
    try:
        assert await takahashi.set_available()
        click(w.welcome.start)
        await eventually(lambda: ctl.screen == "choosing")
        click(w.services_page.buttons["employment"])
        await eventually(lambda: ctl.screen == "needs")
        click(w.needs.next)
        await eventually(lambda: ctl.screen == "waiting")
        tid = ctl.visit.ticket_id

        states: list[str] = []  # the connection's states from here on
        on_state = ctl.client.on_state
        assert on_state is not None
        ctl.client.on_state = lambda state: (states.append(state), on_state(state))[1]
        port = srv.port
        await srv.stop()
        await eventually(lambda: w.offline.isVisible(), what="offline overlay")
        assert w.offline.kept.isVisible()  # "your place is kept"
        assert ctl.screen == "waiting"
        assert ctl.client.connects == 1
        # retrying by itself: an attempt that failed while the server is away
        await eventually(lambda: ("connecting", "offline") in itertools.pairwise(states),
                         what="a retry failed while the server is down")

        srv = await start_server(settings, port=port)
        await eventually(lambda: ctl.connection == "online", what="kiosk back online")
        await eventually(lambda: not w.offline.isVisible())
        await eventually(lambda: ctl.visit.ticket_id == tid and ctl.screen == "waiting"
                         and w.current_page() is w.waiting)
        app_state = srv.server.config.loaded_app
        while hasattr(app_state, "app"):
            app_state = app_state.app
        async with app_state.state.ctx.maker() as db:
            t = await db.get(Ticket, tid)
            assert t is not None and t.state in ("waiting", "offered")
    finally:
        await app.stop()
        await takahashi.stop()
        await srv.stop()


async def test_inactivity_resets_and_warns(sqlite_env: Env, tmp_path: Path) -> None:
    """On the controller's clock (injected, advanced here): untouched for 1.5 s of the 3 s limit, the kiosk
    asks "are you still there?"; "continue" starts the count again; 3 s untouched, everything is reset."""
    clock = ManualClock()
    app = await kiosk_app(sqlite_env, tmp_path, clock=clock, inactivity_reset_s=3.0, inactivity_warning_s=1.5)
    ctl, w = app.controller, app.window
    warnings: list[dict[str, Any]] = []
    ctl.on("idle_warning", warnings.append)
    try:
        choose_language(w, "en")
        click(w.welcome.start)
        await eventually(lambda: ctl.screen == "choosing")
        click(w.services_page.buttons["disability"])
        await eventually(lambda: ctl.screen == "needs")
        click(w.needs.toggles["large_text"])  # the last touch: the count starts here
        assert w.large_text
        clock.advance(1.4)
        ctl.check_inactivity()
        assert warnings == [] and ctl.screen == "needs"
        clock.advance(0.2)
        ctl.check_inactivity()
        assert len(warnings) == 1 and ctl.screen == "needs"
        await eventually(lambda: w.idle.isVisible(), what="are you still there?")
        click(w.idle.button)  # "continue": the resident stays, and the count starts again
        assert not w.idle.isVisible() and ctl.screen == "needs"
        clock.advance(2.9)
        ctl.check_inactivity()
        assert ctl.screen == "needs"
        clock.advance(0.2)
        ctl.check_inactivity()
        assert ctl.screen == "idle"
        await eventually(lambda: w.current_page() is w.welcome and not w.idle.isVisible(), what="welcome again")
        assert ctl.visit.service_code is None and ctl.visit.needs == []
        assert not any(b.isChecked() for b in w.needs.toggles.values())
        assert not w.large_text and ctl.language == "ja" and w.ctx.language == "ja"
    finally:
        await app.stop()


async def test_revoked_while_waiting_goes_out_of_service(sqlite_env: Env, tmp_path: Path) -> None:
    """An administrator revokes the kiosk while a resident waits: the ticket is dropped with the resident's data,
    the window says the kiosk is out of service and who can help, and the kiosk stops knocking."""
    env = sqlite_env
    app = await kiosk_app(env, tmp_path)
    ctl, w = app.controller, app.window
    try:
        click(w.welcome.start)
        await eventually(lambda: ctl.screen == "choosing")
        click(w.services_page.buttons["disability"])
        await eventually(lambda: ctl.screen == "needs")
        click(w.needs.next)
        await eventually(lambda: ctl.screen == "no_specialist" or ctl.screen == "waiting")
        async with env.ctx.maker() as db, db.begin():
            await revoke_kiosk(db, ctl.credential.kiosk_id, "test")
        await env.ctx.hub.disconnect(f"kiosk:{ctl.credential.kiosk_id}", 4001, "kiosk revoked")
        await eventually(lambda: w.offline.isVisible() and ctl.screen == "idle", what="out-of-service overlay")
        assert ctl.client.stop_reason == "revoked" and ctl.visit.ticket_id is None
        assert w.offline.title.text() == ctl_t(w, "stopped.revoked.title")
        assert "職員" in w.offline.lead.text() and not w.offline.kept.isVisible()
        # no knocking: the revoked client's reconnect loop has ended for good
        await asyncio.wait_for(ctl.client.given_up(), WAIT_S)
        assert ctl.client.connects == 1 and ctl.client.state == "closed" and w.offline.isVisible()
    finally:
        await app.stop()


def ctl_t(w: object, key: str) -> str:
    return str(w.ctx.t(key))  # type: ignore[attr-defined]


async def test_selfcheck_needs_the_pin(sqlite_env: Env, tmp_path: Path) -> None:
    app = await kiosk_app(sqlite_env, tmp_path)
    ctl, w = app.controller, app.window
    try:
        w.show_pin()
        w.pin.field.setText("9999")
        click(w.pin.ok)
        assert w.pin.wrong.isVisible() and ctl.screen == "idle"
        for _ in range(5):
            ctl.unlock_selfcheck("1234")
        assert not ctl.unlock_selfcheck(TEST_PIN)  # locked out after repeated wrong PINs
    finally:
        await app.stop()


async def test_enrollment_screen_saves_a_private_credential(sqlite_env: Env, tmp_path: Path) -> None:
    env = sqlite_env
    async with env.ctx.maker() as db, db.begin():
        kid, code = await create_enrollment(db, "bihoro", "", "test")
    settings = KioskSettings(server_url=env.url, credential_file=tmp_path / "cred" / "kiosk.json",  # type: ignore[arg-type]
                             fullscreen=False)
    from kiosk.app import catalog

    task = asyncio.ensure_future(enroll_with_page(settings, catalog(settings)))
    from PySide6.QtWidgets import QApplication

    from kiosk.ui.admin import EnrollPage

    await eventually(lambda: any(isinstance(x, EnrollPage) and x.isVisible() for x in QApplication.topLevelWidgets()))
    page = next(x for x in QApplication.topLevelWidgets() if isinstance(x, EnrollPage) and x.isVisible())
    page.kiosk_id.setText(str(kid))
    assert "bihoro" not in page.server.text() and env.url in page.server.text()
    page.code.setText("wrong-code")
    click(page.submit)
    await eventually(lambda: page.error.isVisible())
    assert not settings.credential_file.exists()
    page.code.setText(code)
    click(page.submit)
    await eventually(lambda: task.done())
    cred = task.result()
    assert cred is not None and cred.kiosk_id == kid
    mode = stat.S_IMODE(os.stat(settings.credential_file).st_mode)
    assert mode == 0o600, oct(mode)
    loaded = credentials.load(settings.credential_file)
    assert loaded is not None and loaded.secret == cred.secret
