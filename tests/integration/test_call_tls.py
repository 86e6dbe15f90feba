"""HTTPS/WSS end to end (issue 10, Transport): the server serves TLS itself with a certificate from a test CA
made here, kiosk and console verify it against that CA file and hold a real call (real aiortc media, chat);
given another CA they refuse the server with a clear error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from kiosk.controller import KioskController
from kiosk.settings import KioskSettings
from signaling.observer import wait_for
from signaling.tls import ServerCertificateError, client_context
from staff_console.controller import StaffController
from staff_console.settings import ConsoleSettings
from tests.integration.calls import SMALL, kiosk_controller, staff_controller
from tests.pki import Pki, make_pki
from tests.support import WAIT_S, Env, eventually, make_settings, server_env


@pytest.fixture
async def tls_env(tmp_path: Path) -> AsyncIterator[tuple[Env, Pki]]:
    pki = make_pki(tmp_path)
    settings = make_settings(tmp_path, "sqlite", tls_cert=str(pki.cert_file), tls_key=str(pki.key_file))
    async with server_env(settings, tls=client_context(pki.ca_file)) as env:
        yield env, pki


async def test_call_over_https_and_wss(tls_env: tuple[Env, Pki], tmp_path: Path) -> None:
    env, pki = tls_env
    assert env.url.startswith("https://") and env.server.ws_url.startswith("wss://")
    console = await staff_controller(env, "takahashi", ca_file=pki.ca_file)
    kiosk = await kiosk_controller(env, tmp_path, "bihoro", ca_file=pki.ca_file)
    try:
        assert console.client is not None and console.client.url.startswith("wss://")
        assert kiosk.client.url.startswith("wss://")
        assert await console.set_available()
        offer = asyncio.ensure_future(wait_for(console, "offer", WAIT_S))
        kiosk.begin()
        assert await kiosk.request_service("employment", [])
        await offer
        started = asyncio.ensure_future(wait_for(kiosk, "call_started", WAIT_S))
        connected = asyncio.ensure_future(wait_for(console, "call_status", WAIT_S,
                                                   lambda d: d["status"] == "connected"))
        assert await console.accept()
        await started
        await connected
        for side in (kiosk, console):  # real media both ways (DTLS-SRTP, peer to peer, beside the server's TLS)
            await eventually(lambda s=side: s.mesh is not None and s.mesh.link() is not None  # type: ignore[misc]
                             and s.mesh.link().call.video_frames_received > 10, what="video")
        chat = asyncio.ensure_future(wait_for(kiosk, "chat", WAIT_S, lambda d: d["who"] != "me"))
        assert console.send_chat("TLS の確認です")
        assert (await chat)["text"] == "TLS の確認です"
        ended = asyncio.ensure_future(wait_for(console, "call_ended", WAIT_S))
        await kiosk.hang_up()
        await ended
        assert await console.save_note("就労支援", "TLS 経由の相談")  # REST over HTTPS
        assert await console.finish_wrapup()
    finally:
        await kiosk.stop()
        await console.stop()


async def test_wrong_ca_is_refused_with_a_clear_error(tls_env: tuple[Env, Pki], tmp_path: Path) -> None:
    env, pki = tls_env
    console = StaffController(ConsoleSettings(server_url=env.url, ca_file=pki.other_ca_file,  # type: ignore[call-arg]
                                              **SMALL))  # type: ignore[arg-type]
    with pytest.raises(ServerCertificateError) as info:
        await console.login("takahashi", "madoguchi-demo")
    assert "not trusted" in str(info.value) and str(pki.other_ca_file) in str(info.value)
    await console.stop()
    # a kiosk enrolled earlier, now given the wrong CA: it never goes online and says why
    kiosk = await kiosk_controller(env, tmp_path, "bihoro", ca_file=pki.ca_file)
    await kiosk.stop()
    wrong = KioskController(KioskSettings(server_url=env.url, credential_file=tmp_path / "k.json",  # type: ignore[call-arg]
                                          ca_file=pki.other_ca_file, **SMALL), kiosk.credential)  # type: ignore[arg-type]
    await wrong.start()
    try:
        await eventually(lambda: "not trusted" in wrong.client.last_error, what="a clear certificate error")
        assert str(pki.other_ca_file) in wrong.client.last_error
        assert wrong.client.state != "online"
    finally:
        await wrong.stop()
    # and a client with no CA configured (the system store) does not trust a private CA either
    async with httpx.AsyncClient(base_url=env.url, verify=client_context(None)) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get("/healthz")
