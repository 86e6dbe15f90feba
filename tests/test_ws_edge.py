"""The edge of ``/ws`` (DESIGN §5): every bad input gets an ``error`` code or a policy close, never a crash.

Each case runs over a raw ``websockets`` connection while a second, well-behaved
client (the witness) stays connected; after the case the witness must still get
a ``pong`` and an ``ack``, so one bad socket never hurts anyone else.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
import pytest_asyncio
import websockets
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection

from server.auth import issue_token
from server.db.base import utcnow
from server.db.models import Branch, Kiosk, Staff
from signaling.client import RequestFailed, SignalingClient
from signaling.hub import TokenBucket
from signaling.protocol.messages import (
    CallMedia,
    OfferAccept,
    Ping,
    RtcOffer,
    SessionEnd,
    StatusSet,
    TicketCreate,
    WrapupDone,
)
from signaling.protocol.version import AUTH_TIMEOUT_S, MAX_FRAME_BYTES, SUBPROTOCOL
from tests.conftest import BACKENDS
from tests.support import WAIT_S, Env, Inbox, closed_with, make_settings, raw_ws, recv_json, server_env

# ---------------------------------------------------------------- helpers


# Tokens are issued with the server's own key (a login or a kiosk enrollment costs several argon2 hashes,
# which test_auth_api.py covers); the server validates them exactly as it validates any other.
async def staff_tok(env: Env, username: str) -> str:
    async with env.ctx.maker() as db:
        s = (await db.execute(select(Staff).where(Staff.username == username))).scalar_one()
    return issue_token(env.settings.secret_key, "staff", s.id, s.role, 3600)


async def staff_client(env: Env, username: str) -> tuple[SignalingClient, Inbox]:
    token = await staff_tok(env, username)

    async def tok() -> str:
        return token

    inbox = Inbox()
    return await env.client(tok, inbox.queue), inbox


async def kiosk_client(env: Env, branch: str) -> tuple[SignalingClient, Inbox]:
    async with env.ctx.maker() as db, db.begin():
        b = (await db.execute(select(Branch).where(Branch.code == branch))).scalar_one()
        k = Kiosk(branch_id=b.id, name=f"edge kiosk {branch}", credential_hash="(test)", enrolled_at=utcnow())
        db.add(k)
        await db.flush()
        kid = k.id

    async def tok() -> str:
        return issue_token(env.settings.secret_key, "kiosk", kid, "kiosk", 600)

    inbox = Inbox()
    return await env.client(tok, inbox.queue), inbox


async def next_of(ws: ClientConnection, typ: str, wait_s: float = WAIT_S) -> dict[str, Any]:
    """Skip pushes (queue snapshots, status) until a frame of this type."""
    deadline = time.monotonic() + wait_s
    while True:
        msg = await recv_json(ws, max(0.1, deadline - time.monotonic()))
        if msg["type"] == typ:
            return msg


async def still_serving(witness: SignalingClient) -> None:
    """The other client still gets a pong and an ack."""
    assert await witness.request(Ping()) == {}
    assert await witness.request(StatusSet(status="away", reason="edge-check")) == {"status": "away"}


# One server per backend for the whole module (each case leaves nothing behind that the next one sees);
# tests, fixtures and the server share the module's event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=BACKENDS)
async def server(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    async with server_env(make_settings(tmp_path_factory.mktemp("edge"), request.param)) as e:
        yield e


@pytest_asyncio.fixture(loop_scope="module")
async def env(server: Env) -> AsyncIterator[Env]:
    """The module's server; clients a test opens are closed after it (two clients of one principal fight)."""
    before = len(server.clients)
    yield server
    for c in server.clients[before:]:
        await c.close()
    del server.clients[before:]


@pytest_asyncio.fixture(loop_scope="module")
async def witness(env: Env) -> SignalingClient:
    client, _ = await staff_client(env, "suzuki")
    await still_serving(client)
    return client


# ---------------------------------------------------------------- malformed frames after auth


