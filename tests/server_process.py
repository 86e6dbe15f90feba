"""A real server in its own process, started as an operator starts it (``madoguchi server``: the CLI's logging
setup included), with its stderr captured in a file and, optionally, its own open-file limit."""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from server.settings import Settings
from tests.support import WAIT_S, eventually

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _limit_files(n: int) -> Callable[[], None]:
    def apply() -> None:  # runs in the child between fork and exec: `ulimit -n n`
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, hard))

    return apply


class ServerProcess:
    def __init__(self, settings: Settings, tmp: Path, *, nofile: int | None = None, **env: str) -> None:
        self.port = free_port()
        self.log_path = tmp / f"server-{self.port}.log"
        full = {**os.environ, "MADOGUCHI_DATABASE_URL": settings.database_url, "MADOGUCHI_PORT": str(self.port),
                "MADOGUCHI_SECRET_KEY": settings.secret_key, "MADOGUCHI_MEDIA_GRACE_S": str(settings.media_grace_s),
                "MADOGUCHI_OFFER_TIMEOUT_S": str(settings.offer_timeout_s), "MADOGUCHI_LOG_JSON": "true", **env}
        self._log = open(self.log_path, "w")  # closed in stop()
        self.proc = subprocess.Popen([sys.executable, "-m", "server.cli", "server"], env=full, cwd=ROOT,
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     preexec_fn=_limit_files(nofile) if nofile else None)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def ready(self) -> None:
        async with httpx.AsyncClient() as http:

            async def healthy() -> bool:
                assert self.proc.poll() is None, f"server exited: {self.log_path.read_text()[-2000:]}"
                try:
                    return (await http.get(self.url + "/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(healthy, timeout=max(60.0, WAIT_S), step=0.1, what="server process healthy")

    def log_text(self) -> str:
        self._log.flush()
        return self.log_path.read_text("utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
