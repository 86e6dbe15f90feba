"""ICE servers for the welcome: configured STUN/TURN, TURN REST credentials when a secret is set.

TURN REST (coturn ``use-auth-secret``): username = "<expiry>:<peer>",
credential = base64(HMAC-SHA1(secret, username)).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from server.settings import Settings
from signaling.protocol.models import IceServer


def ice_servers_for(settings: Settings, peer: str) -> list[IceServer]:
    out: list[IceServer] = []
    for server in settings.ice_servers:
        is_turn = any(u.startswith(("turn:", "turns:")) for u in server.urls)
        if is_turn and settings.turn_secret and server.username is None:
            user = f"{int(time.time()) + settings.turn_ttl_s}:{peer}"
            digest = hmac.new(settings.turn_secret.encode(), user.encode(), hashlib.sha1).digest()
            out.append(IceServer(urls=server.urls, username=user, credential=base64.b64encode(digest).decode()))
        else:
            out.append(server)
    return out
