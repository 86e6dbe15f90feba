"""A small IPP/1.1 client (RFC 8010/8011) for the CUPS scheduler on the kiosk's machine: just what printing needs.

Why IPP and not ``lp``/``lpstat`` or pycups: the CLI's output is text for people (it changes with the locale and
the CUPS version, and a job's final state or a printer's ``media-empty`` reason is not in it reliably), and
pycups is a C extension that needs libcups headers to build. IPP is the protocol CUPS itself speaks: typed
states (``job-state`` 9 = completed), reason keywords (``media-empty-error``), status codes
(``client-error-not-found``), over HTTP to the scheduler's socket or port — httpx is already a dependency.

``server``: a Unix socket path (``/run/cups/cups.sock``) or ``host:port`` (``localhost:631``), as CUPS_SERVER.

Exceptions::

    IppError                 the scheduler cannot be reached or answered something that is not IPP
"""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass, field
from typing import Any

import httpx

# operations
PRINT_JOB = 0x0002
CANCEL_JOB = 0x0008
GET_JOB_ATTRIBUTES = 0x0009
GET_PRINTER_ATTRIBUTES = 0x000B
# status codes
OK_MAX = 0x00FF
NOT_FOUND = 0x0406
NOT_ACCEPTING = 0x0506
# delimiter tags
OPERATION, JOB, END, PRINTER = 0x01, 0x02, 0x03, 0x04
# value tags
INTEGER, BOOLEAN, ENUM = 0x21, 0x22, 0x23
TEXT_LANG, NAME_LANG = 0x35, 0x36
TEXT, NAME, KEYWORD, URI, CHARSET, LANGUAGE, MIME = 0x41, 0x42, 0x44, 0x45, 0x47, 0x48, 0x49
# job-state
JOB_PENDING, JOB_HELD, JOB_PROCESSING, JOB_STOPPED, JOB_CANCELED, JOB_ABORTED, JOB_COMPLETED = range(3, 10)
# printer-state
PRINTER_IDLE, PRINTER_PROCESSING, PRINTER_STOPPED = 3, 4, 5

Value = int | bool | str | bytes | None


class IppError(Exception):
    """The scheduler cannot be reached, or what came back is not an IPP response."""


@dataclass
class IppResponse:
    status: int
    groups: list[tuple[int, dict[str, list[Value]]]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status <= OK_MAX

    def first(self, tag: int) -> dict[str, list[Value]]:
        return next((attrs for t, attrs in self.groups if t == tag), {})


def _attr(tag: int, name: str, value: int | bool | str) -> bytes:
    if tag in (INTEGER, ENUM):
        raw = struct.pack("!i", int(value))
    elif tag == BOOLEAN:
        raw = b"\x01" if value else b"\x00"
    else:
        raw = str(value).encode()
    return struct.pack("!BH", tag, len(name)) + name.encode() + struct.pack("!H", len(raw)) + raw


Attr = tuple[int, str, int | bool | str | tuple[str, ...]]  # a tuple: a 1setOf, its values in order


def encode(operation: int, request_id: int, attrs: list[Attr]) -> bytes:
    """An IPP/1.1 request: the operation attributes (charset and language first, as the RFC requires)."""
    out = bytearray(struct.pack("!BBHI", 1, 1, operation, request_id))
    out.append(OPERATION)
    out += _attr(CHARSET, "attributes-charset", "utf-8")
    out += _attr(LANGUAGE, "attributes-natural-language", "en")
    for tag, name, value in attrs:
        values = value if isinstance(value, tuple) else (value,)
        for i, v in enumerate(values):
            out += _attr(tag, "" if i else name, v)  # further values of a 1setOf have no name
    out.append(END)
    return bytes(out)


def _value(tag: int, raw: bytes) -> Value:
    if tag in (INTEGER, ENUM) and len(raw) == 4:
        return int(struct.unpack("!i", raw)[0])
    if tag == BOOLEAN and len(raw) == 1:
        return raw != b"\x00"
    if tag in (TEXT_LANG, NAME_LANG) and len(raw) >= 4:  # language length, language, text length, text
        n = struct.unpack_from("!H", raw)[0]
        return raw[4 + n:].decode(errors="replace")
    if 0x40 <= tag <= 0x4F:
        return raw.decode(errors="replace")
    if 0x10 <= tag <= 0x1F:  # out of band: unsupported, unknown, no-value
        return None
    return raw  # dates, ranges, collections: not needed here, kept as bytes


def decode(body: bytes) -> IppResponse:
    """An IPP response; IppError when it is cut short or not IPP."""
    try:
        _major, _minor, status, _rid = struct.unpack_from("!BBHI", body)
        pos = 8
        resp = IppResponse(status)
        attrs: dict[str, list[Value]] | None = None
        last = ""
        while True:
            tag = body[pos]
            pos += 1
            if tag == END:
                return resp
            if tag < 0x10:  # a new group
                attrs = {}
                resp.groups.append((tag, attrs))
                continue
            n = struct.unpack_from("!H", body, pos)[0]
            name = body[pos + 2:pos + 2 + n].decode(errors="replace")
            pos += 2 + n
            m = struct.unpack_from("!H", body, pos)[0]
            raw = body[pos + 2:pos + 2 + m]
            if len(raw) != m:
                raise IppError("IPP response cut short")
            pos += 2 + m
            if attrs is None:
                raise IppError("IPP attribute outside a group")
            if name:
                last = name
                attrs[name] = [_value(tag, raw)]
            elif last:
                attrs[last].append(_value(tag, raw))  # an additional value of the attribute before
    except (struct.error, IndexError) as exc:
        raise IppError(f"not an IPP response: {exc}") from None


class IppClient:
    def __init__(self, server: str, *, timeout_s: float = 10.0) -> None:
        self.server = server
        if server.startswith("/"):
            self._base = "http://localhost"
            transport = httpx.AsyncHTTPTransport(uds=server)
        else:
            hostport = server.removeprefix("http://").removeprefix("ipp://").rstrip("/")
            self._base = f"http://{hostport if ':' in hostport else hostport + ':631'}"
            transport = httpx.AsyncHTTPTransport()
        self._http = httpx.AsyncClient(transport=transport, timeout=timeout_s)
        self._ids = itertools.count(1)

    async def close(self) -> None:
        await self._http.aclose()

    async def request(self, operation: int, path: str, attrs: list[Attr],
                      document: bytes = b"") -> IppResponse:
        """POST one request to ``path`` (``/printers/NAME``, ``/jobs/ID``); the decoded response."""
        body = encode(operation, next(self._ids), attrs) + document
        try:
            reply = await self._http.post(self._base + path, content=body,
                                          headers={"Content-Type": "application/ipp"})
        except httpx.HTTPError as exc:
            raise IppError(f"CUPS at {self.server} cannot be reached: {exc}") from None
        if reply.status_code != 200 or not reply.headers.get("content-type", "").startswith("application/ipp"):
            raise IppError(f"CUPS at {self.server} answered HTTP {reply.status_code}")
        return decode(reply.content)


def keywords(attrs: dict[str, list[Any]], name: str) -> list[str]:
    return [v for v in attrs.get(name, []) if isinstance(v, str)]


def integer(attrs: dict[str, list[Any]], name: str) -> int | None:
    values = attrs.get(name) or [None]
    return values[0] if isinstance(values[0], int) and not isinstance(values[0], bool) else None
