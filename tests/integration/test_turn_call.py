"""Calls through a real coturn, end to end: real server, real kiosk and console controllers, real aiortc media.

- MADOGUCHI_ICE_RELAY_ONLY: the welcome says "relay", both sides offer relay candidates only, frames flow,
  and coturn relayed them (its log names both peers' credentials and the bytes it carried); each side used
  the credential minted for this call in ``session.start``, and a re-sync after a signaling drop brings a
  fresher one;
- the server's TURN secret differs from coturn's: the call ends as media_failed with media_error
  "turn_auth" on the kiosk and on the console, and in the audit log. The clients' connect timeout and
  media grace are set far beyond the test's wait, so the end cannot have come from them: it came from the
  TURN refusal itself (measured: bench/turn_setup.py);
- only kiosks and call staff get ICE servers with TURN credentials; IT and admin accounts get none.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server.db.models import AuditEvent, CallSession
from signaling.observer import wait_for
from signaling.protocol.models import IceServer
from tests.coturn import Coturn, start_coturn
from tests.integration.calls import kiosk_controller, staff_controller
from tests.pki import make_pki
from tests.support import WAIT_S, Env, eventually, make_settings, server_env

pytestmark = pytest.mark.timeout(180)

SECRET = "turn-test-secret-0123456789abcdef"
NEVER = dict(connect_timeout_s=600.0, media_grace_s=600.0)  # no client timeout can end a call in a test


@pytest.fixture
async def coturn(tmp_path: Path) -> AsyncIterator[Coturn]:
    server = await start_coturn(tmp_path, SECRET)
    yield server
    await server.stop()


def turn_settings(coturn: Coturn, **over: Any) -> dict[str, Any]:
    return {"ice_servers": [IceServer(urls=[coturn.url])], "turn_secret": SECRET, "ice_relay_only": True, **over}


async def _start_call(env: Env, tmp_path: Path, **client: Any) -> tuple[Any, Any]:
    console = await staff_controller(env, "takahashi", **client)
    kiosk = await kiosk_controller(env, tmp_path, "bihoro", **client)
    assert await console.set_available()
    offer = asyncio.ensure_future(wait_for(console, "offer", WAIT_S))
    kiosk.begin()
    assert await kiosk.request_service("employment", [])
    await offer
    return console, kiosk


async def test_relay_only_call_through_coturn(tmp_path: Path, coturn: Coturn) -> None:
    async with server_env(make_settings(tmp_path, "sqlite", **turn_settings(coturn))) as env:
        console, kiosk = await _start_call(env, tmp_path)
        try:
            assert kiosk.client.welcome.ice_transport_policy == "relay"
            connected = asyncio.ensure_future(wait_for(console, "call_status", WAIT_S,
                                                       lambda d: d["status"] == "connected"))
            assert await console.accept()
            await connected
            for ctl, who in ((kiosk, "kiosk"), (console, "console")):
                await eventually(lambda c=ctl: c.mesh is not None and c.mesh.link() is not None
                                 and c.mesh.link().call.video_frames_received > 10
                                 and c.mesh.link().call.audio_frames_received > 10, what=f"media at the {who}")
                link = ctl.mesh.link()
                assert link.call.local_candidate_types() == {"relay"}, who
                # the call's own credential (session.start), not the welcome's
                assert ctl.mesh.ice_servers[0].username.endswith(f":{ctl.client.welcome.peer}")
            # signaling drops and resumes mid-call: the re-sync's session.start brings fresher credentials
            # for links healed from then on; the media keeps going through the relay meanwhile
            before, frames = kiosk.mesh.ice_servers, kiosk.mesh.link().call.video_frames_received
            await kiosk.client.drop()
            await eventually(lambda: kiosk.mesh.ice_servers is not before, what="credentials refreshed on re-sync")
            await eventually(lambda: kiosk.mesh.link().call.video_frames_received > frames + 10, what="media on")
            ended = asyncio.ensure_future(wait_for(console, "call_ended", WAIT_S))
            await kiosk.hang_up()
            await ended
        finally:
            await kiosk.stop()
            await console.stop()
        log = await eventually(lambda: coturn.log() if len(re.findall(r": usage: ", coturn.log())) >= 2 else "",
                               step=0.1, what="coturn closed both allocations")
        for peer in (kiosk.client.welcome.peer, console.client.welcome.peer):
            assert re.search(rf"username=<\d+:{peer}>, rp=\d+, rb=(\d{{5,}})", log), f"no media relayed for {peer}"


async def test_wrong_turn_secret_ends_the_call_saying_why_on_both_sides(tmp_path: Path, coturn: Coturn) -> None:
    settings = turn_settings(coturn, turn_secret="not-the-secret-coturn-has-00000000")
    async with server_env(make_settings(tmp_path, "sqlite", **settings)) as env:
        console, kiosk = await _start_call(env, tmp_path, **NEVER)
        try:
            k_ended = asyncio.ensure_future(wait_for(kiosk, "call_ended", WAIT_S))
            c_ended = asyncio.ensure_future(wait_for(console, "call_ended", WAIT_S))
            c_link = asyncio.ensure_future(wait_for(console, "call_status", WAIT_S,
                                                    lambda d: d["status"] == "link_failed"))
            assert await console.accept()
            link_failed = await c_link  # the console offers: its own allocation was refused
            assert link_failed["code"] == "turn_auth" and "401" in link_failed["error"]
            k, c = await k_ended, await c_ended
            assert (k["reason"], k["media_error"]) == ("media_failed", "turn_auth")
            assert (c["reason"], c["media_error"]) == ("media_failed", "turn_auth")
            assert kiosk.screen == "feedback"
            assert console.wrapup is not None and console.wrapup.media_error == "turn_auth"
        finally:
            await kiosk.stop()
            await console.stop()
        async with env.ctx.maker() as db:
            sess = (await db.execute(select(CallSession))).scalars().one()
            assert sess.end_reason == "media_failed" and sess.media_connected_at is None
            ends = (await db.execute(select(AuditEvent).where(AuditEvent.action == "session.end"))).scalars().all()
            assert [e.detail.get("media_error") for e in ends] == ["turn_auth"]
    assert "401: Unauthorized" in coturn.log()


async def test_only_call_roles_get_turn_credentials(tmp_path: Path, backend: str) -> None:
    """Kiosks, specialists and supervisors get the TURN server with a REST credential; IT and admin none."""
    settings = make_settings(tmp_path, backend, ice_servers=[IceServer(urls=["turn:turn.example.lg.jp:3478"])],
                             turn_secret=SECRET)
    async with server_env(settings) as env:
        kiosk, _ = await env.kiosk_client()
        got = {"kiosk": kiosk.welcome}
        for username in ("takahashi", "tanaka", "it", "admin"):
            client, _ = await env.staff_client(username)
            assert client.welcome is not None
            got[client.welcome.role] = client.welcome
        assert set(got) == {"kiosk", "specialist", "supervisor", "it_monitor", "admin"}
        for role in ("kiosk", "specialist", "supervisor"):
            welcome = got[role]
            assert welcome is not None
            (server,) = welcome.ice_servers
            assert server.username is not None and server.username.endswith(f":{welcome.peer}") and server.credential
        for role in ("it_monitor", "admin"):
            assert got[role].ice_servers == [], role  # type: ignore[union-attr]


@pytest.mark.parametrize("transport", ["tcp", "tls"])
async def test_relay_only_call_over_turn_tcp_and_tls(tmp_path: Path, transport: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A branch whose network lets no UDP out: the only TURN URL is TCP (``turn:…?transport=tcp``) or TLS
    (``turns:…?transport=tcp``, the relay's certificate from a test CA the clients trust through SSL_CERT_FILE,
    as a kiosk would with the municipality's CA). Relay-only, real media both ways through coturn's TCP/TLS
    listener; coturn's log shows the sessions came over that transport."""
    pki = make_pki(tmp_path)
    server = await start_coturn(tmp_path, SECRET, tcp=transport == "tcp",
                                tls=(pki.cert_file, pki.key_file) if transport == "tls" else None)
    if transport == "tls":
        monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_file))  # aioice's TLS context: the default trust store
    url = server.tcp_url if transport == "tcp" else server.tls_url
    try:
        settings = {"ice_servers": [IceServer(urls=[url])], "turn_secret": SECRET, "ice_relay_only": True}
        async with server_env(make_settings(tmp_path, "sqlite", **settings)) as env:
            console, kiosk = await _start_call(env, tmp_path)
            try:
                connected = asyncio.ensure_future(wait_for(console, "call_status", WAIT_S,
                                                           lambda d: d["status"] == "connected"))
                assert await console.accept()
                await connected
                for ctl, who in ((kiosk, "kiosk"), (console, "console")):
                    await eventually(lambda c=ctl: c.mesh is not None and c.mesh.link() is not None
                                     and c.mesh.link().call.video_frames_received > 10
                                     and c.mesh.link().call.audio_frames_received > 10, what=f"media at the {who}")
                    assert ctl.mesh.link().call.local_candidate_types() == {"relay"}, who
                peers = (kiosk.client.welcome.peer, console.client.welcome.peer)
            finally:
                await kiosk.stop()
                await console.stop()
        log = server.log()
        for peer in peers:  # each side's allocation, over that transport
            new = re.search(rf"session \d+: new, realm=<[^>]*>, username=<\d+:{peer}>, lifetime=\d+(.*)", log)
            assert new is not None, (peer, log[-2000:])
            if transport == "tls":
                assert "method=TLSv1." in new.group(1), new.group(0)
        if transport == "tcp":  # the readiness probe, then one TCP connection per side: no UDP URL was given
            assert len(re.findall(r"tcp or tls connected to", log)) >= 3, log[-2000:]
    finally:
        await server.stop()


