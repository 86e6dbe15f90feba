"""Passwords (argon2), device credentials, and short-lived JWT access tokens.

Tokens carry ``sub`` ("staff:<id>" or "kiosk:<id>"), ``role``, ``iat``, ``exp``,
``typ`` and ``ver`` (the account's token version when issued: a password reset,
role change or disable bumps it, and older tokens are refused); the algorithm is
fixed (HS256) and every claim is required. ``typ`` is "access" for the REST API
and ``/ws``, or "monitor" for the ``/monitor/feed`` only (a wall display's renewed
credential, never usable elsewhere).

Exceptions::

    AuthError
     ├── InvalidCredentials   wrong password, code or device secret
     └── InvalidToken         malformed, expired, wrong type
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
ALGORITHM = "HS256"
REQUIRED = ["sub", "role", "iat", "exp", "typ", "ver"]
TokenType = Literal["access", "monitor"]


class AuthError(Exception):
    pass


class InvalidCredentials(AuthError):
    pass


class InvalidToken(AuthError):
    pass


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(hashed: str | None, secret: str) -> bool:
    if not hashed:
        return False
    try:
        return _hasher.verify(hashed, secret)
    except (VerificationError, InvalidHashError):
        return False


def new_device_secret() -> str:
    return secrets.token_urlsafe(32)


def new_enroll_code() -> str:
    """Eight digits: easy to type on a touch screen, valid briefly and once."""
    return f"{secrets.randbelow(10**8):08d}"


@dataclass(frozen=True)
class Claims:
    kind: Literal["staff", "kiosk"]
    principal_id: int
    role: str
    exp: float
    ver: int = 0
    typ: TokenType = "access"

    @property
    def peer(self) -> str:
        return f"{self.kind}:{self.principal_id}"


def issue_token(key: str, kind: Literal["staff", "kiosk"], principal_id: int, role: str, ttl_s: int, *,
                ver: int = 0, typ: TokenType = "access") -> str:
    now = int(time.time())
    payload = {"sub": f"{kind}:{principal_id}", "role": role, "iat": now, "exp": now + ttl_s, "typ": typ, "ver": ver}
    return jwt.encode(payload, key, algorithm=ALGORITHM)


def verified_payload(key: str, token: str) -> dict[str, Any]:
    """The claims of a token signed with ``key``, unexpired and carrying every required claim."""
    try:
        return dict(jwt.decode(token, key, algorithms=[ALGORITHM], options={"require": REQUIRED}))
    except jwt.ExpiredSignatureError:
        raise InvalidToken("token expired") from None
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"invalid token: {exc}") from None


def decode_token(key: str, token: str, *, accept: tuple[TokenType, ...] = ("access",)) -> Claims:
    data = verified_payload(key, token)
    typ = data.get("typ")
    if typ not in accept:
        raise InvalidToken("not an access token" if typ != "access" else "not a monitor credential")
    kind, _, pid = str(data["sub"]).partition(":")
    if kind not in ("staff", "kiosk") or not pid.isdigit():
        raise InvalidToken("bad subject")
    ver = data["ver"]
    if not isinstance(ver, int) or isinstance(ver, bool):
        raise InvalidToken("bad token version")
    return Claims(kind=kind, principal_id=int(pid), role=str(data["role"]), exp=float(data["exp"]),  # type: ignore[arg-type]
                  ver=ver, typ=typ)
