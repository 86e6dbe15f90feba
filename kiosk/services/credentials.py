"""The device credential: enrolled once with an administrator's code, then kept 0600 on disk, with the argon2
hash of the IT self-check PIN the administrator set (or was shown) at enrollment."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


def pin_matches(pin_hash: str, pin: str) -> bool:
    """The IT self-check PIN against its argon2 hash (no hash: nothing matches)."""
    if not pin_hash or not pin:
        return False
    try:
        return PasswordHasher().verify(pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False


class CredentialError(Exception):
    pass


@dataclass(frozen=True)
class KioskCredential:
    kiosk_id: int
    secret: str
    branch: str = ""
    selfcheck_pin_hash: str = ""  # empty (enrolled before PINs were set at enrollment): self-check stays locked


def load(path: Path) -> KioskCredential | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
        return KioskCredential(int(data["kiosk_id"]), str(data["secret"]), str(data.get("branch", "")),
                               str(data.get("selfcheck_pin_hash", "")))
    except (ValueError, KeyError, TypeError) as exc:
        raise CredentialError(f"credential file {path} is damaged: {exc}") from None


def save(path: Path, cred: KioskCredential) -> None:
    """Write atomically with mode 0600 (never readable by other users)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"kiosk_id": cred.kiosk_id, "secret": cred.secret, "branch": cred.branch,
                   "selfcheck_pin_hash": cred.selfcheck_pin_hash}, fh)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
