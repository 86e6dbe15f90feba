"""A socket's requests are handled in order, except telemetry (``call.stats``): a third party's leave must not
wait behind its own stats report while that report waits for the queue (beside two CPU hogs a report took
1-7 s and the leave behind it up to 14 s). Driven over an in-memory transport: no timing, no sleeping."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from signaling.hub import MAX_UNORDERED, Connection, Hub
from signaling.principal import Principal
from signaling.protocol.messages import Auth, ClientMessage, Welcome

SATO = Principal("staff", 7, "specialist", "佐藤 花子", 1)


class Socket:
    """The server's end of one websocket, fed and read by the test."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[str | None] = asyncio.Queue()
        self.outgoing: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def send_text(self, data: str) -> None:
        await self.outgoing.put(json.loads(data))

    async def receive_text(self) -> str:
        text = await self.incoming.get()
        if text is None:
            raise ConnectionError("closed by the client")
        return text

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.incoming.put_nowait(None)

    def ask(self, id: str, type: str, **fields: Any) -> None:
        self.incoming.put_nowait(json.dumps({"id": id, "type": type, **fields}))

    async def reply(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.outgoing.get(), 30)


class Handler:
    """Each ``call.stats`` waits until the test lets it through (as a report waits for the queue's lock)."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.handled: list[str] = []
        self.stats_waiting = 0
        self.stats_cancelled = 0
        self.arrived = asyncio.Condition()

    async def authenticate(self, auth: Auth) -> tuple[Principal, Welcome]:
        return SATO, Welcome(ref=auth.id, role="specialist", principal_id=SATO.principal_id, peer=SATO.peer,
                             display_name=SATO.display_name, resume_token="r")

    async def on_connect(self, conn: Connection, resumed: bool) -> None:
        pass

    async def on_message(self, conn: Connection, msg: ClientMessage, respond: Any) -> None:
        if msg.type == "call.stats":
            async with self.arrived:
                self.stats_waiting += 1
                self.arrived.notify_all()
            try:
                await self.gate.wait()
            except asyncio.CancelledError:
                self.stats_cancelled += 1
                raise
        self.handled.append(msg.id)

    async def on_disconnect(self, conn: Connection) -> None:
        pass

    async def until_waiting(self, n: int) -> None:
        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(lambda: self.stats_waiting == n), 30)


STATS = {"session_id": 455, "stats": {"fps": 15.0}}


async def connected(handler: Handler) -> tuple[Socket, asyncio.Task[None], Hub]:
    """A hub for ``handler`` and one signed-in socket being served by it."""
    hub = Hub(handler)  # type: ignore[arg-type]
    sock = Socket()
    sock.ask("a1", "auth", token="t", app_version="test")
    served = asyncio.create_task(hub.serve(sock))
    assert (await sock.reply())["type"] == "welcome"
    return sock, served, hub


def ref_of(frame: dict[str, Any]) -> tuple[str, str]:
    return frame["type"], frame["ref"]


async def test_a_leave_is_answered_while_the_stats_report_before_it_waits() -> None:
    handler = Handler()
    sock, served, _hub = await connected(handler)
    sock.ask("s1", "call.stats", **STATS)
    sock.ask("l1", "session.leave", session_id=455)
    sock.ask("p1", "ping")
    assert ref_of(await sock.reply()) == ("ack", "l1")  # not behind s1, which still waits
    assert ref_of(await sock.reply()) == ("pong", "p1")
    assert handler.handled == ["l1"] and handler.stats_waiting == 1
    handler.gate.set()
    assert ref_of(await sock.reply()) == ("ack", "s1")  # answered when done: exactly one reply each
    assert handler.handled == ["l1", "s1"]
    await sock.close()
    await served


async def test_past_the_limit_a_stats_report_waits_in_line() -> None:
    handler = Handler()
    sock, served, _hub = await connected(handler)
    for i in range(MAX_UNORDERED + 1):
        sock.ask(f"s{i}", "call.stats", **STATS)
    sock.ask("l1", "session.leave", session_id=455)
    sock.ask("p1", "ping")
    # the reports beyond the limit are handled in line, so the leave after them waits: backpressure, no pile
    await handler.until_waiting(MAX_UNORDERED + 1)
    assert handler.handled == [] and sock.outgoing.empty()
    handler.gate.set()
    frames = [ref_of(await sock.reply()) for _ in range(MAX_UNORDERED + 3)]
    assert sorted(frames) == sorted([("ack", f"s{i}") for i in range(MAX_UNORDERED + 1)] + [("ack", "l1"),
                                                                                        ("pong", "p1")])
    assert frames.index(("ack", f"s{MAX_UNORDERED}")) < frames.index(("ack", "l1")) < frames.index(("pong", "p1"))
    await sock.close()
    await served


async def test_a_closed_socket_leaves_no_stats_report_running() -> None:
    handler = Handler()
    sock, served, hub = await connected(handler)
    sock.ask("s1", "call.stats", **STATS)
    sock.ask("s2", "call.stats", **STATS)
    await handler.until_waiting(2)
    await sock.close()
    await asyncio.wait_for(served, 30)  # serve() returns only once its reports are gone
    assert handler.stats_cancelled == 2 and hub.connections == {}

