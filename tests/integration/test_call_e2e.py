"""A resident's request travels the whole way with real media: kiosk → queue → specialist → call → log."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import select

from server.db.models import AuditEvent, CallSession, Feedback, Note, Ticket
from signaling.observer import wait_for
from tests.integration.calls import kiosk_controller, staff_controller
from tests.support import WAIT_S, Env, eventually


async def test_full_call_with_media(env: Env, tmp_path: Path) -> None:
    console = await staff_controller(env, "takahashi")
    kiosk = await kiosk_controller(env, tmp_path, "bihoro")
    try:
        assert await console.set_available()
        offer_evt = asyncio.ensure_future(wait_for(console, "offer", WAIT_S))
        kiosk.begin()
        assert await kiosk.request_service("employment", ["written"])
        assert kiosk.screen == "waiting"
        offer = (await offer_evt)["offer"]
        assert offer.needs == ["written"] and offer.municipality == "美幌町"

        k_started = asyncio.ensure_future(wait_for(kiosk, "call_started", WAIT_S))
        c_connected = asyncio.ensure_future(wait_for(console, "call_status", WAIT_S,
                                                     lambda d: d["status"] == "connected"))
        assert await console.accept()
        await k_started
        await c_connected
        assert kiosk.screen == "in_call"

        # real frames and audio both ways
        await eventually(lambda: kiosk.mesh is not None and kiosk.mesh.link() is not None
                         and kiosk.mesh.link().call.video_frames_received > 10,  # type: ignore[union-attr]
                         what="video at the kiosk")
        await eventually(lambda: console.mesh is not None and console.mesh.link() is not None
                         and console.mesh.link().call.video_frames_received > 10,  # type: ignore[union-attr]
                         what="video at the console")
        k_link, c_link = kiosk.mesh.link(), console.mesh.link()  # type: ignore[union-attr]
        assert k_link is not None and c_link is not None
        assert k_link.call.audio_frames_received > 0 and c_link.call.audio_frames_received > 0
        assert kiosk.remote_frame() is not None

        # chat over the data channel, both ways
        k_chat = asyncio.ensure_future(wait_for(kiosk, "chat", WAIT_S, lambda d: d["who"] != "me"))
        c_chat = asyncio.ensure_future(wait_for(console, "chat", WAIT_S, lambda d: d["who"] != "me"))
        assert console.send_chat("こんにちは")
        assert kiosk.send_chat("よろしくお願いします")
        assert (await k_chat)["text"] == "こんにちは"
        assert (await c_chat)["text"] == "よろしくお願いします"

        async def frames_reported_by_both_sides() -> bool:
            async with env.ctx.maker() as db:
                q = (await db.execute(select(CallSession))).scalars().one().quality or {}
                return all(q.get(side, {}).get("frames_received", 0) > 0 for side in ("kiosk", "staff"))

        await eventually(frames_reported_by_both_sides, what="a stats report with frames from each side")
        ended = asyncio.ensure_future(wait_for(console, "call_ended", WAIT_S))
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
            assert sess.setup_ms is not None and sess.setup_ms > 0
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


async def _status(console: Any, status: str) -> bool:
    await eventually(lambda: console.status == status, what=f"console {status}")
    return True
