"""Reconnecting signaling client used by kiosk and console (no Qt, no aiortc).

It keeps one WebSocket to ``/ws`` open, authenticates with a fresh token on
every (re)connect, resumes with the last resume token, and matches replies to
requests by id. It knows one or several server URLs (nodes sharing one
state, DESIGN §7): a failed attempt or a dropped connection moves on to the
next URL. Between attempts it waits a capped exponential backoff with full
jitter (:func:`backoff_delay`): the first retry after a drop within
``backoff_base_s``, later ones within ``backoff_max_s``, so it is back within
about a second of a server becoming reachable while a crowd of clients
spreads its attempts over the whole window. A server process that dies is
noticed at once (its kernel closes the sockets); a silent one (a machine that
lost power, a cut cable) by WebSocket keep-alive pings within
``ping_interval_s + ping_timeout_s`` (10 + 20 s, as the server pings: shorter
timeouts dropped healthy clients of a loaded process in the window tests).

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
import ssl
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

import websockets
from pydantic import BaseModel, ValidationError
from websockets.asyncio.client import ClientConnection, connect

from signaling.protocol.codec import ProtocolError, dump, parse_server
from signaling.protocol.errors import CloseCode
from signaling.protocol.messages import Ack, Auth, Error, Pong, ServerMessage, Welcome
from signaling.protocol.replies import Reply, parse_reply
from signaling.protocol.version import MAX_FRAME_BYTES, SUBPROTOCOL, WELCOME_WAIT_S
from signaling.tls import certificate_problem

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


def backoff_delay(attempt: int, base_s: float, cap_s: float, rng: random.Random | random.SystemRandom) -> float:
    """Full jitter ("Exponential Backoff and Jitter", AWS architecture blog): uniform in
    [0, min(cap, base * 2**attempt)]. ``attempt`` 0 is the first retry after a drop."""
    return rng.uniform(0.0, min(cap_s, base_s * 2 ** min(attempt, 32)))


def ws_urls(server_url: str) -> list[str]:
    """The ``/ws`` URLs of a setting that names one server or several, comma-separated
    ("https://a.example, http://b:8400" -> ["wss://a.example/ws", "ws://b:8400/ws"])."""
    return [("wss://" + u[8:] if u.startswith("https://") else "ws://" + u.removeprefix("http://")) + "/ws"
            for u in server_urls(server_url)]


def server_urls(server_url: str) -> list[str]:
    return [u.strip().rstrip("/") for u in server_url.split(",") if u.strip()]


def http_base(ws_url: str) -> str:
    """The REST base URL of a server's ``/ws`` URL (ws://h:p/ws -> http://h:p)."""
    base = ws_url.removesuffix("/").removesuffix("/ws")
    if base.startswith("wss://"):
        return "https://" + base[6:]
    return "http://" + base.removeprefix("ws://")


class SignalingClient:
    def __init__(
        self,
        url: str | Sequence[str],
        get_token: Callable[[], Awaitable[str]],
        *,
        on_message: Callable[[ServerMessage], Awaitable[None]] | None = None,
        on_state: Callable[[ConnState], None] | None = None,
        app_version: str = "",
        request_timeout_s: float = 10.0,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 2.0,
        open_timeout_s: float = 5.0,
        ping_interval_s: float = 10.0,
        ping_timeout_s: float = 20.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """``url``: the ``/ws`` URL of one server, or of several (tried in turn). ``get_token`` is called before
        every attempt; it should fetch from :attr:`http_url`, the server about to be tried."""
        self.urls: list[str] = [url] if isinstance(url, str) else list(url)
        if not self.urls:
            raise ValueError("at least one server URL is needed")
        self._url_index = 0
        self.get_token = get_token
        self.on_message = on_message
        self.on_state = on_state
        self.app_version = app_version
        self.request_timeout_s = request_timeout_s
        self.backoff_attempt: int | None = None  # the step of the last reconnect wait (0: the first, shortest)
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.open_timeout_s = open_timeout_s
        self.ping_interval_s = ping_interval_s
        self.ping_timeout_s = ping_timeout_s
        self.tls = tls  # for wss:// URLs (signaling.tls.client_context); None there: the system store
        self._rng = random.SystemRandom()  # no shared seed: clients started together must not retry together
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
    @property
    def url(self) -> str:
        """The server this client is connected to, or tries next."""
        return self.urls[self._url_index]

    @property
    def http_url(self) -> str:
        """The REST base URL of :attr:`url` (for ``get_token``: fetch the token from the server being tried)."""
        return http_base(self.url)

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

    async def ask(self, msg: BaseModel) -> Reply:
        """:meth:`request`, with the ``ack`` data parsed as the typed reply of this request type
        (signaling.protocol.replies). Raises RequestFailed if the server's reply does not fit its model."""
        data = await self.request(msg)
        try:
            return parse_reply(str(getattr(msg, "type", "")), data)
        except ValidationError as exc:
            raise RequestFailed("invalid_reply", f"malformed reply to {getattr(msg, 'type', '?')}: {exc}") from None

    async def given_up(self) -> None:
        """Return once the client has stopped trying for good (the server ended it: revoked, replaced, a
        refused credential); it makes no further attempt unless started again."""
        if self._task is not None:
            await asyncio.shield(self._task)

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
        attempt = 0  # retries since the client was last online
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
                self.last_error = self._describe(exc)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # token fetch failed etc.: stay alive and retry
                self.last_error = self._describe(exc)
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
                attempt = 0
            self._url_index = (self._url_index + 1) % len(self.urls)  # that server failed us: try the next
            self._set_state("offline")
            self.backoff_attempt = attempt
            await asyncio.sleep(backoff_delay(attempt, self.backoff_base_s, self.backoff_max_s, self._rng))
            attempt += 1

    def _describe(self, exc: BaseException) -> str:
        """What went wrong, for :attr:`last_error`; an untrusted server certificate says what to configure
        (the attempt is retried all the same: a certificate can be fixed on the server)."""
        bad_cert = certificate_problem(exc, self.tls)
        if bad_cert is not None:
            log.warning("%s", bad_cert)
            return str(bad_cert)
        return f"{type(exc).__name__}: {exc}"

    async def _session(self) -> None:
        token = await self.get_token()
        tls: dict[str, Any] = {"ssl": self.tls} if self.url.startswith("wss:") and self.tls is not None else {}
        async with connect(self.url, subprotocols=[SUBPROTOCOL], max_size=MAX_FRAME_BYTES,  # type: ignore[list-item]
                           compression=None, open_timeout=self.open_timeout_s, ping_interval=self.ping_interval_s,
                           ping_timeout=self.ping_timeout_s, **tls) as ws:
            resume = self.welcome.resume_token if self.welcome else None
            auth = Auth(token=token, resume_token=resume, app_version=self.app_version)
            await ws.send(dump(auth))
            first = parse_server(await asyncio.wait_for(ws.recv(), WELCOME_WAIT_S))
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
