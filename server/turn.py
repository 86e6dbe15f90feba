"""ICE servers for clients: configured STUN/TURN, TURN REST credentials when a secret is set.

TURN REST (coturn ``use-auth-secret``): username = "<expiry unix time>:<peer>",
credential = base64(HMAC-SHA1(secret, username)). coturn checks the expiry against its own clock on
every request (allocate, refresh, permission), so a credential must outlive the call it serves: clients
get one in the welcome and a fresh one with each ``session.start`` (see ``server/app.py``).

Only principals who take part in calls get ICE servers at all: kiosks, specialists and supervisors
(who join calls) in their welcome; a browser guest (family, interpreter, ...) only once admitted to its
one call, with that call's ``session.start``. IT monitors and administrators make no calls and get none —
a TURN credential is a relay on the network edge, not something to hand to every account.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any

from server.settings import Settings
from signaling.protocol.messages import SessionStart
from signaling.protocol.models import IceServer, IceTransportPolicy

TURN_ROLES = frozenset({"kiosk", "specialist", "supervisor", "partner"})  # partner: invited into calls


def turn_credential(secret: str, peer: str, expires_at: int) -> tuple[str, str]:
    """(username, credential) of the TURN REST scheme, valid until ``expires_at`` (unix seconds)."""
    user = f"{expires_at}:{peer}"
    digest = hmac.new(secret.encode(), user.encode(), hashlib.sha1).digest()
    return user, base64.b64encode(digest).decode()


def ice_servers_for(settings: Settings, peer: str, role: str, now: float | None = None) -> list[IceServer]:
    """The ICE servers for one principal; ``now`` (unix seconds, default the wall clock) dates the credential."""
    if role not in TURN_ROLES:
        return []
    return _with_credentials(settings, peer, now)


def _with_credentials(settings: Settings, peer: str, now: float | None) -> list[IceServer]:
    expires_at = int(time.time() if now is None else now) + settings.turn_ttl_s
    out: list[IceServer] = []
    for server in settings.ice_servers:
        is_turn = any(u.startswith(("turn:", "turns:")) for u in server.urls)
        if is_turn and settings.turn_secret and server.username is None:
            user, credential = turn_credential(settings.turn_secret, peer, expires_at)
            out.append(IceServer(urls=server.urls, username=user, credential=credential))
        else:
            out.append(server)
    return out


def call_credentials(settings: Settings, clock: Callable[[], float] = time.time) -> Callable[[str, Any], Any]:
    """The delivery stamp: each ``session.start`` leaves with ICE servers minted for its recipient now (only
    call participants — kiosks, specialists, supervisors — are ever sent one). Without ICE servers
    configured, frames are left as they are."""

    def stamp(peer: str, msg: Any) -> Any:
        if isinstance(msg, SessionStart) and settings.ice_servers:
            return msg.model_copy(update={"ice_servers": _with_credentials(settings, peer, clock())})
        return msg

    return stamp


def ice_transport_policy(settings: Settings) -> IceTransportPolicy:
    return "relay" if settings.ice_relay_only else "all"
