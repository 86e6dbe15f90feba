"""The device credential: enrolled once with an administrator's code, then kept 0600 on disk."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path


class CredentialError(Exception):
    pass


@dataclass(frozen=True)
class KioskCredential:
    kiosk_id: int
    secret: str
    branch: str = ""


def load(path: Path) -> KioskCredential | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
        return KioskCredential(int(data["kiosk_id"]), str(data["secret"]), str(data.get("branch", "")))
    except (ValueError, KeyError, TypeError) as exc:
        raise CredentialError(f"credential file {path} is damaged: {exc}") from None


def save(path: Path, cred: KioskCredential) -> None:
    """Write atomically with mode 0600 (never readable by other users)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"kiosk_id": cred.kiosk_id, "secret": cred.secret, "branch": cred.branch}, fh)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
