"""TLS for kiosk and console: the server is always verified (certificate chain and host name).

The trust anchor is the CA file the program is configured with (``MADOGUCHI_KIOSK_CA_FILE`` /
``MADOGUCHI_CONSOLE_CA_FILE``, else ``MADOGUCHI_CA_FILE``), or the operating system's store when none is set.
There is no switch to turn verification off: a municipal network's own CA goes into the CA file. Plain
``http://`` / ``ws://`` URLs use no TLS at all (``make demo`` on loopback).

Exceptions::

    ServerCertificateError   the server's certificate is not trusted, or the CA file cannot be read
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

CA_ENV = "MADOGUCHI_CA_FILE"


class ServerCertificateError(Exception):
    pass


def client_context(ca_file: str | Path | None = None) -> ssl.SSLContext:
    """A verifying client context: ``ca_file``, else ``$MADOGUCHI_CA_FILE``, else the system store."""
    path = str(ca_file or os.environ.get(CA_ENV) or "") or None
    try:
        ctx = ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        raise ServerCertificateError(f"cannot read the CA file {path}: {exc}") from None
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.ca_file = path  # type: ignore[attr-defined]  # for error messages
    return ctx


def certificate_problem(exc: BaseException, ctx: ssl.SSLContext | None) -> ServerCertificateError | None:
    """If ``exc`` (or what caused it) is a failed certificate check, a clear error saying what to fix."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ssl.SSLCertVerificationError):
            anchor = getattr(ctx, "ca_file", None) or "the system's trusted certificates"
            return ServerCertificateError(
                f"the server's certificate is not trusted ({cur.verify_message or cur.reason}); it was checked "
                f"against {anchor}: set MADOGUCHI_CA_FILE (or the program's own CA_FILE setting) to the CA that "
                f"signed the server's certificate")
        cur = cur.__cause__ or cur.__context__
    return None
