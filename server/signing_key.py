"""The token signing key: refused at start when it is the published development value or too short.

``madoguchi server`` (and every other way of building the app) calls :func:`check_signing_key`; the demo
makes a fresh random key for its own server, and ``MADOGUCHI_DEV_INSECURE=1`` lets a developer run with the
built-in one (a warning is logged). ``madoguchi keygen`` prints a new key.
"""

from __future__ import annotations

import logging
import secrets

from server.settings import DEV_SECRET_KEY, Settings

log = logging.getLogger("madoguchi.auth")
MIN_KEY_BYTES = 32
PUBLISHED_KEYS = frozenset({DEV_SECRET_KEY})
HOW_TO = ("make one with `madoguchi keygen` (or python -c 'import secrets;print(secrets.token_urlsafe(48))') and "
          "set it as MADOGUCHI_SECRET_KEY; for development only, MADOGUCHI_DEV_INSECURE=1 accepts the built-in key")


class InsecureSigningKey(RuntimeError):
    """The configured signing key would let anyone forge tokens."""


def new_signing_key() -> str:
    return secrets.token_urlsafe(48)  # 384 random bits


def key_problem(key: str) -> str | None:
    if key in PUBLISHED_KEYS:
        return "MADOGUCHI_SECRET_KEY is the published development key: anyone could forge an administrator's token"
    if len(key.encode()) < MIN_KEY_BYTES:
        return f"MADOGUCHI_SECRET_KEY is missing or shorter than {MIN_KEY_BYTES} bytes"
    return None


def check_signing_key(settings: Settings) -> None:
    """Raise InsecureSigningKey, with how to make a key, unless the key is sound or development was asked for."""
    problem = key_problem(settings.secret_key)
    if problem is None:
        return
    if settings.dev_insecure:
        log.warning("%s; accepted because MADOGUCHI_DEV_INSECURE is set (never in production)", problem)
        return
    raise InsecureSigningKey(f"{problem}. The server will not start: {HOW_TO}.")