async def test_a_turn_tls_certificate_the_clients_do_not_trust_ends_the_call_saying_why(tmp_path: Path) -> None:
    """The relay presents a certificate from a CA the clients do not trust: no allocation, and the call ends as
    media_failed / turn_unreachable with the certificate named in the console's link error — never a silent wait
    (client timeouts are far beyond the test's wait)."""
    pki = make_pki(tmp_path)
    server = await start_coturn(tmp_path, SECRET, tls=(pki.cert_file, pki.key_file))
    try:
        settings = {"ice_servers": [IceServer(urls=[server.tls_url])], "turn_secret": SECRET, "ice_relay_only": True}
        async with server_env(make_settings(tmp_path, "sqlite", **settings)) as env:
            console, kiosk = await _start_call(env, tmp_path, **NEVER)
            try:
                c_link = asyncio.ensure_future(wait_for(console, "call_status", WAIT_S,
                                                        lambda d: d["status"] == "link_failed"))
                k_ended = asyncio.ensure_future(wait_for(kiosk, "call_ended", WAIT_S))
                assert await console.accept()
                failed = await c_link
                assert failed["code"] == "turn_unreachable" and "certificate" in failed["error"].lower(), failed
                k = await k_ended
                assert (k["reason"], k["media_error"]) == ("media_failed", "turn_unreachable")
            finally:
                await kiosk.stop()
                await console.stop()
    finally:
        await server.stop()
