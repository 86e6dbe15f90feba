"""Guest access tokens: what a browser guest's one-time link is traded for (server/queue/guests.py).

A JWT like the staff and kiosk tokens (HS256, the same required claims) but with ``typ`` ``"guest"`` and
subject ``guest:<invitation id>``: :func:`server.auth.decode_token` refuses it ("not an access token"), so a
guest token opens no REST route and no staff or kiosk socket; only the ``/ws`` handshake accepts it, as a
guest principal that may take part in its one call.
"""

from __future__ import annotations

import time

import jwt

from server.auth import ALGORITHM, InvalidToken, verified_payload

GUEST_TYP = "guest"


def issue_guest_token(key: str, invitation_id: int, ttl_s: int) -> str:
    now = int(time.time())
    payload = {"sub": f"guest:{invitation_id}", "role": "guest", "iat": now, "exp": now + ttl_s, "typ": GUEST_TYP,
               "ver": 0}
    return jwt.encode(payload, key, algorithm=ALGORITHM)


def is_guest_token(token: str) -> bool:
    """Whether the token *claims* to be a guest's (unverified: only to choose how to check it)."""
    try:
        return jwt.decode(token, options={"verify_signature": False}).get("typ") == GUEST_TYP
    except jwt.PyJWTError:
        return False


def decode_guest_token(key: str, token: str) -> int:
    """The invitation id of a valid guest token."""
    data = verified_payload(key, token)
    kind, _, pid = str(data["sub"]).partition(":")
    if data.get("typ") != GUEST_TYP or kind != "guest" or not pid.isdigit():
        raise InvalidToken("not a guest token")
    return int(pid)