@pytest.mark.parametrize(("frame", "code", "ref"), [
    ("{not json", "bad_json", None),
    ("[1, 2, 3]", "bad_json", None),
    ('"just a string"', "bad_json", None),
    ('{"type": "no.such.type", "id": "u1"}', "unknown_type", "u1"),
    ('{"id": "u2"}', "unknown_type", "u2"),
    ('{"type": [], "id": "x"}', "invalid_message", "x"),                                  # unhashable type
    ('{"type": {"a": 1}, "id": "x2"}', "invalid_message", "x2"),
    ('{"type": 7, "id": "x3"}', "invalid_message", "x3"),
    ('{"type": ["ping"], "id": "x4"}', "invalid_message", "x4"),
    ('{"type": "offer.accept", "id": "m1"}', "invalid_message", "m1"),                     # missing field
    ('{"type": "offer.accept", "id": "w1", "ticket_id": "abc"}', "invalid_message", "w1"),  # wrong type
    ('{"type": "offer.accept", "id": "w2", "ticket_id": [1]}', "invalid_message", "w2"),
    ('{"type": "status.set", "id": "w3", "status": "asleep"}', "invalid_message", "w3"),    # not in the enum
    ('{"type": "ping", "id": "x1", "extra": true}', "invalid_message", "x1"),               # extra=forbid
    ('{"type": "ping", "id": ""}', "invalid_message", ""),                                  # empty id
    ("[" * 30_000 + "]" * 30_000, "bad_json", None),                                      # nested too deep
    ('{"id": "d1", "type": "ping", "x": ' + "[" * 30_000 + "]" * 30_000 + "}", "bad_json", None),
])
async def test_malformed_frame_gets_error_and_socket_stays(env: Env, witness: SignalingClient,
                                                           frame: str, code: str, ref: str | None) -> None:
    tok = await staff_tok(env, "sato")
    async with raw_ws(env, tok) as ws:
        await ws.send(frame)
        err = await next_of(ws, "error")
        assert err["code"] == code, err
        assert err["ref"] == ref
        assert err["message"]
        # the same socket goes on working
        await ws.send(json.dumps({"type": "ping", "id": "after"}))
        assert (await next_of(ws, "pong"))["ref"] == "after"
    await still_serving(witness)


async def test_binary_frame_is_bad_json(env: Env, witness: SignalingClient) -> None:
    tok = await staff_tok(env, "sato")
    async with raw_ws(env, tok) as ws:
        await ws.send(b"\x00\x01\xff binary")
        assert (await next_of(ws, "error"))["code"] == "bad_json"
        await ws.send(json.dumps({"type": "ping", "id": "p"}).encode())  # JSON in a binary frame: read
        assert (await next_of(ws, "pong"))["ref"] == "p"
    await still_serving(witness)


async def test_invalid_utf8_text_frame_closes_1007(env: Env, witness: SignalingClient) -> None:
    """The one close code the WebSocket layer sends on its own for bad data; listed in docs/protocol.md §9."""
    tok = await staff_tok(env, "sato")
    async with raw_ws(env, tok) as ws:
        await ws.send(b'{"type": "ping", "id": "\xff\xfe"}', text=True)
        code, frames = await closed_with(ws)
    assert code == 1007
    assert not any(f.get("type") == "pong" for f in frames)
    await still_serving(witness)


async def test_second_auth_is_conflict(env: Env, witness: SignalingClient) -> None:
    tok = await staff_tok(env, "sato")
    async with raw_ws(env, tok) as ws:
        await ws.send(json.dumps({"type": "auth", "id": "again", "token": tok}))
        err = await next_of(ws, "error")
        assert (err["code"], err["ref"]) == ("conflict", "again")
    await still_serving(witness)


async def test_oversize_frame_closes_1009(env: Env, witness: SignalingClient) -> None:
    tok = await staff_tok(env, "sato")
    async with raw_ws(env, tok) as ws:
        # just under the limit: read and answered (the frame is not a valid message)
        pad = "x" * (MAX_FRAME_BYTES - 200)
        await ws.send(json.dumps({"type": "ping", "id": "big", "pad": pad}))
        err = await next_of(ws, "error")
        assert (err["code"], err["ref"]) == ("invalid_message", "big")
        # over the limit: closed with 1009
        await ws.send(json.dumps({"type": "ping", "id": "huge", "pad": "x" * MAX_FRAME_BYTES}))
        code, frames = await closed_with(ws)
        assert code == 1009
        assert not any(f.get("ref") == "huge" for f in frames)
    await still_serving(witness)


async def test_oversize_first_frame_closes_1009(env: Env, witness: SignalingClient) -> None:
    async with raw_ws(env) as ws:
        await ws.send(json.dumps({"type": "auth", "id": "a", "token": "t" * (MAX_FRAME_BYTES + 10)}))
        code, _ = await closed_with(ws)
        assert code == 1009
    await still_serving(witness)


# ---------------------------------------------------------------- authentication


async def test_no_auth_first_is_refused(env: Env, witness: SignalingClient) -> None:
    async with raw_ws(env) as ws:
        await ws.send(json.dumps({"type": "ticket.create", "id": "t1", "service_code": "general"}))
        code, frames = await closed_with(ws)
    assert code == 1008
    assert [(f["type"], f["code"], f["ref"]) for f in frames] == [("error", "not_authenticated", "t1")]
    await still_serving(witness)


@pytest.mark.parametrize("frame", ["{oops", b"\x00binary", '{"type": "auth", "id": "a"}', '{"type": [], "id": "x"}',
                                   "[" * 30_000 + "]" * 30_000])
