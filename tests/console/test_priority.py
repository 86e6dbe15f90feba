"""Priority from the console's queue view, and a resident who asks for sign language, end to end: a real
server, real kiosk clients (headless controllers), the console window under pytest-qt (offscreen). The
panel only emits; the controller sends ``ticket.priority``; the kiosks' places follow from the server."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from server.db.models import AuditEvent
from signaling.observer import wait_for
from tests.console.conftest import scene
from tests.integration.calls import kiosk_controller, staff_controller
from tests.kiosk.helpers import click
from tests.support import WAIT_S, eventually


async def test_priority_from_the_queue_view_and_a_written_call(tmp_path: Path) -> None:
    async with scene(tmp_path, offer_timeout_s=120.0) as (env, windows):
        ctl = await staff_controller(env, "suzuki", media_source="none")  # guardianship; does not sign
        win = windows.open(ctl)
        kiosks = []
        for name in ("a", "b", "c"):
            (tmp_path / name).mkdir()
            kiosks.append(await kiosk_controller(env, tmp_path / name, "kitami-tokoro", media_source="none"))
        windows.track(*kiosks)
        ka, kb, kc = kiosks
        assert await ctl.set_available()

        # a resident asking for sign language is placed (not turned away) and rings, "in writing"
        offer = asyncio.ensure_future(wait_for(ctl, "offer", WAIT_S))
        ka.begin()
        assert await ka.request_service("guardianship", ["sign_language"])
        assert ka.visit.unmet_needs == ["sign_language"]
        got = (await offer)["offer"]
        assert (got.unmet_needs, got.written) == (["sign_language"], True)
        await eventually(win.offer_dialog.isVisible, what="ringing")
        assert win.offer_dialog.unmet.isVisible() and "筆談" in win.offer_dialog.unmet.text()

        # two more residents wait behind
        for k in (kb, kc):
            k.begin()
            assert await k.request_service("guardianship", [])
        assert (kb.visit.position, kc.visit.position) == (2, 3)
        ta, tb, tc = ka.visit.ticket_id, kb.visit.ticket_id, kc.visit.ticket_id
        assert tb is not None and tc is not None
        await eventually(lambda: [i.ticket_id for i in ctl.queue] == [ta, tb, tc], what="queue shown")

        # the specialist marks the last one urgent from the queue view
        await eventually(lambda: win.queue_panel.select_ticket(tc), what="row shown")
        win.queue_panel.priority_box.setCurrentIndex(win.queue_panel.priority_box.findData(2))
        click(win.queue_panel.priority_btn)
        await eventually(lambda: (kc.visit.position, kb.visit.position) == (2, 3), what="the kiosks' places move")
        # the queue is shown in the server's order: priority first (the offered one keeps its offer)
        await eventually(lambda: [i.ticket_id for i in ctl.queue] == [tc, ta, tb], what="the queue reordered")
        row = next(r for r, it in enumerate(win.queue_model.items) if it.ticket_id == tc)
        assert win.queue_model.text(row, win.queue_model.PRIORITY) == "至急"
        assert win.queue_panel.selected_ticket() == (tc, 2)  # the selection survives the new snapshot
        async with env.ctx.maker() as db:
            rows = (await db.execute(select(AuditEvent).where(AuditEvent.action == "ticket.priority"))).scalars().all()
        assert [(r.actor, r.subject, r.detail) for r in rows] == [
            (ctl.my_peer, f"ticket:{tc}", {"before": 0, "after": 2})]

        # answering the first resident: the call opens in writing on both sides
        started = asyncio.ensure_future(wait_for(ctl, "call_started", WAIT_S))
        click(win.offer_dialog.accept_btn)
        await started
        await eventually(lambda: ka.visit.written, what="the kiosk's call is written")
        assert ka.visit.unmet_needs == ["sign_language"]
        assert ctl.call is not None and ctl.call.written and ctl.call.unmet_needs == ["sign_language"]
        await eventually(win.call_view.needs_banner.isVisible, what="the console says so")
        assert "通訳" in win.call_view.needs_banner.text()
