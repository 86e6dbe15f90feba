"""Why a TURN server gave no relayed candidate: aiortc drops the reason, this asks again and keeps it.

aioice gathers a relayed candidate in a task whose exception it discards: with a wrong or expired TURN
REST credential the allocation gets ``401 Unauthorized`` and the peer connection simply has no relay
candidate (and, relay-only, no candidate at all: it would wait for ever). :func:`probe_turn` makes one
allocation with exactly the server and credential aiortc used (aiortc's own ``connection_kwargs`` picks
them) and maps the answer:

- ``401`` / ``438`` (after aioice's own retry with realm and nonce) → ``"turn_auth"``: the credential is
  wrong (the server's MADOGUCHI_TURN_SECRET differs from coturn's static-auth-secret) or expired;
- no answer within the timeout, or an unreachable address → ``"turn_unreachable"``;
- an allocation granted now → ``None`` (the first attempt failed for a passing reason);
- any other error code (e.g. ``486`` allocation quota) → ``"turn_unreachable"`` with the code in the detail.

It is called only when a configured TURN server produced no relayed candidate, so a working TURN costs
nothing extra. Never imported by the server.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aioice import stun, turn
from aiortc import RTCIceServer
from aiortc.rtcicetransport import connection_kwargs

from signaling.protocol.models import IceServer, MediaError

log = logging.getLogger("madoguchi.turn")
AUTH_CODES = (401, 438)


@dataclass(frozen=True)
class TurnProblem:
    code: MediaError
    detail: str  # for logs and the technical line of a message: server, error code; never the credential


def has_turn(ice_servers: list[IceServer]) -> bool:
    return any(u.startswith(("turn:", "turns:")) for s in ice_servers for u in s.urls)


class _Sink(asyncio.DatagramProtocol):
    pass


async def probe_turn(ice_servers: list[IceServer], timeout_s: float = 3.0) -> TurnProblem | None:
    """One TURN allocation with the TURN server and credential aiortc uses; the problem, or None if granted."""
    kwargs = connection_kwargs([RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
                                for s in ice_servers])
    server = kwargs.get("turn_server")
    if server is None:
        return None
    where = f"{server[0]}:{server[1]}"
    try:
        async with asyncio.timeout(timeout_s):
            transport, _ = await turn.create_turn_endpoint(
                _Sink, server_addr=server, username=kwargs.get("turn_username"),
                password=kwargs.get("turn_password"), ssl=kwargs.get("turn_ssl", False),
                transport=kwargs.get("turn_transport", "udp"))
    except stun.TransactionFailed as exc:
        code, reason = exc.response.attributes.get("ERROR-CODE", (0, "no error code"))
        kind: MediaError = "turn_auth" if code in AUTH_CODES else "turn_unreachable"
        return TurnProblem(kind, f"TURN {where} refused the allocation: {code} {reason}")
    except (TimeoutError, stun.TransactionTimeout):
        return TurnProblem("turn_unreachable", f"TURN {where} did not answer within {timeout_s:g} s")
    except (OSError, ConnectionError) as exc:
        return TurnProblem("turn_unreachable", f"TURN {where} unreachable: {exc}")
    transport.close()  # granted: release the allocation at once (a REFRESH with lifetime 0)
    log.info("TURN %s granted an allocation on a second try", where)
    return None
