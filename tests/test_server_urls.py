"""Kiosk and console settings name several server nodes; REST calls skip a node that cannot be reached."""

from __future__ import annotations

import socket

from kiosk.settings import KioskSettings
from staff_console.services.server_api import StaffApi
from staff_console.settings import ConsoleSettings
from tests.support import Env


def test_settings_list_several_nodes() -> None:
    for cls in (KioskSettings, ConsoleSettings):
        s = cls(server_url="https://a.example.lg.jp, http://10.0.0.2:8400/ ")  # type: ignore[call-arg]
        assert s.server_urls == ["https://a.example.lg.jp", "http://10.0.0.2:8400"]
        assert s.ws_urls == ["wss://a.example.lg.jp/ws", "ws://10.0.0.2:8400/ws"]
        assert s.ws_url == "wss://a.example.lg.jp/ws"


def _dead_url() -> str:
    with socket.socket() as sock:  # a port nobody listens on once this closes
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_console_rest_skips_a_node_that_is_down(sqlite_env: Env) -> None:
    api = StaffApi([_dead_url(), sqlite_env.url])
    staff = await api.login("sato", "madoguchi-demo")
    assert staff["username"] == "sato" and api.server_url == sqlite_env.url
    assert isinstance(await api.services(), list)  # stays on the node that answered
