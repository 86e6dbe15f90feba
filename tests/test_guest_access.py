"""Guests by link through the real server (SQLite and PostgreSQL), protocol level: the link's life (one use,
expiry, the call's end), lobby → admit → the resident's consent → the mesh, refusals by either side, and what
a guest principal may not do. Media with a real browser: tests/integration/test_guest_browser.py."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from server.db.models import AuditEvent, GuestInvitation
from signaling.client import RequestFailed, SignalingClient
from signaling.protocol.messages import (
    CallStatsReport,
    GuestAdmit,
    GuestConsent,
    GuestInvite,
    OfferAccept,
    RtcOffer,
    SessionEnd,
    SessionJoin,
    SessionLeave,
    StatusSet,
    TicketCreate,
)
from signaling.protocol.models import CallStats
from tests.support import Env, Inbox


class ShiftedClock:
    """The server's queue clock, moved forward by the test (the link expiry is a rule on it)."""

    def __init__(self, base: Any) -> None:
        self.base, self.offset = base, timedelta()

    def now(self) -> datetime:
        return self.base.now() + self.offset  # type: ignore[no-any-return]


async def call(env: Env) -> tuple[SignalingClient, Inbox, SignalingClient, Inbox, int]:
    staff, s_in = await env.staff_client("takahashi")
    kiosk, k_in = await env.kiosk_client("bihoro")
    await staff.request(StatusSet(status="available"))
    ticket = await kiosk.request(TicketCreate(service_code="employment"))
    await s_in.next("offer", ticket_id=ticket["ticket_id"])
    sid = (await staff.request(OfferAccept(ticket_id=ticket["ticket_id"])))["session_id"]
    await k_in.next("session.start")
    await s_in.next("session.start")
    return staff, s_in, kiosk, k_in, sid


async def invite(staff: SignalingClient, sid: int, role: str = "sign_interpreter",
                 name: str = "山田 手話") -> dict[str, Any]:
    return await staff.request(GuestInvite(session_id=sid, role=role, display_name=name))  # type: ignore[arg-type]


async def redeem(env: Env, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=env.url) as http:
        return await http.post("/api/guest/redeem", json={"token": path.rsplit("/", 1)[1]})


async def page(env: Env, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=env.url) as http:
        return await http.get(path)


async def guest_client(env: Env, path: str) -> tuple[SignalingClient, Inbox]:
    r = await redeem(env, path)
    assert r.status_code == 200, r.text
    token = r.json()["guest_token"]
    inbox = Inbox()

    async def tok() -> str:
        return str(token)

    return await env.client(tok, inbox.queue), inbox


async def audit_actions(env: Env) -> list[tuple[str, str]]:
    async with env.ctx.maker() as db:
        rows = (await db.execute(select(AuditEvent).order_by(AuditEvent.id))).scalars().all()
    return [(r.actor, r.action) for r in rows if r.action.startswith(("guest.", "session.join", "session.leave"))]


async def test_lobby_admit_consent_join_leave(env: Env) -> None:
    staff, s_in, kiosk, k_in, sid = await call(env)
    inv = await invite(staff, sid)
    assert inv["path"].startswith("/g/") and inv["expires_in_s"] == env.settings.guest_link_ttl_s
    async with env.ctx.maker() as db:
        row = (await db.execute(select(GuestInvitation))).scalar_one()
    assert row.token_hash != inv["path"][3:] and len(row.token_hash) == 64  # only the hash is kept

    first = await page(env, inv["path"])
    assert first.status_code == 200 and "guest.js" in first.text
    assert first.headers["referrer-policy"] == "no-referrer"
    assert "script-src 'self'" in first.headers["content-security-policy"]
    guest, g_in = await guest_client(env, inv["path"])
    # the link is used up: the page and the exchange both refuse it now, saying why
    again = await page(env, inv["path"])
    assert again.status_code == 410 and "すでに使われました" in again.text and "already been used" in again.text
    assert (await redeem(env, inv["path"])).json()["detail"]["reason"] == "used"
    async with env.ctx.maker() as db:
        refused = (await db.execute(select(AuditEvent).where(AuditEvent.action == "guest.link_refused"))).scalar_one()
    assert refused.detail == {"reason": "used"}  # a reused link is recorded

    assert guest.welcome is not None and guest.welcome.role == "guest"
    assert guest.welcome.peer == f"guest:{inv['invitation_id']}"
    lobby = await s_in.next("guest.lobby")
    assert (lobby.display_name, lobby.role, lobby.session_id) == ("山田 手話", "sign_interpreter", sid)
    assert (await g_in.next("guest.state")).state == "lobby"

    admitted = await staff.request(GuestAdmit(invitation_id=lobby.invitation_id, admit=True))
    assert admitted["state"] == "awaiting_consent"
    ask = await k_in.next("guest.consent_request")
    assert (ask.display_name, ask.role) == ("山田 手話", "sign_interpreter")
    assert (await g_in.next("guest.state")).state == "awaiting_consent"
    assert not [m for m in g_in.drain() if m.type == "session.start"]  # nothing of the call before the resident agrees

    agreed = await kiosk.request(GuestConsent(invitation_id=ask.invitation_id, agree=True))
    assert agreed["state"] == "admitted"
    start = await g_in.next("session.start")
    assert set(start.offer_to) == {kiosk.welcome.peer, staff.welcome.peer}  # type: ignore[union-attr]
    joined_k = await k_in.next("participant.joined")
    joined_s = await s_in.next("participant.joined")
    for j in (joined_k, joined_s):
        assert (j.participant.role, j.participant.guest_role, j.participant.display_name) == (
            "guest", "sign_interpreter", "山田 手話")
    assert [m.state for m in s_in.seen if m.type == "guest.state"] == ["admitted"]  # told before the join

    await guest.request(SessionLeave(session_id=sid))
    assert (await k_in.next("participant.left")).peer == guest.welcome.peer
    actions = await audit_actions(env)
    g = guest.welcome.peer
    actions.remove((g, "guest.link_refused"))  # the reuse above, beside the lobby's arrival (either order)
    assert actions == [(staff.welcome.peer, "guest.invite"), (g, "guest.link_used"), (g, "guest.lobby"),
                       (staff.welcome.peer, "guest.admit"), (kiosk.welcome.peer, "guest.consent"), (g, "session.join"),  # type: ignore[union-attr]
                       (g, "guest.leave")]


