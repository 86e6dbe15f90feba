"""Datagram transports drain their socket in batches (signaling/udp_batch.py): a call's ICE socket must not
fall behind the media when the event loop turns slowly.

The datagrams go over an AF_UNIX datagram socketpair: its delivery is synchronous (queued when ``send``
returns), so what one wake of the reader takes in is exact, with no timing involved. The unix datagram queue
holds 10 by default (net.unix.max_dgram_qlen), so the tests queue 8."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from signaling import udp_batch

QUEUED = 8


@dataclass
class Received(asyncio.DatagramProtocol):
    data: list[bytes] = field(default_factory=list)
    first: asyncio.Event = field(default_factory=asyncio.Event)
    close_after: int | None = None
    transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.data.append(data)
        self.first.set()
        if self.close_after is not None and len(self.data) == self.close_after and self.transport is not None:
            self.transport.close()


@pytest.fixture
async def pair() -> AsyncIterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


async def _one_wake(sender: socket.socket, receiver: socket.socket, protocol: Received) -> list[bytes]:
    """Queue QUEUED datagrams, then return what the protocol holds when the first reader wake has run."""
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(lambda: protocol, sock=receiver)
    try:
        for i in range(QUEUED):
            sender.send(b"datagram %d" % i)
        await protocol.first.wait()
        return list(protocol.data)
    finally:
        transport.close()


def test_installed_by_the_call_layer() -> None:
    import signaling.peer  # noqa: F401  (importing the call layer installs it)

    assert udp_batch.installed()


async def test_one_wake_takes_in_everything_queued(pair: tuple[socket.socket, socket.socket]) -> None:
    assert udp_batch.install()
    got = await _one_wake(*pair, Received())
    assert got == [b"datagram %d" % i for i in range(QUEUED)]


async def test_a_wake_takes_at_most_a_batch(pair: tuple[socket.socket, socket.socket],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """One busy socket cannot hold the event loop: the rest waits for the next wake."""
    assert udp_batch.install()
    monkeypatch.setattr(udp_batch, "BATCH", 3)
    protocol = Received()
    got = await _one_wake(*pair, protocol)
    assert got == [b"datagram 0", b"datagram 1", b"datagram 2"]


async def test_a_transport_closed_while_reading_reads_no_more(pair: tuple[socket.socket, socket.socket]) -> None:
    assert udp_batch.install()
    protocol = Received(close_after=2)
    got = await _one_wake(*pair, protocol)
    assert got == [b"datagram 0", b"datagram 1"]


async def test_without_it_a_wake_takes_one(pair: tuple[socket.socket, socket.socket],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """What it fixes: asyncio's own reader takes one datagram per wake, whatever is queued."""
    monkeypatch.setattr(udp_batch._transport, "_read_ready", udp_batch._stdlib_read_ready)
    got = await _one_wake(*pair, Received())
    assert got == [b"datagram 0"]
