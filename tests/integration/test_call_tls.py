"""HTTPS/WSS end to end (issue 10, Transport): the server serves TLS itself with a certificate from a test CA
made here, kiosk and console verify it against that CA file and hold a real call (real aiortc media, chat);
given another CA they refuse the server with a clear error."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kiosk.controller import KioskController
from kiosk.settings import KioskSettings
from signaling.observer import wait_for
from signaling.tls import ServerCertificateError, client_context
from staff_console.controller import StaffController
from staff_console.settings import ConsoleSettings
from tests.integration.calls import SMALL, kiosk_controller, staff_controller
from tests.support import WAIT_S, Env, eventually, make_settings, server_env


@dataclass
class Pki:
    ca_file: Path
    other_ca_file: Path  # a CA that did not sign the server's certificate
    cert_file: Path
    key_file: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Madoguchi test"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca(cn: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn)).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False),
                           critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def make_pki(tmp: Path) -> Pki:
    ca_key, ca = _ca("Madoguchi test CA")
    _, other = _ca("Some other CA")
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pki = Pki(tmp / "ca.pem", tmp / "other-ca.pem", tmp / "server.pem", tmp / "server.key")
    pki.ca_file.write_bytes(_pem(ca))
    pki.other_ca_file.write_bytes(_pem(other))
    pki.cert_file.write_bytes(_pem(cert))
    pki.key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    pki.key_file.chmod(0o600)
    return pki


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
