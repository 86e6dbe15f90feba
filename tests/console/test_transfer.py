"""Transfer: to a named specialist (through the dialog), then on to another service. The resident keeps the
original arrival time all the way, the kiosk is told, and each handing-over specialist goes to wrap-up."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from server.db.models import CallSession, Ticket
from signaling.observer import wait_for
from tests.console.conftest import scene
from tests.integration.calls import kiosk_controller, staff_controller
from tests.support import WAIT_S, eventually


async def _answer(ctl, timeout: float = WAIT_S):  # type: ignore[no-untyped-def]
    offer = (await wait_for(ctl, "offer", timeout))["offer"]
    connected = asyncio.ensure_future(wait_for(ctl, "call_status", WAIT_S,
                                             lambda d: d["status"] == "connected"))
    assert await ctl.accept(offer.ticket_id)
    await connected
    return offer


async def test_transfer_keeps_the_residents_place(tmp_path: Path) -> None:
    async with scene(tmp_path) as (cenv, windows):
        takahashi = await staff_controller(cenv, "takahashi")
        sato = await staff_controller(cenv, "sato")
        suzuki = await staff_controller(cenv, "suzuki")
        kiosk = await kiosk_controller(cenv, tmp_path, "bihoro")
        windows.track(kiosk, sato, suzuki)
        win = windows.open(takahashi)
        assert await takahashi.set_available()
        first = asyncio.ensure_future(_answer(takahashi))
        kiosk.begin()
        assert await kiosk.request_service("disability", ["written"])
        await first
        assert takahashi.call is not None
        first_session = takahashi.call.session_id
        assert await sato.set_available() and await suzuki.set_available()  # acknowledged: committed

        # to a named specialist, through the transfer dialog
        kiosk_told = asyncio.ensure_future(wait_for(kiosk, "ticket", WAIT_S,
                                                    lambda d: d.get("reason") == "transferred"))
        at_sato = asyncio.ensure_future(_answer(sato))
        win.call_view.transfer_btn.click()
        await eventually(lambda: win.transfer_dialog is not None and win.transfer_dialog.isVisible(), what="dialog")
        dlg = win.transfer_dialog
        assert dlg is not None
        dlg.to_staff.setChecked(True)
        dlg.staff.setCurrentIndex(dlg.staff.findData(sato.me["id"]))
        assert dlg.choice() == ("staff", sato.me["id"])
        dlg.accept()
        await kiosk_told
        offer = await at_sato
        assert offer.transferred and offer.service_code == "disability" and offer.needs == ["written"]
        await eventually(lambda: takahashi.wrapup is not None and win.stack.currentWidget() is win.wrapup_view,
                         what="takahashi in wrap-up")
        assert takahashi.wrapup is not None and takahashi.wrapup.end_reason == "transferred"
        await eventually(lambda: kiosk.screen == "in_call" and kiosk.mesh is not None
                         and kiosk.mesh.link() is not None and kiosk.mesh.link().call.video_frames_received > 0,
                         what="the resident sees sato")

        # on to another service: guardianship goes to suzuki
        at_suzuki = asyncio.ensure_future(_answer(suzuki))
        assert await sato.transfer(service_code="guardianship")
        offer = await at_suzuki
        assert offer.transferred and offer.service_code == "guardianship"
        assert sato.wrapup is not None

        async with cenv.ctx.maker() as db:
            sessions = (await db.execute(select(CallSession).order_by(CallSession.id))).scalars().all()
            ticket = await db.get(Ticket, sessions[0].ticket_id)
        assert ticket is not None and ticket.transfer_count == 2
        assert [s.staff_id for s in sessions] == [takahashi.me["id"], sato.me["id"], suzuki.me["id"]]
        assert sessions[0].id == first_session
        assert {s.ticket_created_at for s in sessions} == {ticket.arrival_at}  # the original arrival, every time
        assert [s.end_reason for s in sessions[:2]] == ["transferred", "transferred"]
        # the wait counts from the original arrival: suzuki's offer came after sato's accept and before suzuki's
        # (ordering only: how long the accept took after the offer is the machine's business, not the rule's)
        assert ((sessions[1].accepted_at - ticket.arrival_at).total_seconds() <= offer.waited_s
                <= (sessions[2].accepted_at - ticket.arrival_at).total_seconds())
