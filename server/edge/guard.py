"""Connection guard: caps on open sockets, and a deadline for every HTTP request (slowloris).

It works at the protocol level, as subclasses of uvicorn's HTTP (h11) and WebSocket protocols, because what it
protects against never reaches ASGI: a socket that sends nothing, or a request head sent one byte at a time,
holds a file descriptor for ever otherwise (uvicorn has no header timeout; its keep-alive timeout only starts
after a first response). With the usual 1,024 open files, 1,100 such sockets locked every client out.

- **Per client address** (``MADOGUCHI_MAX_CONNECTIONS_PER_CLIENT``) and **per node**
  (``MADOGUCHI_MAX_CONNECTIONS``; 0 = the open-file limit less :data:`FD_RESERVE` for the database, Redis and
  logs): a connection over a cap is answered ``429 Too Many Requests`` (its address) or ``503 Service
  Unavailable`` (the node) as soon as it sends its first bytes, then closed; a WebSocket client sees the
  upgrade fail with that status (docs/protocol.md §9). HTTP and WebSocket sockets count alike; a WebSocket
  stays counted until it closes.
- **Request deadline** (``MADOGUCHI_REQUEST_DEADLINE_S``): a connection must deliver a whole request (head and
  body) within this of opening, and each next request on a kept-alive connection within this of the previous
  response; otherwise it is closed. While the application works on a request nothing is timed here, and a
  WebSocket, once upgraded, has its own limits (auth within 5 s, pings).

Behind a reverse proxy every client has the proxy's address: raise the per-client cap there (or set it to 0,
off) and let the proxy limit per client.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections import Counter
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

log = logging.getLogger("madoguchi.edge")
# asyncio accepts up to the listen backlog in one go before any connection_made runs (uvicorn's default is 2,048),
# and a refused socket's descriptor is freed an iteration or two later: about two batches must be free beyond the
# cap, or a burst of new sockets meets EMFILE before the guard sees it (bench/edge_exhaustion.py, "spread")
ACCEPT_BACKLOG = 128
FD_RESERVE = 128 + 2 * ACCEPT_BACKLOG  # kept back from the cap: database pool, Redis, logs, listeners, accept batches
REFUSE_LINGER_S = 1.0  # a refused socket that sends nothing is closed after this (its answer waits for a request)
MAX_LINGERING = 32  # refused sockets waiting for their request at once; past this they are answered and closed at once


def default_max_connections() -> int:
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 65_536
    return max(16, soft - FD_RESERVE)


def client_address(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return "local"  # a Unix socket: one local client


def _answer(status: int, reason: str, body: str) -> bytes:
    data = body.encode()
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {len(data)}"
            f"\r\nconnection: close\r\nretry-after: 5\r\n\r\n").encode() + data


TOO_MANY = _answer(429, "Too Many Requests", "too many connections from your address; retry later\n")
FULL = _answer(503, "Service Unavailable", "this server holds all the connections it can; retry later\n")


class ConnectionGuard:
    """Counts the open sockets of one server (per client address and in all) and makes its protocol classes."""

    def __init__(self, max_connections: int = 0, max_per_client: int = 256, request_deadline_s: float = 10.0) -> None:
        self.max_connections = max_connections or default_max_connections()
        self.max_per_client = max_per_client  # 0: no per-address cap
        self.request_deadline_s = request_deadline_s
        self.open: dict[asyncio.BaseTransport, str] = {}
        self.per_client: Counter[str] = Counter()
        self.refused: Counter[int] = Counter()  # by HTTP status
        self.timed_out = 0
        self.lingering = 0  # refused sockets waiting (at most REFUSE_LINGER_S) for their request to be read

    @classmethod
    def from_settings(cls, settings: Any) -> ConnectionGuard:
        return cls(settings.max_connections, settings.max_connections_per_client, settings.request_deadline_s)

    def admit(self, transport: asyncio.BaseTransport) -> bytes | None:
        """Count a new socket; or the answer that refuses it (it is then not counted)."""
        address = client_address(transport)
        if len(self.open) >= self.max_connections:
            self.refused[503] += 1
            log.warning("refused a connection from %s: this node holds %d connections (cap)", address,
                        len(self.open))
            return FULL
        if self.max_per_client and self.per_client[address] >= self.max_per_client:
            self.refused[429] += 1
            log.warning("refused a connection from %s: it holds %d connections (cap per client)", address,
                        self.per_client[address])
            return TOO_MANY
        self.open[transport] = address
        self.per_client[address] += 1
        return None

    def release(self, transport: asyncio.BaseTransport) -> None:
        address = self.open.pop(transport, None)
        if address is not None:
            self.per_client[address] -= 1
            if self.per_client[address] <= 0:
                del self.per_client[address]

    def protocols(self) -> tuple[type[GuardedH11Protocol], type[GuardedWebSocketProtocol]]:
        """uvicorn protocol classes bound to this guard (``uvicorn.Config(http=..., ws=...)``)."""
        http = type("GuardedH11Protocol", (GuardedH11Protocol,), {"guard": self})
        ws = type("GuardedWebSocketProtocol", (GuardedWebSocketProtocol,), {"guard": self})
        return http, ws


class GuardedH11Protocol(H11Protocol):
    guard: ClassVar[ConnectionGuard]
    _refusal: bytes | None = None
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._refusal = self.guard.admit(transport)
        if self._refusal is not None:
            self.transport = transport
            if self.guard.lingering >= MAX_LINGERING:  # a flood: every descriptor counts more than a tidy close
                self._send_refusal()
                return
            self.guard.lingering += 1
            self._deadline = self.loop.call_later(REFUSE_LINGER_S, self._send_refusal)
            return
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None:
            self._send_refusal()  # answered once its request has been read: a close then sends FIN, not RST
            return
        super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._refusal is not None:
            return
        self.guard.release(self.transport)
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request on this kept-alive connection has its own deadline

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._disarm()  # the WebSocket protocol takes the socket (and its place in the guard's count)
        super().handle_websocket_upgrade(event)

    def _send_refusal(self) -> None:
        self._disarm()
        if self._refusal is not None and not self.transport.is_closing():
            self.transport.write(self._refusal)
            self.transport.close()

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.guard.request_deadline_s, self._request_timeout)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
            if self._refusal is not None:
                self.guard.lingering -= 1

    def _request_timeout(self) -> None:
        self._deadline = None  # (never a refused socket's timer: that one is _send_refusal)
        if self.transport.is_closing() or self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):
            return  # the application is working on a complete request; the response re-arms the deadline
        self.guard.timed_out += 1
        log.warning("closed a connection from %s: no complete request within %.0f s", client_address(self.transport),
                 self.guard.request_deadline_s)
        self.transport.close()


class GuardedWebSocketProtocol(WebSocketsSansIOProtocol):
    guard: ClassVar[ConnectionGuard]

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.release(self.transport)
        super().connection_lost(exc)