async def test_a_guest_takes_part_in_its_call_and_nothing_else(env: Env) -> None:
    staff, s_in, kiosk, k_in, sid = await call(env)
    inv = await invite(staff, sid, "family", "佐々木 花")
    guest, g_in = await guest_client(env, inv["path"])
    lobby = await s_in.next("guest.lobby")
    # in the lobby: no signalling into the call yet
    with pytest.raises(RequestFailed) as e:
        await guest.request(RtcOffer(session_id=sid, to=kiosk.welcome.peer, sdp="v=0"))  # type: ignore[union-attr]
    assert e.value.code == "not_found"
    await staff.request(GuestAdmit(invitation_id=lobby.invitation_id, admit=True))
    ask = await k_in.next("guest.consent_request")
    await kiosk.request(GuestConsent(invitation_id=ask.invitation_id, agree=True))
    await g_in.next("session.start")

    refused = [TicketCreate(service_code="employment"), StatusSet(status="available"), OfferAccept(ticket_id=1),
               SessionJoin(session_id=sid), SessionEnd(session_id=sid),
               GuestInvite(session_id=sid, role="family", display_name="x"),
               GuestAdmit(invitation_id=lobby.invitation_id, admit=True),
               GuestConsent(invitation_id=lobby.invitation_id, agree=True),
               CallStatsReport(session_id=sid, stats=CallStats())]
    for msg in refused:
        with pytest.raises(RequestFailed) as e:
            await guest.request(msg)
        assert e.value.code == "forbidden", msg.type
    # other calls: not a member of them
    with pytest.raises(RequestFailed) as e:
        await guest.request(RtcOffer(session_id=sid + 1, to=kiosk.welcome.peer, sdp="v=0"))  # type: ignore[union-attr]
    assert e.value.code == "not_found"
    with pytest.raises(RequestFailed) as e:
        await guest.request(SessionLeave(session_id=sid + 1))
    assert e.value.code == "not_found"
    # REST: the note, the history, colleagues, the report — a guest token opens none of them
    r = await redeem(env, (await invite(staff, sid))["path"])
    token = r.json()["guest_token"]
    async with httpx.AsyncClient(base_url=env.url, headers={"Authorization": f"Bearer {token}"}) as http:
        for path in (f"/api/sessions/{sid}/note", "/api/sessions", "/api/staff", "/api/admin/kiosks",
                     "/api/reports/effect"):
            resp = await http.get(path)
            assert resp.status_code == 401, (path, resp.status_code)
        assert (await http.put(f"/api/sessions/{sid}/note", json={"category": "x"})).status_code == 401


async def test_refused_by_the_specialist_and_by_the_resident(env: Env) -> None:
    staff, s_in, kiosk, k_in, sid = await call(env)
    one = await invite(staff, sid, "supporter", "支援 一郎")
    _g1, g1_in = await guest_client(env, one["path"])
    lobby = await s_in.next("guest.lobby")
    assert (await staff.request(GuestAdmit(invitation_id=lobby.invitation_id, admit=False)))["state"] == "refused"
    out = await g1_in.next("guest.state", state="refused")
    assert out.by == "staff"

    two = await invite(staff, sid, "guardian", "後見 次郎")
    _g2, g2_in = await guest_client(env, two["path"])
    lobby2 = await s_in.next("guest.lobby", invitation_id=two["invitation_id"])
    await staff.request(GuestAdmit(invitation_id=lobby2.invitation_id, admit=True))
    ask = await k_in.next("guest.consent_request")
    assert (await kiosk.request(GuestConsent(invitation_id=ask.invitation_id, agree=False)))["state"] == "refused"
    assert (await g2_in.next("guest.state", state="refused")).by == "resident"
    assert (await s_in.next("guest.state", state="refused")).by == "resident"
    assert not [m for m in g2_in.drain() if m.type == "session.start"]
    assert not [m for m in k_in.drain() if m.type == "participant.joined"]
    # a refused guest cannot be let in afterwards
    with pytest.raises(RequestFailed):
        await kiosk.request(GuestConsent(invitation_id=ask.invitation_id, agree=True))
    actions = await audit_actions(env)
    assert (staff.welcome.peer, "guest.refuse") in actions and (kiosk.welcome.peer, "guest.refuse") in actions  # type: ignore[union-attr]


