"""A kiosk's call ends by itself when nobody else can end it (found by killing things: with the server down and
specialists hanging up, kiosks stayed on a frozen call screen for ever and wrote no feedback).

Real server (stopped and started again on the same database), real kiosk and console controllers, real aiortc
media over loopback. Grace periods are made small; an injected clock drives the inactivity rule."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from kiosk.controller import KioskController
from kiosk.services import credentials
from kiosk.services.credentials import KioskCredential
from kiosk.settings import KioskSettings
from server.db.models import CallSession, Feedback
from server.db.seed import seed_demo
from server.run import RunningServer, start_server
from server.settings import Settings
from signaling.observer import wait_for
from signaling.protocol.messages import CallMedia
from staff_console.controller import StaffController
from tests.integration.calls import SMALL, staff_controller
from tests.support import WAIT_S, Env, ManualClock, eventually, make_settings


@dataclass
class Site:
    """A server that can be stopped and started again (same database, same port)."""

    settings: Settings
    srv: RunningServer
    env: Env

    async def stop(self) -> None:
        await self.srv.stop()

    async def start_again(self) -> None:
        self.srv = await start_server(self.settings, port=self.srv.port)
        self.env = Env(server=self.srv, settings=self.settings, app=_app(self.srv))

    async def session(self, sid: int) -> CallSession:
        async with self.env.ctx.maker() as db:
            s = await db.get(CallSession, sid)
            assert s is not None
            return s


def _app(srv: RunningServer) -> Any:
    app = srv.server.config.loaded_app
    while hasattr(app, "app"):
        app = app.app
    return app


@asynccontextmanager
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    settings = make_settings(tmp_path, kiosk_grace_s=120.0)
    srv = await start_server(settings)
    env = Env(server=srv, settings=settings, app=_app(srv))
    async with env.ctx.maker() as db, db.begin():
        await seed_demo(db)
    s = Site(settings, srv, env)
    try:
        yield s
    finally:
        await s.srv.stop()


async def kiosk(s: Site, tmp: Path, clock: Callable[[], float] | None = None, **over: Any) -> KioskController:
    kid, secret = await s.env.enroll_kiosk("bihoro")
    settings = KioskSettings(server_url=s.env.url, credential_file=tmp / f"kiosk-{kid}.json",  # type: ignore[arg-type]
                             **{**SMALL, **over})
    cred = KioskCredential(kid, secret)
    credentials.save(settings.credential_file, cred)
    ctl = KioskController(settings, cred, **({"clock": clock} if clock is not None else {}))
    ctl.client.backoff_max_s = 0.5
    await ctl.start()
    await ctl.client.wait_online(WAIT_S)
    return ctl


async def in_call(console: StaffController, ctl: KioskController) -> int:
    assert await console.set_available()
    offer = asyncio.ensure_future(wait_for(console, "offer", WAIT_S))
    ctl.begin()
    assert await ctl.request_service("employment", [])
    await offer
    assert await console.accept()
    await eventually(lambda: ctl.screen == "in_call" and ctl.mesh is not None and ctl.mesh.link() is not None
                     and ctl.mesh.link().call.video_frames_received > 5)  # type: ignore[union-attr]
    await eventually(lambda: console.mesh is not None and console.mesh.link() is not None
                     and console.mesh.link().call._channel_open.is_set())  # type: ignore[union-attr]
    assert ctl.visit.session_id is not None
    return ctl.visit.session_id


async def test_specialist_bye_ends_the_call_while_the_server_is_down(tmp_path: Path) -> None:
    """The specialist's console closes the call while the server is down: the kiosk hears the data channel's
    bye, ends the call at once and asks for feedback; the feedback given offline is kept, and after the
    server is back the kiosk tells it the call ended and hands over the rating."""
    async with site(tmp_path) as s:
        console = await staff_controller(s.env, "takahashi")
        ctl = await kiosk(s, tmp_path, media_grace_s=600.0)  # not the grace: the bye must end it
        try:
            sid = await in_call(console, ctl)
            ended = asyncio.ensure_future(wait_for(ctl, "call_ended", WAIT_S))
            await s.stop()
            await eventually(lambda: ctl.connection != "online" and console.connection != "online")
            await console.stop()  # the specialist closes the console: its link says bye

            assert (await ended)["reason"] == "staff_hangup"
            assert ctl.screen == "feedback" and ctl.mesh is None
            assert [(r.kind, r.session_id) for r in ctl.outbox.pending] == [("session_end", sid)]
            assert not await ctl.submit_feedback(4, True)  # kept, not lost
            assert ctl.screen == "idle" and ctl.visit.session_id is None
            assert [r.kind for r in ctl.outbox.pending] == ["session_end", "feedback"]

            await s.start_again()
            await eventually(lambda: ctl.connection == "online")
            await eventually(lambda: not ctl.outbox.pending)
            # the server's re-sync of the call (session.start, ticket in_call) came before the replies:
            # not taken for a call that goes on
            assert ctl.screen == "idle" and ctl.mesh is None and ctl.visit.ticket_id is None
            sess = await s.session(sid)
            assert sess.ended_at is not None
            async with s.env.ctx.maker() as db:
                fb = (await db.execute(select(Feedback))).scalars().one()
                assert (fb.session_id, fb.rating, fb.saved_trip) == (sid, 4, True)
        finally:
            await ctl.stop()
            await console.stop()


async def test_dead_media_past_the_grace_ends_the_call_without_a_server(tmp_path: Path) -> None:
    """The media dies while the server is down (no bye): after the media grace the kiosk says the call was cut
    off and asks for feedback; the server learns it after the reconnect (media_failed)."""
    async with site(tmp_path) as s:
        console = await staff_controller(s.env, "takahashi")
        ctl = await kiosk(s, tmp_path, media_grace_s=1.5, media_lost_after_s=1.0)
        try:
            sid = await in_call(console, ctl)
            ended = asyncio.ensure_future(wait_for(ctl, "call_ended", WAIT_S))
            await s.stop()
            await eventually(lambda: ctl.connection != "online" and console.connection != "online")
            assert console.mesh is not None and console.mesh.link() is not None
            await console.mesh.link().call.close(say_bye=False)  # type: ignore[union-attr]  # gone, no goodbye

            assert (await ended)["reason"] == "media_failed"  # the window shows the cut-off words for it
            assert ctl.screen == "feedback" and ctl.visit.feedback_session_id == sid
            assert [(r.kind, r.session_id) for r in ctl.outbox.pending] == [("media_failed", sid)]

            await s.start_again()
            await eventually(lambda: ctl.connection == "online")
            await eventually(lambda: not ctl.outbox.pending)
            assert ctl.screen == "feedback"  # the resident can still give feedback
            assert await ctl.submit_feedback(2, None)
            sess = await s.session(sid)
            assert sess.ended_at is not None and sess.end_reason == "media_failed"
        finally:
            await ctl.stop()
            await console.stop()


async def test_inactivity_clears_a_call_screen_without_media(tmp_path: Path) -> None:
    """A call screen whose media is gone and that nobody touches is cleared by the privacy reset, even when the
    call layer waits a long grace: a warning first, then the call ends as cut off and the screen is cleared."""
    clock = ManualClock()
    async with site(tmp_path) as s:
        console = await staff_controller(s.env, "takahashi")
        ctl = await kiosk(s, tmp_path, clock, media_grace_s=600.0, inactivity_reset_s=5.0,
                          inactivity_warning_s=2.0)
        try:
            sid = await in_call(console, ctl)
            link = ctl.mesh.link() if ctl.mesh is not None else None
            assert link is not None
            clock.advance(60)
            ctl.check_inactivity()  # live media: a call is never reset, however long untouched
            assert ctl.screen == "in_call"

            await console.stop()  # the console goes away (bye); the server keeps the session for it
            await eventually(lambda: link.call.remote_bye)
            warnings: list[dict[str, Any]] = []
            ctl.on("idle_warning", warnings.append)
            ctl.check_inactivity()  # media gone from now on
            clock.advance(3.5)
            ctl.check_inactivity()
            assert [w["seconds_left"] for w in warnings] == [2] and ctl.screen == "in_call"
            clock.advance(2)
            ctl.check_inactivity()
            await eventually(lambda: ctl.screen == "idle")
            assert ctl.screen == "idle" and ctl.mesh is None and ctl.visit.session_id is None
            assert ctl.visit.ticket_id is None and ctl.visit.feedback_session_id is None
            await eventually(lambda: not ctl.outbox.pending)
            sess = await s.session(sid)
            assert sess.ended_at is not None and sess.end_reason == "media_failed"
        finally:
            await ctl.stop()


async def test_stats_counters_are_cumulative_over_a_heal_and_the_kiosk_sends_no_setup_time(tmp_path: Path) -> None:
    """call.stats frame counters do not restart when a dead link is healed with a fresh peer connection, and
    the kiosk's call.media {connected} carries no setup_ms (it never saw the accept; the specialist's counts)."""
    async with site(tmp_path) as s:
        console = await staff_controller(s.env, "takahashi")
        ctl = await kiosk(s, tmp_path)
        sent: list[Any] = []
        request = ctl.client.request

        async def spy(msg: Any) -> dict[str, Any]:
            sent.append(msg)
            return await request(msg)

        ctl.client.request = spy  # type: ignore[method-assign]
        try:
            await in_call(console, ctl)
            await eventually(lambda: any(isinstance(m, CallMedia) and m.state == "connected" for m in sent))
            connected = next(m for m in sent if isinstance(m, CallMedia) and m.state == "connected")
            assert connected.setup_ms is None

            assert ctl.mesh is not None
            old = ctl.mesh.link()
            assert old is not None
            await old.call.close(say_bye=False)  # this peer connection dies; the console offers a fresh one
            before = (old.call.video_frames_received, old.call.audio_frames_received)
            assert before[0] > 5 and before[1] > 5
            await eventually(lambda: ctl.mesh is not None and ctl.mesh.link() is not None
                             and ctl.mesh.link().generation == 1  # type: ignore[union-attr]
                             and ctl.mesh.link().call.video_frames_received > 5)  # type: ignore[union-attr]

            seen: list[tuple[int, int, int, int]] = []

            def on_quality(data: dict[str, Any]) -> None:
                fresh = ctl.mesh.link() if ctl.mesh is not None else None
                if fresh is not None and fresh.generation == 1:  # read in the same loop turn as the report
                    seen.append((data["stats"].frames_received, fresh.call.video_frames_received,
                                 data["stats"].audio_frames_received, fresh.call.audio_frames_received))

            ctl.on("quality", on_quality)
            await eventually(lambda: bool(seen))
            total_v, link_v, total_a, link_a = seen[0]
            assert (total_v, total_a) == (before[0] + link_v, before[1] + link_a)
            reported = [m.stats for m in sent if m.type == "call.stats"]
            assert reported[-1].frames_received >= before[0] + link_v

            ended = asyncio.ensure_future(wait_for(ctl, "call_ended", WAIT_S))
            await ctl.hang_up()
            await ended
            assert ctl.last_call_frames["video"] >= total_v and ctl.last_call_frames["audio"] >= total_a
        finally:
            await ctl.stop()
            await console.stop()


async def test_specialist_hangs_up_while_the_server_is_down(tmp_path: Path) -> None:
    """Found by killing things: the console's hang-up failed with the server down, so its media (and the
    resident's frozen call screen) went on. Now the console ends the call itself (the kiosk hears its bye),
    goes to wrap-up, and reports the hang-up once the server is back; the session row says staff_hangup."""
    async with site(tmp_path) as s:
        console = await staff_controller(s.env, "takahashi")
        ctl = await kiosk(s, tmp_path, media_grace_s=600.0)
        console.client.backoff_max_s = 0.5  # type: ignore[union-attr]
        try:
            sid = await in_call(console, ctl)
            ended = asyncio.ensure_future(wait_for(ctl, "call_ended", WAIT_S))
            await s.stop()
            await eventually(lambda: ctl.connection != "online" and console.connection != "online")
            assert await console.hang_up()
            assert console.mesh is None and console.status == "wrap_up" and console.wrapup is not None
            assert (await ended)["reason"] == "staff_hangup" and ctl.screen == "feedback"

            await s.start_again()
            await eventually(lambda: console.connection == "online" and console.pending_end is None)
            sess = await s.session(sid)
            assert sess.ended_at is not None and sess.end_reason == "staff_hangup"
            assert console.mesh is None  # the server's re-sync of the open call did not restart it
            await eventually(lambda: console.status == "wrap_up")
        finally:
            await ctl.stop()
            await console.stop()


async def test_third_party_leaves_while_the_server_is_down(tmp_path: Path) -> None:
    """A third party who leaves is out at once, whether or not the server answers (under load the ack can
    take longer than the request timeout; the old console then kept the call, and its 'away' status, for
    ever). The leave is reported once the server is back: the session row records it, and the server's
    re-sync of the open call does not pull the third party back in."""
    async with site(tmp_path) as s:
        takahashi = await staff_controller(s.env, "takahashi")
        sato = await staff_controller(s.env, "sato")
        ctl = await kiosk(s, tmp_path, media_grace_s=600.0)
        sato.client.backoff_max_s = 0.5  # type: ignore[union-attr]
        try:
            sid = await in_call(takahashi, ctl)
            assert await sato.set_available()
            invited = asyncio.ensure_future(wait_for(sato, "invite", WAIT_S))
            await takahashi.refresh_colleagues()
            assert await takahashi.invite(sato.me["id"])
            await invited
            assert await sato.answer_invite(True)
            await eventually(lambda: sato.mesh is not None and sato.mesh.link() is not None
                             and sato.mesh.link().call.video_frames_received > 5)  # type: ignore[union-attr]
            assert sato.status == "away" and sato.status_reason == "third_party"

            await s.stop()
            await eventually(lambda: sato.connection != "online")
            assert await sato.leave()
            assert sato.call is None and sato.mesh is None and sato.pending_leave == sid

            await s.start_again()
            await eventually(lambda: sato.connection == "online" and sato.pending_leave is None)
            sess = await s.session(sid)
            mine = next(p for p in sess.participants if p["peer"] == sato.my_peer)
            assert "left_at" in mine and sess.ended_at is None  # the call itself goes on
            await eventually(lambda: sato.status == "available")  # what sato chose before joining
            assert sato.call is None and sato.mesh is None
        finally:
            await ctl.stop()
            await sato.stop()
            await takahashi.stop()
