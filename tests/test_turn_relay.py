"""TURN for real: the Debian coturn server, started from the shipped template (deploy/coturn/turnserver.conf),
with the Madoguchi server's REST credentials (server/turn.py).

- the template's denied-peer-ip list refuses a relay towards 127.0.0.1, an internal 10.x host and the
  link-local metadata address, while relay address -> relay address (two clients) works;
- two CallPeers forced relay-only connect through it and exchange real frames; their SDPs carry relay
  candidates only and coturn's log shows the media it relayed;
- a wrong secret and an expired credential fail at the SDP step with TurnFailed("turn_auth"), not at a
  connect timeout (aiortc alone would wait for ever: relay-only with no candidate; the time it takes is
  measured by bench/turn_setup.py);
- an unreachable TURN server fails with "turn_unreachable" (relay-only: after aioice's 5 s gathering
  timeout and a 3 s second try, ~8 s, inside the default 10 s connect timeout);
- without relay-only, a refused TURN does not stop host candidates from connecting.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aioice import stun, turn

from server.settings import Settings
from server.turn import turn_credential
from signaling.media import make_local_tracks
from signaling.peer import CallPeer, TurnFailed
from signaling.protocol.models import IceServer
from signaling.turn_check import probe_turn
from tests.coturn import RELAY_IP, Coturn, free_udp_port, start_coturn
from tests.support import WAIT_S, eventually

pytestmark = pytest.mark.timeout(120)

SECRET = "turn-test-secret-0123456789abcdef"


@pytest.fixture
async def coturn(tmp_path: Path) -> AsyncIterator[Coturn]:
    server = await start_coturn(tmp_path, SECRET)
    yield server
    await server.stop()


def ice(server: Coturn, *, secret: str = SECRET, ttl_s: int = 600, peer: str = "kiosk:1",
        now: float | None = None) -> list[IceServer]:
    user, credential = turn_credential(secret, peer, int((time.time() if now is None else now) + ttl_s))
    return [IceServer(urls=[server.url], username=user, credential=credential)]


class Received(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.data: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()
        self.errors: asyncio.Queue[Exception] = asyncio.Queue()
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.data.put_nowait((data, addr))

    def error_received(self, exc: Exception) -> None:
        self.errors.put_nowait(exc)


async def release(transport: turn.TurnTransport, protocol: Received) -> None:
    """Delete the allocation and wait until it is gone (aioice calls connection_lost then)."""
    transport.close()
    await asyncio.wait_for(protocol.lost, WAIT_S)


async def allocate(server: Coturn) -> tuple[turn.TurnTransport, Received]:
    creds = ice(server)[0]
    return await turn.create_turn_endpoint(Received, server_addr=server.address, username=creds.username,
                                           password=creds.credential)


async def test_relay_reaches_the_relay_address_but_never_loopback_or_internal_hosts(coturn: Coturn) -> None:
    (a, a_in), (b, b_in) = await allocate(coturn), await allocate(coturn)
    try:
        a_addr, b_addr = a.get_extra_info("sockname"), b.get_extra_info("sockname")
        assert a_addr[0] == RELAY_IP and b_addr[0] == RELAY_IP

        def both_ways() -> bool:
            # relay -> relay, the one allowed peer address. Each side's first send also installs its
            # permission for the other (TURN drops data from a peer without one), so send until both arrive.
            a.sendto(b"ping", b_addr)
            b.sendto(b"pong", a_addr)
            return not a_in.data.empty() and not b_in.data.empty()

        await eventually(both_ways, step=0.1, what="relay to relay, both ways")
        assert a_in.data.get_nowait() == (b"pong", b_addr) and b_in.data.get_nowait() == (b"ping", a_addr)

        # the relay-to-internal-network CVE class: each refused with 403 by the template's denied-peer-ip
        for target in (("127.0.0.1", free_udp_port()), ("10.1.2.3", 5432), ("169.254.169.254", 80)):
            a.sendto(b"attack", target)
            error = await asyncio.wait_for(a_in.errors.get(), 10)
            assert isinstance(error, stun.TransactionFailed), error
            assert error.response.attributes["ERROR-CODE"][0] == 403, error
        log = coturn.log()
        assert "A peer IP 127.0.0.1 denied in the range: 127.0.0.0-127.255.255.255" in log
        assert "A peer IP 10.1.2.3 denied in the range: 10.0.0.0-10.255.255.255" in log
        assert "A peer IP 169.254.169.254 denied in the range: 169.254.0.0-169.254.255.255" in log
    finally:
        await release(a, a_in)
        await release(b, b_in)


async def test_a_loopback_listener_receives_nothing_through_the_relay(coturn: Coturn) -> None:
    """The refusal is real: a UDP service on 127.0.0.1 gets no datagram from the relay."""
    loop = asyncio.get_running_loop()
    victim = Received()
    victim_transport, _ = await loop.create_datagram_endpoint(lambda: victim, local_addr=("127.0.0.1", 0))
    relay, relay_in = await allocate(coturn)
    try:
        relay.sendto(b"attack", victim_transport.get_extra_info("sockname"))
        await asyncio.wait_for(relay_in.errors.get(), 10)  # coturn answered: 403, nothing relayed
        assert victim.data.empty()
    finally:
        await release(relay, relay_in)
        victim_transport.close()


async def _connect(offerer: CallPeer, answerer: CallPeer) -> None:
    answer = await answerer.accept_offer(await offerer.create_offer())
    await offerer.set_answer(answer)
    await asyncio.gather(offerer.wait_connected(), answerer.wait_connected())


def _peer(servers: list[IceServer], label: str, **kwargs: Any) -> CallPeer:
    audio, video = make_local_tracks("synthetic", width=320, height=240, fps=15)
    return CallPeer(ice_servers=servers, audio=audio, video=video, label=label, **kwargs)


async def test_relay_only_call_carries_real_media_through_coturn(coturn: Coturn) -> None:
    kiosk = _peer(ice(coturn, peer="kiosk:1"), "kiosk", relay_only=True)
    console = _peer(ice(coturn, peer="staff:1"), "console", relay_only=True)
    try:
        await _connect(console, kiosk)
        assert kiosk.local_candidate_types() == {"relay"} and console.local_candidate_types() == {"relay"}
        for peer in (kiosk, console):
            await peer.wait_channel_open()
            await eventually(lambda p=peer: p.video_frames_received >= 15 and p.audio_frames_received >= 15,
                             what=f"frames at the {peer.label}")
        assert kiosk.turn_problem is None and console.turn_problem is None
    finally:
        await kiosk.close()
        await console.close()
    # coturn relayed the call: both allocations, each bound to the other's relay address, with traffic
    log = coturn.log()
    assert "username=<" in log and ":kiosk:1>" in log and ":staff:1>" in log
    assert re.search(r"peer 127\.0\.0\.2:\d+ lifetime updated", log)
    # coturn writes each allocation's totals when it deletes it (a moment after the client's refresh to 0)
    usage = await eventually(lambda: [int(m) for m in re.findall(r"usage: .*?rb=(\d+)", coturn.log())][:2]
                             if len(re.findall(r"usage: ", coturn.log())) >= 2 else None,
                             step=0.1, what="coturn's usage lines for both allocations")
    assert min(usage) > 10_000, usage  # bytes received on each relay: video, not only ICE checks


@pytest.mark.parametrize("problem", ["wrong secret", "expired"])
async def test_a_refused_credential_fails_fast_and_says_why(coturn: Coturn, problem: str) -> None:
    servers = (ice(coturn, secret="not-the-secret-of-this-coturn-000") if problem == "wrong secret"
               else ice(coturn, ttl_s=-60))  # expired a minute ago, on coturn's own clock
    # a connect timeout far beyond the test's: the failure comes from the TURN answer, not from waiting
    kiosk = _peer(servers, "kiosk", relay_only=True, connect_timeout_s=600)
    try:
        with pytest.raises(TurnFailed) as info:
            await kiosk.create_offer()
        assert info.value.code == "turn_auth"
        assert "401" in str(info.value) and servers[0].credential not in str(info.value)
        with pytest.raises(TurnFailed):  # the link's outcome is settled too: wait_connected says the same
            await kiosk.wait_connected()
    finally:
        await kiosk.close()
    assert "401: Unauthorized" in coturn.log()


async def test_an_unreachable_turn_server_is_named_as_such() -> None:
    silent = free_udp_port()  # nothing listens there
    user, credential = turn_credential(SECRET, "kiosk:1", int(time.time()) + 600)
    servers = [IceServer(urls=[f"turn:127.0.0.1:{silent}?transport=udp"], username=user, credential=credential)]
    problem = await probe_turn(servers, timeout_s=1.0)
    assert problem is not None and problem.code == "turn_unreachable", problem


async def test_relay_only_with_a_silent_turn_server_fails_as_unreachable() -> None:
    """aioice gives up gathering after 5 s, the second allocation after 3 s: TurnFailed, not a hang."""
    user, credential = turn_credential(SECRET, "kiosk:1", int(time.time()) + 600)
    servers = [IceServer(urls=[f"turn:127.0.0.1:{free_udp_port()}?transport=udp"], username=user,
                         credential=credential)]
    kiosk = _peer(servers, "kiosk", relay_only=True, connect_timeout_s=600)
    try:
        with pytest.raises(TurnFailed) as info:
            await kiosk.create_offer()
        assert info.value.code == "turn_unreachable" and "did not answer" in str(info.value)
    finally:
        await kiosk.close()


async def test_without_relay_only_a_refused_turn_leaves_host_candidates_working(coturn: Coturn) -> None:
    bad = ice(coturn, secret="not-the-secret-of-this-coturn-000")
    kiosk, console = _peer(bad, "kiosk"), _peer(bad, "console")
    try:
        await _connect(console, kiosk)  # host candidates on loopback
        assert "relay" not in kiosk.local_candidate_types() and "host" in kiosk.local_candidate_types()
        problem = await kiosk.turn_diagnosis()
        assert problem is not None and problem.code == "turn_auth"
    finally:
        await kiosk.close()
        await console.close()


def test_turn_ttl_must_outlive_a_call_refresh() -> None:
    with pytest.raises(ValueError):
        Settings(turn_ttl_s=10)
