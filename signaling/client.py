"""Reconnecting signaling client used by kiosk and console (no Qt, no aiortc).

It keeps one WebSocket to ``/ws`` open, authenticates with a fresh token on
every (re)connect, resumes with the last resume token, backs off
exponentially with jitter while the server is unreachable, and matches
replies to requests by id.

Exceptions::

    ClientError
     ├── NotConnected      no live connection right now (the caller decides to retry)
     ├── RequestFailed     the server answered ``error``: .code, .message, .details
     └── AuthFailed        the first frame was not answered with ``welcome``
          └── CredentialRejected   raised by ``get_token``: the credential itself is refused; stop for good
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import websockets
from pydantic import BaseModel
from websockets.asyncio.client import ClientConnection, connect

from signaling.protocol.codec import ProtocolError, dump, parse_server
from signaling.protocol.errors import CloseCode
from signaling.protocol.messages import Ack, Auth, Error, Pong, ServerMessage, Welcome
from signaling.protocol.version import MAX_FRAME_BYTES, SUBPROTOCOL

log = logging.getLogger("madoguchi.client")
ConnState = Literal["connecting", "online", "offline", "closed"]
StopReason = Literal["revoked", "replaced"]
# close codes after which reconnecting would be wrong: a revoked kiosk needs re-enrollment, and two instances of
# one principal would evict each other for ever (protocol.md, close codes)
FINAL_CLOSE: dict[int, StopReason] = {CloseCode.REVOKED: "revoked", CloseCode.REPLACED: "replaced"}


class ClientError(Exception):
    pass


class NotConnected(ClientError):
    pass


class RequestFailed(ClientError):
    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details or {}


class AuthFailed(ClientError):
    pass


class CredentialRejected(AuthFailed):
    """Raised by ``get_token`` when the server refuses the credential itself (a revoked kiosk): final."""


class SignalingClient:
    def __init__(
        self,
        url: str,
        get_token: Callable[[], Awaitable[str]],
        *,
        on_message: Callable[[ServerMessage], Awaitable[None]] | None = None,
        on_state: Callable[[ConnState], None] | None = None,
        app_version: str = "",
        request_timeout_s: float = 10.0,
        backoff_max_s: float = 15.0,
    ) -> None:
        self.url = url
        self.get_token = get_token
        self.on_message = on_message
        self.on_state = on_state
        self.app_version = app_version
        self.request_timeout_s = request_timeout_s
        self.backoff_max_s = backoff_max_s
        self.state: ConnState = "offline"
        self.welcome: Welcome | None = None
        self.last_error: str = ""
        self._ws: ClientConnection | None = None
        self._pending: dict[str, asyncio.Future[Ack | Pong]] = {}
        self._task: asyncio.Task[None] | None = None
        self._online = asyncio.Event()
        self._closing = False
        self.connects = 0
        self.stop_reason: StopReason | None = None  # set when the server ended this client for good

    # ------------------------------------------------------------ public
    async def start(self) -> None:
        """Start (or, after a final close such as ``replaced``, restart on the user's request) connecting."""
        if self._task is not None and self._task.done():
            self._task = None
        if self._task is None:
            self._closing = False
            self.stop_reason = None
            self._task = asyncio.create_task(self._run(), name="signaling-client")

    async def wait_online(self, timeout: float | None = None) -> Welcome:
        await asyncio.wait_for(self._online.wait(), timeout)
        assert self.welcome is not None
        return self.welcome

    async def request(self, msg: BaseModel) -> dict[str, Any]:
        """Send a request and wait for its ``ack`` (returns its data) or ``error`` (raises).

        A ``ping`` is answered with ``pong``: then the result is ``{}``.
        """
        ws = self._ws
        if ws is None or self.state != "online":
            raise NotConnected("not connected to the server")
        fut: asyncio.Future[Ack | Pong] = asyncio.get_running_loop().create_future()
        msg_id: str = msg.id  # type: ignore[attr-defined]
        self._pending[msg_id] = fut
        try:
            await ws.send(dump(msg))
            ack = await asyncio.wait_for(fut, self.request_timeout_s)
        except (websockets.ConnectionClosed, OSError) as exc:
            raise NotConnected(f"connection lost: {exc}") from None
        except TimeoutError:
            raise NotConnected("no reply from the server") from None
        finally:
            self._pending.pop(msg_id, None)
        return ack.data if isinstance(ack, Ack) else {}

    async def close(self) -> None:
        self._closing = True
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self._set_state("closed")

    async def drop(self) -> None:
        """Close the socket as if the network failed (tests, and 'reconnect now')."""
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close(code=4000, reason="client drop")

    # ------------------------------------------------------------ internals
    def _set_state(self, state: ConnState) -> None:
        if state != self.state:
            self.state = state
            if state != "online":
                self._online.clear()
            if self.on_state is not None:
                self.on_state(state)

    async def _run(self) -> None:
        delay = 0.5
        while not self._closing:
            self._set_state("connecting")
            connects = self.connects
            try:
                await self._session()
            except CredentialRejected as exc:
                self.last_error = str(exc)
                self.stop_reason = "revoked"
            except AuthFailed as exc:
                self.last_error = str(exc)
                log.warning("authentication failed: %s", exc)
            except (OSError, websockets.WebSocketException, TimeoutError, ProtocolError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # token fetch failed etc.: stay alive and retry
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("signaling session failed: %s", self.last_error)
            self._ws = None
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(NotConnected("connection lost"))
            if self._closing:
                break
            if self.stop_reason is not None:
                self.last_error = f"stopped for good ({self.stop_reason}): {self.last_error}"
                log.warning("the server ended this connection for good (%s); not reconnecting", self.stop_reason)
                self._set_state("closed")
                return
            if self.connects != connects:  # this attempt got online, however it ended: back off from the start
                delay = 0.5
            self._set_state("offline")
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(self.backoff_max_s, delay * 2)

    async def _session(self) -> None:
        token = await self.get_token()
        async with connect(self.url, subprotocols=[SUBPROTOCOL], max_size=MAX_FRAME_BYTES,  # type: ignore[list-item]
                           compression=None, open_timeout=10, ping_interval=10, ping_timeout=20) as ws:
            resume = self.welcome.resume_token if self.welcome else None
            auth = Auth(token=token, resume_token=resume, app_version=self.app_version)
            await ws.send(dump(auth))
            first = parse_server(await asyncio.wait_for(ws.recv(), 10))
            if isinstance(first, Error):
                raise AuthFailed(f"{first.code}: {first.message}")
            if not isinstance(first, Welcome):
                raise AuthFailed(f"expected welcome, got {first.type}")
            self.welcome = first
            self._ws = ws
            self.connects += 1
            self._set_state("online")
            self._online.set()
            try:
                async for raw in ws:  # ends, or raises ConnectionClosedError for codes other than 1000/1001
                    try:
                        msg = parse_server(raw)
                    except ProtocolError as exc:
                        log.warning("bad frame from server: %s", exc.message)
                        continue
                    await self._deliver(msg)
            finally:
                self._check_final(ws.close_code)

    def _check_final(self, code: int | None) -> None:
        if code is not None and code in FINAL_CLOSE:
            self.stop_reason = FINAL_CLOSE[code]

    async def _deliver(self, msg: ServerMessage) -> None:
        if isinstance(msg, (Ack, Pong)):  # a ping is answered with pong, every other request with ack
            fut = self._pending.get(msg.ref)
            if fut is not None and not fut.done():
                fut.set_result(msg)
            return
        if isinstance(msg, Error) and msg.ref is not None and msg.ref in self._pending:
            fut = self._pending[msg.ref]
            if not fut.done():
                fut.set_exception(RequestFailed(msg.code, msg.message, msg.details))
            return
        if self.on_message is not None:
            try:
                await self.on_message(msg)
            except Exception:
                log.exception("on_message handler failed for %s", msg.type)