async def test_the_resident_takes_consent_back_in_the_call(env: Env) -> None:
    """1.15: 「退出してもらう」 on the kiosk mid-call: the guest is out of the call at once (the others are told it
    left), the guest and the specialist are told it was the resident, its link stays dead, the call goes on, and
    the withdrawal is audited. Only the call's own kiosk can do it; a guest never in the call has nothing to leave."""
    staff, s_in, kiosk, k_in, sid = await call(env)
    inv = await invite(staff, sid, "family", "家族 花子")
    guest, g_in = await guest_client(env, inv["path"])
    lobby = await s_in.next("guest.lobby")
    await staff.request(GuestAdmit(invitation_id=lobby.invitation_id, admit=True))
    ask = await k_in.next("guest.consent_request")
    await kiosk.request(GuestConsent(invitation_id=ask.invitation_id, agree=True))
    await g_in.next("session.start")
    await k_in.next("participant.joined")
    other, _ = await env.kiosk_client("tsubetsu")
    with pytest.raises(RequestFailed):  # another kiosk cannot send the guest away
        await other.request(GuestConsent(invitation_id=ask.invitation_id, agree=False))

    out = await kiosk.request(GuestConsent(invitation_id=ask.invitation_id, agree=False))
    assert out["state"] == "refused"
    assert (await k_in.next("participant.left")).peer == guest.welcome.peer  # type: ignore[union-attr]
    assert (await s_in.next("participant.left")).peer == guest.welcome.peer  # type: ignore[union-attr]
    assert (await g_in.next("guest.state", state="refused")).by == "resident"
    assert (await s_in.next("guest.state", state="refused")).by == "resident"
    with pytest.raises(RequestFailed):  # out of the call: nothing of it is the guest's now
        await guest.request(SessionLeave(session_id=sid))
    with pytest.raises(RequestFailed):  # and the resident cannot let them back by the old request
        await kiosk.request(GuestConsent(invitation_id=ask.invitation_id, agree=True))
    await staff.request(CallStatsReport(session_id=sid, stats=CallStats(rtt_ms=20.0)))  # the call goes on
    async with env.ctx.maker() as db:
        row = await db.get(GuestInvitation, ask.invitation_id)
        assert row is not None and (row.state, row.refused_by) == ("refused", "resident") and row.left_at is not None
    actions = await audit_actions(env)
    g = guest.welcome.peer  # type: ignore[union-attr]
    assert actions[-2:] == [(kiosk.welcome.peer, "guest.consent_withdrawn"), (g, "guest.leave")]  # type: ignore[union-attr]


async def test_expired_link_and_the_end_of_the_call(env: Env) -> None:
    staff, s_in, _kiosk, _k_in, sid = await call(env)
    # the silent-call rule reads the same clock: the call must outlive the jump past the link's expiry
    env.settings.media_grace_s = 10 * env.settings.guest_link_ttl_s
    clock = ShiftedClock(env.ctx.engine.clock)
    env.ctx.engine.clock = clock  # type: ignore[assignment]
    old = await invite(staff, sid)
    clock.offset = timedelta(seconds=env.settings.guest_link_ttl_s + 1)
    expired = await page(env, old["path"])
    assert expired.status_code == 410 and "有効期限が切れました" in expired.text and "has expired" in expired.text
    assert (await redeem(env, old["path"])).json()["detail"]["reason"] == "expired"
    assert (await page(env, "/g/not-a-real-token")).status_code == 404

    waiting = await invite(staff, sid, "interpreter", "通訳 三郎")
    unused = await invite(staff, sid, "family", "家族 四郎")
    _guest, g_in = await guest_client(env, waiting["path"])
    await s_in.next("guest.lobby")
    await staff.request(SessionEnd(session_id=sid))
    assert (await g_in.next("guest.state", state="ended")).invitation_id == waiting["invitation_id"]
    ended = await page(env, unused["path"])
    assert ended.status_code == 410 and "通話は終了しました" in ended.text
    async with env.ctx.maker() as db:
        states = {r.id: r.state for r in (await db.execute(select(GuestInvitation))).scalars()}
    assert states[waiting["invitation_id"]] == states[unused["invitation_id"]] == "ended"
