"""A third party (here: a Kitami specialist invited into a Bihoro call) joins a three-way mesh with audio and
video, is announced on the kiosk, then leaves while the call goes on; joins and leaves are audited."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from server.db.models import AuditEvent
from signaling.observer import wait_for
from tests.console.conftest import scene
from tests.integration.calls import kiosk_controller, staff_controller
from tests.support import WAIT_S, eventually


def frames(ctl, peer: str, kind: str = "video") -> int:  # type: ignore[no-untyped-def]
    """Frames received from ``peer`` in this session: over every link a heal replaced (a loaded machine may
    heal a link whose media paused for 5 s; its new link's own counter starts again at 0)."""
    return int(ctl.mesh.frames_received(peer)[kind]) if ctl.mesh is not None else 0


async def test_third_party_joins_and_leaves(tmp_path: Path) -> None:
    async with scene(tmp_path) as (env, windows):
        takahashi = await staff_controller(env, "takahashi")
        sato = await staff_controller(env, "sato")
        kiosk = await kiosk_controller(env, tmp_path, "bihoro")
        windows.track(kiosk)
        t_win, s_win = windows.open(takahashi), windows.open(sato)

        assert await takahashi.set_available()
        offer = asyncio.ensure_future(wait_for(takahashi, "offer", WAIT_S))
        kiosk.begin()
        assert await kiosk.request_service("employment", [])
        await offer
        connected = asyncio.ensure_future(wait_for(takahashi, "call_status", WAIT_S,
                                                   lambda d: d["status"] == "connected"))
        assert await takahashi.accept()
        await connected
        assert await sato.set_available()  # after the resident was taken: sato must not be offered anyone now
        kiosk_peer, t_peer, s_peer = f"kiosk:{kiosk.credential.kiosk_id}", takahashi.my_peer, sato.my_peer

        # invite: sato's window rings the invitation, sato joins
        announced = asyncio.ensure_future(wait_for(kiosk, "participants", WAIT_S, lambda d: "joined" in d))
        await takahashi.refresh_colleagues()
        assert await takahashi.invite(sato.me["id"])
        await eventually(s_win.invite_dialog.isVisible, what="invitation shown")
        assert "高橋 美咲" in s_win.invite_dialog.body.text() and s_win.invite_dialog.join_btn.isEnabled()
        assert "招待中: 佐藤 花子" in t_win.call_view.invite_state.text()
        s_win.invite_dialog.join_btn.click()
        joined = (await announced)["joined"]
        assert joined.peer == s_peer and joined.role == "third_party"  # the kiosk is told who joined
        await eventually(lambda: sato.status == "away" and sato.status_reason == "third_party"
                         and sato.call is not None, what="sato in the call, set aside")
        assert sato.call is not None and sato.call.role == "third_party" and sato.call.branch == "美幌町役場 窓口"

        # three-way media: sato receives both, both receive sato
        await eventually(lambda: frames(sato, kiosk_peer) > 10 and frames(sato, t_peer) > 10
                         and frames(kiosk, s_peer) > 10 and frames(takahashi, s_peer) > 10,
                         what="media from and to the third party")
        assert min(frames(sato, kiosk_peer, "audio"), frames(sato, t_peer, "audio"),
                   frames(kiosk, s_peer, "audio"), frames(takahashi, s_peer, "audio")) > 0
        cv = s_win.call_view
        await eventually(lambda: cv.remote.frames_painted > 0 and t_peer in cv.tiles
                         and cv.tiles[t_peer][1].frames_painted > 0, what="sato paints the resident and takahashi")
        await eventually(lambda: s_peer in t_win.call_view.tiles and
                         t_win.call_view.tiles[s_peer][1].frames_painted > 0, what="takahashi paints sato")
        assert "佐藤 花子（同席者）" in t_win.call_view.people.text() and not t_win.call_view.invite_state.text()
        chat = asyncio.ensure_future(wait_for(kiosk, "chat", WAIT_S, lambda d: d["who"] == s_peer))
        assert sato.send_chat("成年後見センターの佐藤です。")
        await chat

        # sato leaves; the call goes on between the resident and takahashi
        left = asyncio.ensure_future(wait_for(kiosk, "participants", WAIT_S, lambda d: d.get("left") == s_peer))
        s_win.call_view.end_btn.click()
        await left
        await eventually(lambda: sato.call is None and sato.status == "available", what="sato back to available")
        assert s_win.stack.currentWidget() is s_win.idle
        await eventually(lambda: s_peer not in (takahashi.mesh.links if takahashi.mesh else {}), what="link gone")
        before = frames(takahashi, kiosk_peer), frames(kiosk, t_peer)
        await eventually(lambda: frames(takahashi, kiosk_peer) > before[0] + 10 and frames(kiosk, t_peer) > before[1]
                         + 10, what="the call goes on")
        assert takahashi.call is not None and not takahashi.call.ended
        assert [p.peer for p in kiosk.visit.participants] == [kiosk_peer, t_peer]
        assert await takahashi.hang_up()
        await eventually(lambda: takahashi.wrapup is not None, what="wrap-up (session.ended follows the ack)")

        async with env.ctx.maker() as db:
            rows = (await db.execute(select(AuditEvent).where(AuditEvent.actor == s_peer))).scalars().all()
        joins = [(r.action, r.subject) for r in rows if r.action.startswith("session.")]
        sid = takahashi.wrapup.session_id if takahashi.wrapup else 0
        assert joins == [("session.join", f"session:{sid}"), ("session.leave", f"session:{sid}")]
