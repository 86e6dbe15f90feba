"""A resident's request travels the whole way with real media: kiosk → queue → specialist → call → log."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import select

from server.db.models import AuditEvent, CallSession, Feedback, Note, Ticket
from signaling.observer import wait_for
from tests.integration.calls import kiosk_controller, staff_controller
from tests.support import Env


async def wait_until(pred, timeout: float = 15.0, step: float = 0.1) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(step)


async def test_full_call_with_media(env: Env, tmp_path: Path) -> None:
    console = await staff_controller(env, "takahashi")
    kiosk = await kiosk_controller(env, tmp_path, "bihoro")
    try:
        assert await console.set_available()
        offer_evt = asyncio.ensure_future(wait_for(console, "offer", 10))
        kiosk.begin()
        assert await kiosk.request_service("employment", ["written"])
        assert kiosk.screen == "waiting"
        offer = (await offer_evt)["offer"]
        assert offer.needs == ["written"] and offer.municipality == "美幌町"

        k_started = asyncio.ensure_future(wait_for(kiosk, "call_started", 10))
        c_connected = asyncio.ensure_future(wait_for(console, "call_status", 15, lambda d: d["status"] == "connected"))
        assert await console.accept()
        await k_started
        await c_connected
        assert kiosk.screen == "in_call"

        # real frames and audio both ways
        await wait_until(lambda: kiosk.mesh is not None and kiosk.mesh.link() is not None
                         and kiosk.mesh.link().call.video_frames_received > 10)  # type: ignore[union-attr]
        await wait_until(lambda: console.mesh is not None and console.mesh.link() is not None
                         and console.mesh.link().call.video_frames_received > 10)  # type: ignore[union-attr]
        k_link, c_link = kiosk.mesh.link(), console.mesh.link()  # type: ignore[union-attr]
        assert k_link is not None and c_link is not None
        assert k_link.call.audio_frames_received > 0 and c_link.call.audio_frames_received > 0
        assert kiosk.remote_frame() is not None

        # chat over the data channel, both ways
        k_chat = asyncio.ensure_future(wait_for(kiosk, "chat", 5, lambda d: d["who"] != "me"))
        c_chat = asyncio.ensure_future(wait_for(console, "chat", 5, lambda d: d["who"] != "me"))
        assert console.send_chat("こんにちは")
        assert kiosk.send_chat("よろしくお願いします")
        assert (await k_chat)["text"] == "こんにちは"
        assert (await c_chat)["text"] == "よろしくお願いします"

        await asyncio.sleep(2.5)  # at least one stats report from each side
        ended = asyncio.ensure_future(wait_for(console, "call_ended", 10))
        await kiosk.hang_up()
        assert (await ended)["wrap_up"] is True
        assert kiosk.screen == "feedback"
        assert console.status == "wrap_up" or await _status(console, "wrap_up")

        assert not await console.finish_wrapup()  # no note yet: refused
        assert await console.save_note("就労支援", "求職の相談。来週ハローワーク同行。", follow_up=True,
                                       follow_up_by="高橋", referral_org="障害者就業・生活支援センター")
        assert await console.finish_wrapup()
        assert await _status(console, "available")
        assert await kiosk.submit_feedback(5, True)
        assert kiosk.screen == "idle" and kiosk.visit.ticket_id is None and kiosk.visit.chat == []

        async with env.ctx.maker() as db:
            sess = (await db.execute(select(CallSession))).scalars().one()
            for phase in ("ticket_created_at", "offered_at", "accepted_at", "media_connected_at", "ended_at",
                          "wrapup_done_at"):
                assert getattr(sess, phase) is not None, phase
            assert sess.ticket_created_at <= sess.offered_at <= sess.accepted_at <= sess.media_connected_at
            assert sess.media_connected_at <= sess.ended_at <= sess.wrapup_done_at
            assert sess.end_reason == "resident_hangup"
            assert sess.setup_ms is not None and 0 < sess.setup_ms < 10_000
            assert sess.quality["kiosk"]["frames_received"] > 0 and sess.quality["staff"]["frames_received"] > 0
            ticket = await db.get(Ticket, sess.ticket_id)
            assert ticket is not None and ticket.state == "done"
            fb = (await db.execute(select(Feedback))).scalars().one()
            assert (fb.rating, fb.saved_trip, fb.session_id) == (5, True, sess.id)
            note = (await db.execute(select(Note))).scalars().one()
            assert note.municipality_id == sess.municipality_id and note.category == "就労支援"
            actions = [a.action for a in (await db.execute(select(AuditEvent).order_by(AuditEvent.id))).scalars()]
            for a in ("ticket.create", "ticket.offer", "ticket.accept", "media.connected", "session.end",
                      "note.save", "session.wrapup_done"):
                assert a in actions, a
    finally:
        await kiosk.stop()
        await console.stop()


async def _status(console, status: str, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    await wait_until(lambda: console.status == status, timeout)
    return True
