"""The ``partner`` role (issue 10, hole 9): someone from outside the municipality's welfare section (相談支援事業所,
就業・生活支援センター, 後見人, an interpreter) joins a call only when invited and reads no notes, history or queue
— every REST endpoint answers 403 and the websocket refuses everything but the invited call. And supervisors
listen in to another municipality's calls only where that municipality allows it (off by default). Real server,
SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from signaling.client import RequestFailed, SignalingClient
from signaling.protocol.messages import (
    InviteAnswer,
    InviteRequest,
    OfferAccept,
    OfferDecline,
    SessionJoin,
    StatusSet,
    TicketCreate,
    TicketPriority,
    TransferRequest,
    WrapupDone,
)
from tests.support import Env, Inbox

PARTNER = {"username": "kanda.interp", "display_name": "神田 通訳", "municipality_code": "bihoro",
           "role": "partner", "password": "interpreter passphrase"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def make_partner(env: Env) -> tuple[int, str]:
    admin = bearer(await env.staff_token("admin"))
    async with httpx.AsyncClient(base_url=env.url) as http:
        r = await http.post("/api/admin/staff", json=PARTNER, headers=admin)
        assert r.status_code == 201, r.text
        return int(r.json()["id"]), await env.staff_token(PARTNER["username"], PARTNER["password"])


async def partner_client(env: Env) -> tuple[SignalingClient, Inbox]:
    inbox = Inbox()

    async def tok() -> str:
        return await env.staff_token(PARTNER["username"], PARTNER["password"])

    return await env.client(tok, inbox.queue), inbox


async def call_in_bihoro(env: Env) -> tuple[int, int, SignalingClient, Inbox]:
    """A Bihoro resident in a call with takahashi (Bihoro). Returns (session id, ticket id, takahashi, inbox)."""
    taka, t_in = await env.staff_client("takahashi")
    kiosk, _ = await env.kiosk_client("bihoro")
    await taka.request(StatusSet(status="available"))
    created = await kiosk.request(TicketCreate(service_code="employment"))
    await t_in.next("offer", ticket_id=created["ticket_id"])
    acc = await taka.request(OfferAccept(ticket_id=created["ticket_id"]))
    return int(acc["session_id"]), int(created["ticket_id"]), taka, t_in


async def refused(client: SignalingClient, msg: Any) -> str:
    with pytest.raises(RequestFailed) as exc:
        await client.request(msg)
    return exc.value.code


async def test_partner_reads_no_notes_history_queue_or_directory(env: Env) -> None:
    sid, _, _, _ = await call_in_bihoro(env)
    taka_token = await env.staff_token("takahashi")
    _, token = await make_partner(env)
    async with httpx.AsyncClient(base_url=env.url) as http:
        r = await http.put(f"/api/sessions/{sid}/note", json={"category": "employment", "summary": "就労の相談"},
                           headers=bearer(taka_token))
        assert r.status_code == 200, r.text
        h = bearer(token)
        for method, path in (("GET", f"/api/sessions/{sid}/note"), ("PUT", f"/api/sessions/{sid}/note"),
                             ("GET", "/api/sessions"), ("GET", f"/api/sessions?staff_id={sid}"),
                             ("GET", "/api/staff"), ("GET", "/api/reports/effect?from=2026-12-01&to=2026-12-31"),
                             ("GET", "/api/audit"), ("GET", "/api/admin/staff"), ("GET", "/api/admin/kiosks"),
                             ("GET", "/api/admin/municipalities"), ("GET", "/metrics")):
            body = {"category": "x"} if method == "PUT" else None
            r = await http.request(method, path, json=body, headers=h)
            assert r.status_code == 403, (method, path, r.status_code)
            assert "就労の相談" not in r.text
    # the monitor feed refuses the partner before it sends anything (HTTP 403 on the upgrade)
    ws_url = env.server.ws_url.replace("/ws", "/monitor/feed")
    with pytest.raises(InvalidStatus) as denied:
        async with websockets.connect(ws_url, additional_headers={"Authorization": f"Bearer {token}"}):
            pass
    assert denied.value.response.status_code == 403


async def test_partner_joins_only_when_invited_and_the_socket_refuses_the_rest(env: Env) -> None:
    partner_id, _ = await make_partner(env)
    sid, tid, taka, _ = await call_in_bihoro(env)
    partner, p_in = await partner_client(env)
    assert partner.welcome is not None and partner.welcome.role == "partner"
    # the queue, offers, transfers, invitations and listening in are not for partners
    for msg in (StatusSet(status="available"), OfferAccept(ticket_id=tid), OfferDecline(ticket_id=tid),
                SessionJoin(session_id=sid), InviteRequest(session_id=sid, staff_id=1),
                TransferRequest(session_id=sid, service_code="general"), WrapupDone(session_id=sid),
                TicketPriority(ticket_id=tid, priority=2)):
        assert await refused(partner, msg) == "forbidden", msg.type
    # not invited: no way in
    assert await refused(partner, InviteAnswer(session_id=sid, accept=True)) == "forbidden"
    # invited by the specialist: in, as a third party, and announced
    assert await taka.request(InviteRequest(session_id=sid, staff_id=partner_id))
    await p_in.next("invite", session_id=sid)
    await partner.request(InviteAnswer(session_id=sid, accept=True))
    start = await p_in.next("session.start", session_id=sid)
    assert {p.role for p in start.participants if p.peer == f"staff:{partner_id}"} == {"third_party"}
    await partner.request(StatusSet(status="away", reason="third_party"))  # the console steps aside while in
    # nothing of the queue reached the partner at any point
    p_in.drain()
    assert not [m for m in p_in.seen if m.type in ("queue.snapshot", "offer")]


async def test_supervisors_listen_to_other_municipalities_only_where_allowed(env: Env) -> None:
    """tanaka is a Kitami supervisor; the call is Bihoro's."""
    sid, _, _, _ = await call_in_bihoro(env)
    tanaka, t_in = await env.staff_client("tanaka")
    assert await refused(tanaka, SessionJoin(session_id=sid)) == "forbidden"
    admin = bearer(await env.staff_token("admin"))
    async with httpx.AsyncClient(base_url=env.url) as http:
        munis = {m["code"]: m for m in (await http.get("/api/admin/municipalities", headers=admin)).json()}
        assert not any(m["outside_supervision"] for m in munis.values())  # off by default
        r = await http.patch("/api/admin/municipalities/bihoro", json={"outside_supervision": True}, headers=admin)
        assert r.status_code == 200 and r.json()["outside_supervision"] is True
        assert (await http.patch("/api/admin/municipalities/nowhere", json={"outside_supervision": True},
                                 headers=admin)).status_code == 404
        assert (await http.patch("/api/admin/municipalities/bihoro", json={"outside_supervision": "yes please"},
                                 headers=admin)).status_code == 422
        spec = bearer(await env.staff_token("tanaka"))
        assert (await http.patch("/api/admin/municipalities/bihoro", json={"outside_supervision": False},
                                 headers=spec)).status_code == 403
        r = await http.get("/api/audit", params={"action": "municipality.outside_supervision"}, headers=admin)
        assert [(i["subject"], i["detail"]) for i in r.json()["items"]] == [("municipality:bihoro", {"allowed": True})]
    await tanaka.request(SessionJoin(session_id=sid))
    start = await t_in.next("session.start", session_id=sid)
    assert start.receive_only
