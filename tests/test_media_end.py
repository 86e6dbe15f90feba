"""A call whose media cannot be healed ends by itself with an honest reason (DESIGN §4 end reasons): the
kiosk's or the specialist's ``call.media {failed}`` ends the session as ``media_failed``, or ``kiosk_lost``
when the kiosk has gone from the server too; a third party's failed link ends nothing."""

from __future__ import annotations

from pathlib import Path

from server.db.models import CallSession
from signaling.protocol.messages import CallMedia, SessionJoin
from tests.support import allow_outside_supervision
from tests.test_routing import World, world


async def _session(w: World, sid: int) -> CallSession:
    async with w.env.ctx.maker() as db:
        s = await db.get(CallSession, sid)
        assert s is not None
        return s


async def test_failed_media_ends_the_call(tmp_path: Path, backend: str) -> None:
    async with world(tmp_path, backend) as w:
        sato = await w.staff("sato", available=True)
        tanaka = await w.staff("tanaka")  # supervisor
        kiosk = await w.kiosk()
        _, sid = await w.call(sato, kiosk)
        await allow_outside_supervision(w.env)  # tanaka is Kitami's supervisor; the kiosk is Bihoro's
        await tanaka.req(SessionJoin(session_id=sid))
        await kiosk.req(CallMedia(session_id=sid, state="connected", setup_ms=120.0))
        # the supervisor's own link failing is theirs: the resident and the specialist go on talking
        assert await tanaka.req(CallMedia(session_id=sid, state="failed")) == {"ended": None}
        assert (await _session(w, sid)).ended_at is None
        # the resident's link to the specialist is dead after the healing window: the call ends
        assert await kiosk.req(CallMedia(session_id=sid, state="failed")) == {"ended": "media_failed"}
        ended = await sato.inbox.next("session.ended", session_id=sid)
        assert ended.reason == "media_failed" and ended.wrap_up
        k_end = await kiosk.inbox.next("session.ended", session_id=sid)
        assert k_end.reason == "media_failed" and not k_end.wrap_up
        await tanaka.inbox.next("session.ended", session_id=sid)
        await sato.inbox.next("status", status="wrap_up")
        s = await _session(w, sid)
        assert s.end_reason == "media_failed" and s.ended_at is not None and s.media_connected_at is not None
        # the other side's report arrives after the end: no longer a member, nothing happens
        assert (await sato.fails(CallMedia(session_id=sid, state="failed"))).code == "not_found"
        assert (await _session(w, sid)).end_reason == "media_failed"


async def test_kiosk_gone_altogether_is_kiosk_lost(tmp_path: Path, backend: str) -> None:
    async with world(tmp_path, backend) as w:
        sato = await w.staff("sato", available=True)
        kiosk = await w.kiosk()
        tid, sid = await w.call(sato, kiosk)
        await kiosk.client.close()  # power cut at the branch: no signaling, no media
        assert await sato.req(CallMedia(session_id=sid, state="failed")) == {"ended": "kiosk_lost"}
        ended = await sato.inbox.next("session.ended", session_id=sid)
        assert ended.reason == "kiosk_lost" and ended.wrap_up
        assert (await _session(w, sid)).end_reason == "kiosk_lost"
        assert (await w.ticket(tid)).state == "wrap_up"
