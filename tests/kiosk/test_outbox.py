"""The kiosk's outbox: what the server must still be told survives a restart of the kiosk program while the
server is away, leaves only once the server has heard it, and keeps the restarted kiosk from taking the
server's re-sync of a call that already ended here for a call that goes on."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from kiosk.controller import KioskController
from kiosk.services.credentials import KioskCredential
from kiosk.services.outbox import Outbox, Report
from kiosk.settings import KioskSettings
from signaling.client import NotConnected, RequestFailed
from signaling.protocol.messages import FeedbackSubmit, SessionEnd, SessionStart, TicketUpdate
from signaling.protocol.models import Participant


async def test_kept_across_a_restart_until_heard(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.outbox.json"
    box = Outbox(path)
    end, rating = Report("session_end", 41, ticket_id=9), Report("feedback", 41, rating=4, saved_trip=True)
    box.add(end)
    box.add(rating)
    box.add(rating)  # the same report twice is kept once
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    again = Outbox(path)  # the kiosk program restarted
    assert again.pending == [end, rating]

    sent: list[Any] = []

    async def offline(msg: Any) -> dict[str, Any]:
        raise NotConnected("no server")

    assert await again.flush(offline) == [] and again.pending == [end, rating]

    async def server(msg: Any) -> dict[str, Any]:
        sent.append(msg)
        if isinstance(msg, SessionEnd):
            raise RequestFailed("conflict", "session already ended")  # heard: done with it
        return {}

    done = await again.flush(server)
    assert [r for r, _ in done] == [end, rating] and isinstance(done[0][1], RequestFailed) and done[1][1] is None
    assert isinstance(sent[0], SessionEnd) and sent[0].session_id == 41
    assert isinstance(sent[1], FeedbackSubmit) and (sent[1].rating, sent[1].saved_trip) == (4, True)
    assert again.pending == [] and Outbox(path).pending == []


async def test_restarted_kiosk_ignores_the_resync_of_a_call_it_ended(tmp_path: Path) -> None:
    settings = KioskSettings(server_url="http://127.0.0.1:9", credential_file=tmp_path / "kiosk.json",  # type: ignore[arg-type]
                             media_source="none")
    Outbox(settings.outbox_path).add(Report("session_end", 41, ticket_id=9))
    ctl = KioskController(settings, KioskCredential(3, "secret", "bihoro"))
    assert ctl.client.on_message is not None
    try:
        await ctl.client.on_message(TicketUpdate(ticket_id=9, state="in_call", service_code="employment",
                                                 reason="resumed"))
        await ctl.client.on_message(SessionStart(
            session_id=41, ticket_id=9, service_code="employment", you="kiosk:3",
            participants=[Participant(peer="kiosk:3", role="resident"),
                          Participant(peer="staff:1", role="specialist")]))
        assert ctl.screen == "idle" and ctl.mesh is None
        assert ctl.visit.ticket_id is None and ctl.visit.session_id is None
    finally:
        await ctl.stop()
