"""Server-side signaling hub: connections, authentication handshake, rooms, relay.

It knows the wire protocol and nothing of FastAPI or the database: the server
plugs in a :class:`Handler` that authenticates and acts on requests. The hub
enforces the edge rules of DESIGN §5 that belong to the protocol: auth first
within ``AUTH_TIMEOUT_S``, one reply per request, rate limit, and relay of SDP
only between members of the same call room.

Exceptions::

    HubError(code, message)     raised by handlers; becomes an ``error`` frame
     └── AuthRejected           first frame did not authenticate; closes 1008
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel

from signaling.principal import Principal
from signaling.protocol.codec import ProtocolError, dump, parse_client
from signaling.protocol.errors import CloseCode, ErrorCode
from signaling.protocol.messages import (
    GUEST_MAY,
    KIOSK_ONLY,
    PARTNER_ALLOWED,
    STAFF_ONLY,
    Ack,
    Auth,
    ClientMessage,
    Error,
    Ping,
    Pong,
    RtcAnswer,
    RtcAnswerRelay,
    RtcOffer,
    RtcOfferRelay,
    Welcome,
)
from signaling.protocol.version import AUTH_CHECK_TIMEOUT_S, AUTH_TIMEOUT_S
from signaling.tasks import cancel_all

log = logging.getLogger("madoguchi.hub")
SEND_TIMEOUT_S = 5.0
MAX_QUEUED_FRAMES = 1000  # a socket this far behind is dead or stuck: it is closed, not buffered for ever
# Requests of one socket are handled one after the other, except these: telemetry, handled beside the socket's
# next requests so that a leave or an end never waits behind a stats report that waits for the queue's lock
# (measured beside two CPU hogs: call.stats took 1-7 s each and held a third party's session.leave behind it).
UNORDERED = frozenset({"call.stats"})
MAX_UNORDERED = 4  # per socket; a further one waits in line (a client cannot pile up work without limit)


def _parse(text: str) -> ClientMessage:
    """parse_client, with JSON nested too deep for the decoder (RecursionError) refused like any bad JSON."""
    try:
        return parse_client(text)
    except RecursionError:
        raise ProtocolError(ErrorCode.BAD_JSON, "frame is not valid JSON: nested too deep") from None


def _ref_of(text: str) -> str | None:
    """The request id of a frame that is not processed (every error names its request, DESIGN §8)."""
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return None
    ref = obj.get("id") if isinstance(obj, dict) else None
    return ref if isinstance(ref, str) else None


class HubError(Exception):
    def __init__(self, code: ErrorCode, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}


class AuthRejected(HubError):
    pass


class Transport(Protocol):
    async def send_text(self, data: str) -> None: ...
    async def receive_text(self) -> str: ...
    async def close(self, code: int = 1000, reason: str = "") -> None: ...


@dataclass
class TokenBucket:
    rate: float
    burst: float
    tokens: float = 0.0
    strikes: int = 0
    clock: Callable[[], float] = time.monotonic
    stamp: float = 0.0

    def __post_init__(self) -> None:
        self.tokens = self.burst
        self.stamp = self.clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= self.burst:  # back within its rate long enough to refill: past bursts are forgiven
            self.strikes = 0
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.strikes += 1
        return False


class Connection:
    """One authenticated socket. Frames are *posted*: appended to this socket's own queue at once, in the
    order of the calls, and written by one writer task. So the order in which the server decided
    things (a reply, then the pushes it caused) is the order the client reads, whatever the sockets'
    speeds, and no caller ever waits on a slow socket."""

    def __init__(self, transport: Transport, principal: Principal, rate: float, burst: int) -> None:
        self.transport = transport
        self.principal = principal
        self.bucket = TokenBucket(rate, burst)
        self.connected_at = time.monotonic()
        self.closed = False
        self.ready: asyncio.Task[None] | None = None  # the handler's on_connect
        self.unordered: set[asyncio.Task[None]] = set()  # UNORDERED requests being handled
        self._queue: deque[str] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._closer: asyncio.Future[None] | None = None

    @property
    def peer(self) -> str:
        return self.principal.peer

    def post(self, msg: BaseModel | str) -> bool:
        """Queue a frame (a model, or text already serialised); False if the socket is closed."""
        if self.closed:
            return False
        if len(self._queue) >= MAX_QUEUED_FRAMES:
            self.closed = True
            self._queue.clear()
            self._closer = asyncio.ensure_future(self._abort(CloseCode.POLICY_VIOLATION, "not reading its frames"))
            return False
        self._queue.append(msg if isinstance(msg, str) else dump(msg))
        if self._writer is None:
            self._writer = asyncio.ensure_future(self._write())
        return True

    async def send(self, msg: BaseModel) -> bool:
        """Post and wait until this frame (and all before it) has been written."""
        if not self.post(msg):
            return False
        await self.flushed()
        return not self.closed

    async def flushed(self) -> None:
        writer = self._writer
        while writer is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(writer)
            writer = self._writer

    async def _write(self) -> None:
        try:
            while self._queue and not self.closed:
                text = self._queue[0]
                try:
                    async with asyncio.timeout(SEND_TIMEOUT_S):  # no Task per frame, unlike wait_for on 3.11
                        await self.transport.send_text(text)
                except Exception:  # a dead or stuck socket: drop it, never crash the sender
                    self.closed = True
                    self._queue.clear()
                    await self._abort(CloseCode.GOING_AWAY, "send failed")
                    return
                self._queue.popleft()
        finally:
            self._writer = None

    async def _abort(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self.transport.close(code, reason)

    async def close(self, code: int, reason: str) -> None:
        """Close after the frames already posted (a revocation reason arrives after what came before)."""
        if not self.closed:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(SEND_TIMEOUT_S):
                    await self.flushed()
        self.closed = True
        self._queue.clear()
        with contextlib.suppress(Exception):
            await self.transport.close(code, reason)


Respond = Callable[[BaseModel | None], None]


class Remote(Protocol):
    """Other server nodes, when there are several: call rooms as all nodes see them, and a way to reach a peer
    connected to another node (the server's delivery module provides it)."""

    async def room(self, session_id: int) -> set[str]: ...
    async def forward(self, peer: str, text: str) -> bool: ...


class Handler(Protocol):
    """The server's side of the hub. ``on_message`` answers through ``respond(reply)`` (posts the ``ack``)
    at the moment it chooses, so that the reply can precede the pushes its request caused; if it returns
    without responding, the hub posts an empty ``ack``. A HubError raised before responding becomes the
    ``error`` reply."""

    async def authenticate(self, auth: Auth) -> tuple[Principal, Welcome]: ...
    async def on_connect(self, conn: Connection, resumed: bool) -> None: ...
    async def on_message(self, conn: Connection, msg: ClientMessage, respond: Respond) -> None: ...
    async def on_disconnect(self, conn: Connection) -> None: ...


class Hub:
    """Local registry of connections and call rooms, and the per-socket loop."""

    def __init__(self, handler: Handler, *, rate_per_s: float = 50.0, burst: int = 200,
                 remote: Remote | None = None) -> None:
        self.handler = handler
        self.remote = remote
        self.rate = rate_per_s
        self.burst = burst
        self.connections: dict[str, Connection] = {}
        self.rooms: dict[int, set[str]] = {}
        self.auth_check_timeout_s = AUTH_CHECK_TIMEOUT_S
        self.connects_total = 0  # authenticated connections since start (the GC policy watches for bursts)
        self.on_message_counted: Callable[[str, str | None], None] | None = None  # (type, error code)
        self._tasks: set[asyncio.Task[Any]] = set()

    # ------------------------------------------------------------ delivery
    def post(self, peer: str, msg: BaseModel | str) -> bool:
        """Queue a frame for a locally connected peer, in call order; False if it is not here."""
        conn = self.connections.get(peer)
        if conn is None:
            return False
        return conn.post(msg)

    async def send(self, peer: str, msg: BaseModel) -> bool:
        conn = self.connections.get(peer)
        if conn is None:
            return False
        return await conn.send(msg)

    def is_connected(self, peer: str) -> bool:
        return peer in self.connections

    def peers(self, kind: str | None = None) -> list[str]:
        return [p for p in self.connections if kind is None or p.startswith(kind + ":")]

    def join_room(self, session_id: int, peer: str) -> None:
        self.rooms.setdefault(session_id, set()).add(peer)

    def leave_room(self, session_id: int, peer: str) -> None:
        members = self.rooms.get(session_id)
        if members is not None:
            members.discard(peer)
            if not members:
                del self.rooms[session_id]

    def close_room(self, session_id: int) -> None:
        self.rooms.pop(session_id, None)

    def room_of(self, peer: str) -> list[int]:
        return [sid for sid, members in self.rooms.items() if peer in members]

    async def disconnect(self, peer: str, code: int, reason: str) -> None:
        conn = self.connections.get(peer)
        if conn is not None:
            await conn.close(code, reason)

    def spawn(self, coro: Awaitable[Any]) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------ lifecycle
    async def serve(self, transport: Transport) -> None:
        conn = await self._handshake(transport)
        if conn is None:
            return
        try:
            await self._loop(conn)
        finally:
            await cancel_all(conn.unordered)  # telemetry of a socket that is gone is not worth waiting for
            if conn.ready is not None:  # on_disconnect never overtakes on_connect
                with contextlib.suppress(Exception):
                    await conn.ready
            if self.connections.get(conn.peer) is conn:
                del self.connections[conn.peer]
                try:
                    await self.handler.on_disconnect(conn)
                except Exception:
                    log.exception("on_disconnect failed for %s", conn.peer)

    async def _handshake(self, transport: Transport) -> Connection | None:
        try:
            text = await asyncio.wait_for(transport.receive_text(), AUTH_TIMEOUT_S)
        except TimeoutError:
            await self._reject(transport, None, ErrorCode.NOT_AUTHENTICATED, "no auth within 5 s")
            return None
        except Exception:
            return None
        try:
            msg = _parse(text)
        except ProtocolError as exc:
            await self._reject(transport, exc.ref, exc.code, exc.message)
            return None
        if not isinstance(msg, Auth):
            await self._reject(transport, msg.id, ErrorCode.NOT_AUTHENTICATED, "first frame must be auth")
            return None
        try:
            async with asyncio.timeout(self.auth_check_timeout_s):
                principal, welcome = await self.handler.authenticate(msg)
        except HubError as exc:
            await self._reject(transport, msg.id, exc.code, exc.message)
            return None
        except TimeoutError:
            # not a refusal: the account could not be read in time; the client tries again after its backoff
            await self._reject(transport, msg.id, ErrorCode.INTERNAL, "sign-in could not be checked in time; "
                               "try again", CloseCode.INTERNAL_ERROR)
            return None
        conn = Connection(transport, principal, self.rate, self.burst)
        old = self.connections.get(conn.peer)
        self.connections[conn.peer] = conn
        self.connects_total += 1
        if old is not None:
            await old.close(CloseCode.REPLACED, "connected again elsewhere")
        conn.post(welcome)
        # on_connect (database work, pushes) runs beside the read loop: a socket is read from the first
        # moment, so its keep-alive pongs are never left unread behind a burst of connects.
        # "resumed" = the same client process coming back (it presents the resume token of its last welcome). A
        # fresh start is not one even while its old socket is still registered (the close not yet seen, or a
        # half-open socket after a crash): it must be told what it owes (a wrap-up), as it knows nothing.
        conn.ready = asyncio.create_task(self._on_connect(conn, bool(msg.resume_token)))
        return conn

    async def _on_connect(self, conn: Connection, resumed: bool) -> None:
        try:
            await self.handler.on_connect(conn, resumed=resumed)
        except Exception:
            log.exception("on_connect failed for %s", conn.peer)

    async def _reject(self, transport: Transport, ref: str | None, code: ErrorCode, message: str,
                      close: CloseCode = CloseCode.POLICY_VIOLATION) -> None:
        self._count("auth", code)
        with contextlib.suppress(Exception):
            await transport.send_text(dump(Error(ref=ref, code=code, message=message)))
        with contextlib.suppress(Exception):
            await transport.close(close, message[:120])

    async def _loop(self, conn: Connection) -> None:
        while not conn.closed:
            try:
                text = await conn.transport.receive_text()
            except Exception:
                return
            if not conn.bucket.take():
                self._count("rate", ErrorCode.RATE_LIMITED)
                if conn.bucket.strikes > self.burst:
                    await conn.close(CloseCode.POLICY_VIOLATION, "message flood")
                    return
                conn.post(Error(ref=_ref_of(text), code=ErrorCode.RATE_LIMITED,
                                message="too many messages; slow down"))
                continue
            await self._dispatch(conn, text)

    async def _dispatch(self, conn: Connection, text: str) -> None:
        try:
            msg = _parse(text)
        except ProtocolError as exc:
            self._count("invalid", exc.code)
            conn.post(Error(ref=exc.ref, code=exc.code, message=exc.message))
            return
        if msg.type in UNORDERED and len(conn.unordered) < MAX_UNORDERED:
            task = asyncio.ensure_future(self._handle(conn, msg))
            conn.unordered.add(task)
            task.add_done_callback(conn.unordered.discard)
            return
        await self._handle(conn, msg)

    async def _handle(self, conn: Connection, msg: ClientMessage) -> None:
        replied = False

        def respond(data: BaseModel | None) -> None:
            nonlocal replied
            if not replied:
                replied = True
                conn.post(Ack(ref=msg.id, data=data.model_dump(mode="json") if data is not None else {}))

        try:
            self._authorise(conn, msg)
            if isinstance(msg, Ping):
                conn.post(Pong(ref=msg.id))
                self._count(msg.type, None)
                return
            if isinstance(msg, (RtcOffer, RtcAnswer)):
                await self._relay(conn, msg)
                respond(None)
            else:
                await self.handler.on_message(conn, msg, respond)
                respond(None)
            self._count(msg.type, None)
        except HubError as exc:
            self._count(msg.type, exc.code)
            if not replied:
                replied = True
                conn.post(Error(ref=msg.id, code=exc.code, message=exc.message, details=exc.details))
            else:
                log.warning("%s from %s failed after its reply: %s", msg.type, conn.peer, exc.message)
        except Exception:
            log.exception("handler failed on %s from %s", msg.type, conn.peer)
            self._count(msg.type, ErrorCode.INTERNAL)
            if not replied:
                replied = True
                conn.post(Error(ref=msg.id, code=ErrorCode.INTERNAL, message="internal error"))

    def _authorise(self, conn: Connection, msg: ClientMessage) -> None:
        if isinstance(msg, Auth):
            raise HubError(ErrorCode.CONFLICT, "already authenticated")
        if conn.principal.kind == "guest":  # checked before the staff list: session.leave is for guests too
            if msg.type not in GUEST_MAY:
                raise HubError(ErrorCode.FORBIDDEN, f"a guest may only take part in its call, not {msg.type}")
            return
        if msg.type in STAFF_ONLY and not conn.principal.is_staff:
            raise HubError(ErrorCode.FORBIDDEN, f"{msg.type} is for staff only")
        if msg.type in KIOSK_ONLY and conn.principal.kind != "kiosk":
            raise HubError(ErrorCode.FORBIDDEN, f"{msg.type} is for kiosks only")
        if conn.principal.is_staff and conn.principal.role == "it_monitor" and msg.type not in ("ping",):
            raise HubError(ErrorCode.FORBIDDEN, "the IT monitor role cannot take part in calls")
        if conn.principal.is_staff and conn.principal.role == "partner" and msg.type not in PARTNER_ALLOWED:
            raise HubError(ErrorCode.FORBIDDEN, f"a partner takes part only in a call they were invited to "
                                                f"({msg.type} refused)")

    async def _relay(self, conn: Connection, msg: RtcOffer | RtcAnswer) -> None:
        members = self.rooms.get(msg.session_id, set())
        if self.remote is not None and not {conn.peer, msg.to} <= members:
            members = members | await self.remote.room(msg.session_id)  # the room as every node sees it
        if conn.peer not in members:
            raise HubError(ErrorCode.NOT_FOUND, "you are not in this session")
        if msg.to not in members:
            raise HubError(ErrorCode.NOT_FOUND, f"{msg.to} is not in this session")
        relay_cls = RtcOfferRelay if isinstance(msg, RtcOffer) else RtcAnswerRelay
        out = relay_cls(session_id=msg.session_id, sender=conn.peer, sdp=msg.sdp, purpose=msg.purpose)
        if self.post(msg.to, out):
            return
        if self.remote is None or not await self.remote.forward(msg.to, dump(out)):
            raise HubError(ErrorCode.CONFLICT, f"{msg.to} is not connected")

    def _count(self, typ: str, code: str | None) -> None:
        if self.on_message_counted is not None:
            self.on_message_counted(typ, code)
