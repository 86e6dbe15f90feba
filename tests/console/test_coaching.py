"""Supervisor coaching: the supervisor sees every queue and specialist, silently joins a live call (hears and
sees both, the kiosk receives none of the supervisor's media but is told someone joined), and whispers to
the specialist (audio reaches the specialist only, and only while whispering)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from server.db.models import AuditEvent
from signaling.observer import wait_for
from tests.console.conftest import scene
from tests.integration.calls import kiosk_controller, staff_controller
from tests.support import WAIT_S, allow_outside_supervision, eventually


def link(ctl: Any, peer: str) -> Any:
    return ctl.mesh.links.get(peer) if ctl.mesh is not None else None


async def a_second_of_media(at: Any) -> None:
    """Time measured in media, not in seconds: wait until a link has received one more second of video (an
    absence is then checked over a stretch in which media demonstrably flowed, however slow the machine)."""
    start = at.call.video_frames_received
    await eventually(lambda: at.call.video_frames_received >= start + 15, what="one more second of video")


class Loudness:
    """RMS of the audio one link receives, over the frames since the last reset."""

    def __init__(self, call: Any) -> None:
        self.values: list[float] = []
        previous = call.on_audio_frame

        def on_frame(frame: Any) -> None:
            pcm = frame.to_ndarray().astype(np.float64)
            self.values.append(float(np.sqrt(np.mean(pcm * pcm))))
            if previous is not None:
                previous(frame)

        call.on_audio_frame = on_frame

    def reset(self) -> None:
        self.values.clear()

    def loudest(self) -> float:
        return max(self.values, default=0.0)


async def test_silent_join_and_whisper(tmp_path: Path) -> None:
    async with scene(tmp_path) as (env, windows):
        takahashi = await staff_controller(env, "takahashi")
        tanaka = await staff_controller(env, "tanaka")
        kiosk = await kiosk_controller(env, tmp_path, "bihoro")
        windows.track(kiosk)
        t_win, s_win = windows.open(takahashi), windows.open(tanaka)
        assert await takahashi.set_available() and await tanaka.set_available()

        # the supervisor's view: all queues and every specialist's state
        offer = asyncio.ensure_future(wait_for(takahashi, "offer", WAIT_S))
        kiosk.begin()
        assert await kiosk.request_service("employment", [])
        await offer
        await eventually(lambda: s_win.queue_model.rowCount() == 1 and s_win.queue_panel.team_box.isVisible(),
                         what="supervisor sees the queue")
        connected = asyncio.ensure_future(wait_for(takahashi, "call_status", WAIT_S,
                                                   lambda d: d["status"] == "connected"))
        assert await takahashi.accept()
        await connected
        row = next(i for i, s in enumerate(s_win.team_model.staff) if s.staff_id == takahashi.me["id"])
        await eventually(lambda: s_win.team_model.staff[row].status == "in_call", what="takahashi shown in a call")
        assert {s.name for s in s_win.team_model.staff} >= {"佐藤 花子", "鈴木 一郎", "高橋 美咲", "田中 誠"}

        # silent join from the team view (tanaka is Kitami's supervisor; the kiosk is Bihoro's, which allows it)
        await allow_outside_supervision(env)
        kiosk_peer, t_peer, s_peer = f"kiosk:{kiosk.credential.kiosk_id}", takahashi.my_peer, tanaka.my_peer
        announced = asyncio.ensure_future(wait_for(kiosk, "participants", WAIT_S, lambda d: "joined" in d))
        s_win.queue_panel.team_view.selectRow(row)
        assert s_win.queue_panel.join_btn.isEnabled()
        s_win.queue_panel.join_btn.click()
        joined = (await announced)["joined"]
        assert joined.peer == s_peer and joined.role == "supervisor"  # the resident's screen is told (DESIGN §6)
        await eventually(lambda: link(tanaka, kiosk_peer) is not None and link(tanaka, t_peer) is not None
                         and link(takahashi, s_peer) is not None, what="links made")
        specialist_hears = Loudness(link(takahashi, s_peer).call)
        await eventually(lambda: link(tanaka, kiosk_peer).call.video_frames_received > 10
                         and link(tanaka, t_peer).call.video_frames_received > 10
                         and link(tanaka, kiosk_peer).call.audio_frames_received > 10
                         and link(tanaka, t_peer).call.audio_frames_received > 10, what="supervisor receives both")
        assert tanaka.status == "away" and tanaka.status_reason == "coaching"
        assert s_win.call_view.whisper_btn.isVisible() and not s_win.call_view.mute_btn.isVisible()
        await eventually(lambda: s_win.call_view.remote.frames_painted > 0, what="supervisor paints the resident")
        await a_second_of_media(link(tanaka, kiosk_peer))  # ... while the kiosk and the specialist get nothing
        await eventually(lambda: specialist_hears.values, what="the supervisor's (silent) audio at the specialist")
        to_kiosk = link(kiosk, s_peer)
        assert to_kiosk is not None and to_kiosk.call.connection_state == "connected"
        assert (to_kiosk.call.video_frames_received, to_kiosk.call.audio_frames_received) == (0, 0)
        assert link(takahashi, s_peer).call.video_frames_received == 0  # heard when whispering, never seen
        assert specialist_hears.values and specialist_hears.loudest() < 50  # silence until a whisper

        # whisper: the specialist hears the supervisor (and is shown so); the kiosk still receives nothing
        told = asyncio.ensure_future(wait_for(takahashi, "whisper", WAIT_S, lambda d: d["on"]))
        s_win.call_view.whisper_btn.click()
        await told
        assert t_win.call_view.whisper_banner.isVisible() and "田中 誠" in t_win.call_view.whisper_banner.text()
        specialist_hears.reset()
        await eventually(lambda: specialist_hears.loudest() > 1000, what="whisper audible to the specialist")
        assert (to_kiosk.call.video_frames_received, to_kiosk.call.audio_frames_received) == (0, 0)
        assert link(kiosk, s_peer) is to_kiosk
        private = asyncio.ensure_future(wait_for(takahashi, "chat", WAIT_S, lambda d: d["who"] == s_peer))
        assert tanaka.send_chat("求職登録の有無を確認しましょう")
        assert (await private)["private"] is True
        await a_second_of_media(link(tanaka, kiosk_peer))
        assert not [c for c in kiosk.visit.chat if c[0] == s_peer]  # coaching text never reaches the kiosk

        # whisper off: silence again; then the supervisor leaves and the call goes on
        stopped = asyncio.ensure_future(wait_for(takahashi, "whisper", WAIT_S, lambda d: not d["on"]))
        s_win.call_view.whisper_btn.click()
        await stopped
        specialist_hears.reset()  # what was on its way still whispers; then half a second of silence
        await eventually(lambda: len(specialist_hears.values) >= 25 and max(specialist_hears.values[-25:]) < 50,
                         what="silence at the specialist after the whisper")
        left = asyncio.ensure_future(wait_for(kiosk, "participants", WAIT_S, lambda d: d.get("left") == s_peer))
        s_win.call_view.end_btn.click()
        await left
        await eventually(lambda: tanaka.call is None and tanaka.status == "available", what="supervisor back")
        assert takahashi.call is not None and not takahashi.call.ended
        assert not t_win.call_view.whisper_banner.isVisible()
        assert (to_kiosk.call.video_frames_received, to_kiosk.call.audio_frames_received) == (0, 0)

        async with env.ctx.maker() as db:
            rows = (await db.execute(select(AuditEvent).where(AuditEvent.actor == s_peer))).scalars().all()
        joins = [(r.action, r.detail.get("role")) for r in rows if r.action.startswith("session.")]
        assert joins == [("session.join", "supervisor"), ("session.leave", None)]
