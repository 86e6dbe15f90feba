"""A real coturn (Debian ``turnserver``) for tests, configured from the shipped production template.

``deploy/coturn/turnserver.conf`` is read and only its FILL values, the ports and the log file are replaced,
so the tests exercise the template's own ``denied-peer-ip`` list. The additions are ``no-tcp`` (only the
UDP port is checked free) and ``allow-loopback-peers``: coturn refuses loopback peers outright unless told
otherwise, and on one machine the relay addresses are loopback ones. With it, the template's
``denied-peer-ip=127.0.0.0-127.255.255.255`` is what refuses 127.0.0.1 (tests/test_turn_relay.py proves
it), while ``allowed-peer-ip`` lets exactly the relay address through, as in production (relay address ->
relay address between two clients):

    clients  --TURN over UDP-->  127.0.0.1:<port>  (listening-ip)
    relayed media leaves from    127.0.0.2         (relay-ip, the one allowed peer)
    everything else in 127/8, 10/8, 169.254/16, ...  denied

Linux routes the whole 127/8 to the loopback interface, so 127.0.0.2 needs no setup.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
from dataclasses import dataclass
from pathlib import Path

from aioice import stun

from tests.support import eventually

TEMPLATE = Path(__file__).resolve().parents[1] / "deploy" / "coturn" / "turnserver.conf"
TURNSERVER = "/usr/bin/turnserver"
LISTEN_IP = "127.0.0.1"
RELAY_IP = "127.0.0.2"
REALM = "madoguchi.test"


def _tcp_free(port: int, host: str = LISTEN_IP) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def free_udp_port(host: str = LISTEN_IP) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def free_tcp_port(host: str = LISTEN_IP) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def loopback_config(secret: str, port: int, log_file: Path, pid_file: Path, min_port: int, max_port: int, *,
                    tls: Tls | None = None, tcp: bool = False) -> str:
    """The production template with its FILL values, ports and log file replaced for a loopback test. Without
    ``tls`` the TLS listener is off (``no-tls``); without ``tcp`` the TCP listener too (``no-tcp``: only the UDP
    port was checked free)."""
    text = TEMPLATE.read_text("utf-8")
    values = {
        "static-auth-secret": secret, "realm": REALM, "listening-ip": LISTEN_IP, "listening-port": str(port),
        "relay-ip": RELAY_IP, "allowed-peer-ip": RELAY_IP, "min-port": str(min_port), "max-port": str(max_port),
        "log-file": str(log_file), "tls-listening-port": str(tls.port) if tls else "5349",
        "cert": str(tls.cert_file) if tls else "unused.pem", "pkey": str(tls.key_file) if tls else "unused.key",
    }
    for key, value in values.items():
        text, n = re.subn(rf"^{re.escape(key)}=.*$", f"{key}={value}", text, flags=re.MULTILINE)
        assert n == 1, f"template has no single {key}= line"
    assert "FILL" not in "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    off = ("" if tls else "no-tls\n") + ("" if tcp else "no-tcp\n")
    return text + f"\n# test only\nallow-loopback-peers\n{off}pidfile={pid_file}\nverbose\n"


@dataclass(frozen=True)
class Tls:
    """coturn's TLS listener: its port and the certificate/key it presents."""

    port: int
    cert_file: Path
    key_file: Path


@dataclass
class Coturn:
    """A running ``turnserver``; ``url`` is what the Madoguchi server hands out in its ICE servers."""

    proc: asyncio.subprocess.Process
    port: int
    secret: str
    log_file: Path
    tls_port: int | None = None

    @property
    def url(self) -> str:
        return f"turn:{LISTEN_IP}:{self.port}?transport=udp"

    @property
    def tcp_url(self) -> str:
        return f"turn:{LISTEN_IP}:{self.port}?transport=tcp"

    @property
    def tls_url(self) -> str:
        assert self.tls_port is not None, "started without TLS"
        return f"turns:{LISTEN_IP}:{self.tls_port}?transport=tcp"

    @property
    def address(self) -> tuple[str, int]:
        return (LISTEN_IP, self.port)

    def log(self) -> str:
        return self.log_file.read_text("utf-8", errors="replace") if self.log_file.exists() else ""

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


async def _binding_answered(address: tuple[str, int]) -> bool:
    """One STUN Binding request; True when the server answers it (it is listening)."""
    loop = asyncio.get_running_loop()
    answered: asyncio.Future[bool] = loop.create_future()

    class Probe(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            if not answered.done():
                answered.set_result(True)

    transport, _ = await loop.create_datagram_endpoint(Probe, local_addr=(LISTEN_IP, 0))
    try:
        request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
        transport.sendto(bytes(request), address)
        try:
            return await asyncio.wait_for(answered, 0.2)
        except TimeoutError:
            return False
    finally:
        transport.close()


async def _listening(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection(LISTEN_IP, port)
    except OSError:
        return False
    writer.close()
    return True


async def start_coturn(tmp: Path, secret: str, *, ready_timeout_s: float = 15.0, tls: tuple[Path, Path] | None = None,
                       tcp: bool = False) -> Coturn:
    """Start ``turnserver`` on a free port with the test config; return once it answers STUN (and, with ``tls``
    = (certificate, key) or ``tcp``, once those listeners accept connections)."""
    port = free_udp_port()
    while tcp and not _tcp_free(port):
        port = free_udp_port()
    tls_cfg = Tls(free_tcp_port(), *tls) if tls is not None else None
    base = 40000 + (os.getpid() * 7 + port) % 20000  # a relay port range of our own, unlikely to collide
    conf, log_file, pid_file = tmp / "turnserver.conf", tmp / "turnserver.log", tmp / "turnserver.pid"
    conf.write_text(loopback_config(secret, port, log_file, pid_file, base, base + 199, tls=tls_cfg, tcp=tcp),
                    "utf-8")
    proc = await asyncio.create_subprocess_exec(TURNSERVER, "-c", str(conf), stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.DEVNULL, start_new_session=True)
    server = Coturn(proc, port, secret, log_file, tls_cfg.port if tls_cfg else None)
    async def ready() -> bool:
        if proc.returncode is not None:
            raise RuntimeError(f"turnserver exited with {proc.returncode}:\n{server.log()[-2000:]}")
        return (await _binding_answered(server.address) and (tls_cfg is None or await _listening(tls_cfg.port))
                and (not tcp or await _listening(port)))

    try:
        await eventually(ready, timeout=ready_timeout_s, step=0.05, what="turnserver listening")
    except BaseException:
        await server.stop()
        raise
    return server