async def test_bad_first_frame_is_refused(env: Env, witness: SignalingClient, frame: str | bytes) -> None:
    async with raw_ws(env) as ws:
        await ws.send(frame)
        code, frames = await closed_with(ws)
    assert code == 1008
    assert len(frames) == 1 and frames[0]["type"] == "error"
    assert frames[0]["code"] in ("bad_json", "invalid_message")
    await still_serving(witness)


async def test_silent_socket_closed_after_auth_timeout(env: Env, witness: SignalingClient) -> None:
    """Closed, and not before its time: a timer of AUTH_TIMEOUT_S - 1 started before the socket opened fires
    first (the server runs on this loop: one clock orders both, whatever the load)."""
    order: list[str] = []
    asyncio.get_running_loop().call_later(AUTH_TIMEOUT_S - 1, order.append, "timer")
    async with raw_ws(env) as ws:
        code, frames = await closed_with(ws, wait_s=AUTH_TIMEOUT_S + WAIT_S)
        order.append("closed")
    assert code == 1008
    assert [f["code"] for f in frames] == ["not_authenticated"]
    assert order == ["timer", "closed"]
    await still_serving(witness)


@pytest.mark.parametrize("kind", ["garbage", "other_key", "expired", "unknown_staff", "wrong_typ"])
async def test_bad_token_is_refused(env: Env, witness: SignalingClient, kind: str) -> None:
    key = env.settings.secret_key
    token = {
        "garbage": "not-a-jwt",
        "other_key": issue_token("another-secret-0123456789abcdef0123456789", "staff", 1, "specialist", 600),
        "expired": issue_token(key, "staff", 1, "specialist", -10),
        "unknown_staff": issue_token(key, "staff", 9999, "specialist", 600),
        "wrong_typ": jwt.encode({"sub": "staff:1", "role": "specialist", "iat": int(time.time()),
                                 "exp": int(time.time()) + 600, "typ": "refresh"}, key, algorithm="HS256"),
    }[kind]
    async with raw_ws(env) as ws:
        await ws.send(json.dumps({"type": "auth", "id": "a1", "token": token}))
        code, frames = await closed_with(ws)
    assert code == 1008
    assert [(f["code"], f["ref"]) for f in frames] == [("auth_failed", "a1")]
    if kind == "expired":
        assert "expired" in frames[0]["message"]
    await still_serving(witness)


