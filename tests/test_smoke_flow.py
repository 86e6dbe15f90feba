"""Queue flow through the real server over real WebSockets (no media)."""

from __future__ import annotations

from signaling.protocol.messages import OfferAccept, SessionEnd, StatusSet, TicketCreate
from tests.support import Env


async def test_ticket_to_session(env: Env) -> None:
    staff, s_in = await env.staff_client("takahashi")
    kiosk, k_in = await env.kiosk_client("bihoro")
    await staff.request(StatusSet(status="available"))
    ack = await kiosk.request(TicketCreate(service_code="employment"))
    offer = await s_in.next("offer", ticket_id=ack["ticket_id"])
    assert offer.branch == "美幌町役場 窓口"
    res = await staff.request(OfferAccept(ticket_id=offer.ticket_id))
    start_k = await k_in.next("session.start")
    start_s = await s_in.next("session.start")
    assert start_k.session_id == start_s.session_id == res["session_id"]
    assert start_s.offer_to == [kiosk.welcome.peer]
    await kiosk.request(SessionEnd(session_id=res["session_id"]))
    ended = await s_in.next("session.ended")
    assert ended.wrap_up and ended.reason == "resident_hangup"


async def test_next_resident_while_specialist_wraps_up(env: Env) -> None:
    """The kiosk is free as soon as the call ends; the specialist's wrap-up does not block the next resident."""
    staff, s_in = await env.staff_client("takahashi")
    kiosk, k_in = await env.kiosk_client("bihoro")
    await staff.request(StatusSet(status="available"))
    first = await kiosk.request(TicketCreate(service_code="employment"))
    await s_in.next("offer", ticket_id=first["ticket_id"])
    res = await staff.request(OfferAccept(ticket_id=first["ticket_id"]))
    await kiosk.request(SessionEnd(session_id=res["session_id"]))
    await s_in.next("session.ended")
    second = await kiosk.request(TicketCreate(service_code="employment"))
    assert second["ticket_id"] != first["ticket_id"]
    update = await k_in.next("ticket.update", ticket_id=second["ticket_id"])
    assert update.state == "waiting"
