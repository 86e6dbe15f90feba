"""Read UDP datagrams in batches: the media sockets of a call must keep up with the media under CPU load.

asyncio's selector event loop reads **one** datagram per readiness wake of a socket
(``_SelectorDatagramTransport._read_ready``). aiortc/aioice receive all of a link's media, RTCP, SCTP (data
channel) and ICE consent checks on one such socket, so a link can never take in more datagrams per second than
the event loop turns. On a busy machine a turn costs milliseconds; a camera's RTP alone is 30-150 datagrams a
second per link and a three-way mesh has two links per process. Measured beside two CPU hogs (the CI load):
the kiosk's and the console's ICE sockets sat with their receive queue full (~520 KB of 524 KB, ``ss -uampn``)
and hundreds of drops each; heartbeats, frames and ICE consent answers were lost with the rest, the links were
declared "stalled" (5 s without a frame or heartbeat) or closed by ICE consent expiry, and the mesh healed
healthy links over and over (issue 9's note, §2b).

:func:`install` makes the stdlib's datagram transport drain up to :data:`BATCH` datagrams per wake, as libuv
(uvloop) does with ``recvmmsg``. The method is the stdlib's own, in a loop; it stops when the socket is empty,
the transport is closed, or after :data:`BATCH` datagrams so that one busy socket cannot starve the rest of the
loop. It applies to transports created after :func:`install` (the reader is bound when a transport is made),
and to the selector event loop only: qasync's loop is one; other loops (uvloop) already read in batches.
"""

from __future__ import annotations

import logging
from asyncio import selector_events
from typing import Any

log = logging.getLogger("madoguchi.udp")

BATCH = 64  # datagrams per wake at most: ~90 KB of media, a fraction of a millisecond of work to hand on

_transport: Any = getattr(selector_events, "_SelectorDatagramTransport", None)
_stdlib_read_ready: Any = getattr(_transport, "_read_ready", None)


def _read_ready_batched(self: Any) -> None:
    for _ in range(BATCH):
        if self._conn_lost:
            return
        try:
            data, addr = self._sock.recvfrom(self.max_size)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._protocol.error_received(exc)
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal read error on datagram transport")
            return
        self._protocol.datagram_received(data, addr)


def installed() -> bool:
    """Whether datagram transports made from now on read in batches."""
    return _transport is not None and getattr(_transport, "_read_ready", None) is _read_ready_batched


def install() -> bool:
    """Make asyncio's datagram transports read in batches (idempotent); False if this Python's asyncio has not
    the expected shape (then nothing is changed and a warning is logged)."""
    if installed():
        return True
    if _transport is None or not all(hasattr(_transport, name) for name in ("_read_ready", "_fatal_error",
                                                                            "max_size")):
        log.warning("asyncio has no selector datagram transport of the known shape: UDP is read one datagram "
                    "per wake, and media may be dropped under CPU load")
        return False
    _transport._read_ready = _read_ready_batched
    return True


__all__ = ["BATCH", "install", "installed"]