async def test_alg_none_token_is_refused(env: Env, witness: SignalingClient) -> None:
    def b64(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    now = int(time.time())
    token = b64({"alg": "none", "typ": "JWT"}) + "." + b64(
        {"sub": "staff:1", "role": "specialist", "iat": now, "exp": now + 600, "typ": "access"}) + "."
    async with raw_ws(env) as ws:
        await ws.send(json.dumps({"type": "auth", "id": "a1", "token": token}))
        code, frames = await closed_with(ws)
    assert code == 1008 and frames[0]["code"] == "auth_failed"
    await still_serving(witness)


# ---------------------------------------------------------------- handshake: origin and subprotocol


@pytest.mark.parametrize("kw", [
    {"origin": "http://evil.example"},
    {"origin": "null"},
    {"subprotocols": None},
    {"subprotocols": ["madoguchi.v0"]},
])
async def test_handshake_rejected(env: Env, witness: SignalingClient, kw: dict[str, Any]) -> None:
    with pytest.raises(websockets.InvalidStatus) as info:
        async with raw_ws(env, **kw):
            pass
    assert info.value.response.status_code == 403
    await still_serving(witness)


async def test_same_origin_and_no_origin_accepted(env: Env, witness: SignalingClient) -> None:
    tok = await staff_tok(env, "sato")
    async with raw_ws(env, tok, origin=f"http://127.0.0.1:{env.server.port}") as ws:
        assert ws.subprotocol == SUBPROTOCOL
    async with raw_ws(env, tok) as ws:  # native clients send no Origin
        assert ws.subprotocol == SUBPROTOCOL
    await still_serving(witness)


# ---------------------------------------------------------------- roles and ownership


async def test_kiosk_sending_staff_only_message_is_forbidden(env: Env, witness: SignalingClient) -> None:
    kiosk, _ = await kiosk_client(env, "kitami-tokoro")
    for msg in (OfferAccept(ticket_id=1), StatusSet(status="available")):
        err = await _fails(kiosk, msg)
        assert err.code == "forbidden"
    staff, _ = await staff_client(env, "sato")
    assert (await _fails(staff, TicketCreate(service_code="general"))).code == "forbidden"
    it, _ = await staff_client(env, "it")
    assert (await _fails(it, StatusSet(status="available"))).code == "forbidden"
    assert await it.request(Ping()) == {}
    await still_serving(witness)


async def _fails(client: SignalingClient, msg: Any) -> Any:
    with pytest.raises(RequestFailed) as info:
        await client.request(msg)
    return info.value


async def test_message_for_someone_elses_session_is_not_found(env: Env, witness: SignalingClient) -> None:
    sato, s_in = await staff_client(env, "sato")
    kiosk_a, k_in = await kiosk_client(env, "kitami-tokoro")
    await sato.request(StatusSet(status="available"))
    ticket = (await kiosk_a.request(TicketCreate(service_code="disability")))["ticket_id"]
    await s_in.next("offer", ticket_id=ticket)
    sid = (await sato.request(OfferAccept(ticket_id=ticket)))["session_id"]
    await k_in.next("session.start", session_id=sid)

    kiosk_b, _ = await kiosk_client(env, "kitami-tokoro")
    tanaka, _ = await staff_client(env, "tanaka")
    sato_peer, a_peer, b_peer = [(await c.wait_online()).peer for c in (sato, kiosk_a, kiosk_b)]
    sdp = "v=0\r\n"
    for client in (kiosk_b, tanaka):
        for msg in (RtcOffer(session_id=sid, to=sato_peer, sdp=sdp), SessionEnd(session_id=sid),
                    CallMedia(session_id=sid, state="connected"),
                    RtcOffer(session_id=sid + 100, to="x", sdp=sdp)):
            assert (await _fails(client, msg)).code == "not_found", msg
    assert (await _fails(tanaka, WrapupDone(session_id=sid))).code == "not_found"
    # a member cannot relay to someone outside the room either
    outside = RtcOffer(session_id=sid, to=b_peer, sdp=sdp)
    assert (await _fails(sato, outside)).code == "not_found"
    # and the call itself is untouched: the resident can still reach the specialist
    await kiosk_a.request(RtcOffer(session_id=sid, to=sato_peer, sdp=sdp))
    relay = await s_in.next("rtc.offer", session_id=sid)
    assert relay.sender == a_peer
    await kiosk_a.request(SessionEnd(session_id=sid))
    await still_serving(witness)


@pytest.mark.parametrize("ticket_id", [2**63, -(2**63) - 1, 10**30])
async def test_out_of_range_id_is_an_error_not_a_crash(env: Env, witness: SignalingClient,
                                                        ticket_id: int) -> None:
    tok = await staff_tok(env, "sato")
    async with raw_ws(env, tok) as ws:
        await ws.send(json.dumps({"type": "offer.accept", "id": "big", "ticket_id": ticket_id}))
        err = await next_of(ws, "error")
        assert err["ref"] == "big"
        assert err["code"] in ("invalid_message", "not_found"), err
    await still_serving(witness)


# ---------------------------------------------------------------- flood


async def test_flood_is_rate_limited_then_closed(env: Env, witness: SignalingClient) -> None:
    tok = await staff_tok(env, "sato")
    burst = env.settings.ws_burst
    async with raw_ws(env, tok, max_queue=None) as ws:
        reader = asyncio.create_task(closed_with(ws))  # read while flooding: no back-pressure
        with contextlib.suppress(websockets.ConnectionClosed):  # the server closes mid-flood
            for i in range(burst * 4):
                await ws.send(json.dumps({"type": "ping", "id": f"f{i}"}))
        code, got = await reader
    assert code == 1008
    kinds = [f["code"] if f["type"] == "error" else f["type"] for f in got if f["type"] in ("pong", "error")]
    first_limited = kinds.index("rate_limited")
    assert first_limited >= burst  # the burst itself is served
    assert all(k == "pong" for k in kinds[:first_limited])
    assert kinds.count("rate_limited") >= burst - 10  # then errors (a few tokens refill), then the close
    assert set(kinds) == {"pong", "rate_limited"}
    # every error names the request it refuses, so a client's request() fails at once instead of timing out
    refs = [f["ref"] for f in got if f["type"] == "error"]
    assert all(r is not None and r.startswith("f") for r in refs)
    await still_serving(witness)


async def test_flood_strikes_are_forgiven_once_the_bucket_refills() -> None:
    """A kiosk that bursts now and then over months must not be closed for the sum of its bursts; a client
    that keeps flooding is (strikes only reset when the bucket has refilled completely)."""
    t = [1000.0]
    bucket = TokenBucket(rate=50.0, burst=200, clock=lambda: t[0])
    for _ in range(200):
        assert bucket.take()
    assert not bucket.take() and not bucket.take()
    assert bucket.strikes == 2
    t[0] += 1.0                      # 50 tokens back, not full: the burst is still going on
    for _ in range(50):
        assert bucket.take()
    assert not bucket.take() and bucket.strikes == 3
    t[0] += 4.1                      # full again: forgiven
    assert bucket.take() and bucket.strikes == 0
