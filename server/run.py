"""Run uvicorn with the edge limits of DESIGN §5 (websockets sansio, 64 KiB frames, no deflate, ping 10 s)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import uvicorn

from server.app import create_app
from server.edge.guard import ACCEPT_BACKLOG, ConnectionGuard, GuardedH11Protocol
from server.queue.clock import Clock
from server.settings import Settings
from signaling.protocol.version import MAX_FRAME_BYTES, PING_INTERVAL_S
from signaling.tasks import within


def uvicorn_config(settings: Settings, port: int | None = None, clock: Clock | None = None) -> uvicorn.Config:
    # h11 and the websockets sansio implementation (never wsproto: it has no frame size limit), wrapped by the
    # connection guard: caps per client address and per node, and a deadline for every request
    http, ws = ConnectionGuard.from_settings(settings).protocols()
    if bool(settings.tls_cert) != bool(settings.tls_key):
        raise ValueError("MADOGUCHI_TLS_CERT and MADOGUCHI_TLS_KEY go together: set both (HTTPS) or neither")
    return uvicorn.Config(
        create_app(settings, clock=clock),
        host=settings.host,
        port=settings.port if port is None else port,
        http=http,
        ws=ws,
        backlog=ACCEPT_BACKLOG,
        ws_max_size=MAX_FRAME_BYTES,
        ws_per_message_deflate=False,
        ws_ping_interval=PING_INTERVAL_S,
        ws_ping_timeout=PING_INTERVAL_S * 2,
        log_config=None,
        access_log=False,
        lifespan="on",
        ssl_certfile=settings.tls_cert or None,  # HTTPS/WSS; kiosk and console verify it (signaling/tls.py)
        ssl_keyfile=settings.tls_key or None,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise: only the configured proxies
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies) or None,
    )


def serve(settings: Settings) -> None:
    uvicorn.Server(uvicorn_config(settings)).run()


@dataclass
class RunningServer:
    server: uvicorn.Server
    port: int
    task: asyncio.Task[None]
    tls: bool = False

    @property
    def http_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://127.0.0.1:{self.port}/ws"

    @property
    def guard(self) -> ConnectionGuard:
        protocol = self.server.config.http_protocol_class
        assert issubclass(protocol, GuardedH11Protocol)
        return protocol.guard

    async def stop(self, grace_s: float = 15.0) -> None:
        """Graceful shutdown; connections still open after ``grace_s`` are cut (uvicorn's force exit) rather
        than the stop failing: on a loaded machine the graceful part alone can take longer. If the application's
        own shutdown still has not ended ``grace_s`` later, the server's task is cancelled and the overrun logged:
        a stop always returns (an unbounded wait here once held a test until pytest-timeout's 300 s)."""
        self.server.should_exit = True
        done, _ = await asyncio.wait([self.task], timeout=grace_s)
        if not done:
            self.server.force_exit = True
            await within(grace_s, f"the server on port {self.port}", asyncio.shield(self.task))
        if not self.task.done():
            self.task.cancel()
            await asyncio.wait([self.task], timeout=grace_s)
        if self.task.done() and not self.task.cancelled():
            self.task.result()  # the server's own error, if it had one


async def start_server(settings: Settings, port: int = 0, clock: Clock | None = None) -> RunningServer:
    """Start a real uvicorn server in this event loop (port 0: an ephemeral one; ``clock``: see create_app)."""
    return await start_uvicorn(uvicorn_config(settings, port=port, clock=clock), tls=bool(settings.tls_cert))


async def start_uvicorn(config: uvicorn.Config, tls: bool = False) -> RunningServer:
    """Start uvicorn with ``config`` in this event loop; returns once it listens."""
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server exited during start-up")
        await asyncio.sleep(0.02)
    sock = server.servers[0].sockets[0]
    return RunningServer(server=server, port=int(sock.getsockname()[1]), task=task, tls=tls)


@contextlib.asynccontextmanager
async def running_server(settings: Settings, port: int = 0) -> AsyncIterator[RunningServer]:
    srv = await start_server(settings, port)
    try:
        yield srv
    finally:
        await srv.stop()
