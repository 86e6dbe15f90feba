"""IT's one-time set-up of a branch PC (``madoguchi-kiosk enroll``): enroll with the administrator's one-time
code, keep the device credential where the kiosk looks for it, and write the server's address into the
environment file the systemd unit reads (deploy/systemd/madoguchi-kiosk.service)."""

from __future__ import annotations

import os
from pathlib import Path

from kiosk.services import credentials
from kiosk.services.credentials import KioskCredential
from kiosk.services.server_api import enroll
from kiosk.settings import KioskSettings
from signaling.tls import client_context


class AlreadyEnrolled(Exception):
    pass


def default_env_file() -> Path:
    """The unit's ``EnvironmentFile`` (``%h/.config/madoguchi/kiosk.env``)."""
    return Path.home() / ".config" / "madoguchi" / "kiosk.env"


def update_env_file(path: Path, values: dict[str, str]) -> None:
    """Set ``KEY=value`` lines in an environment file (systemd's format), keeping every other line; mode 0600."""
    lines = path.read_text("utf-8").splitlines() if path.exists() else []
    kept = [line for line in lines if line.split("=", 1)[0].strip() not in values]
    kept += [f"{key}={value}" for key, value in values.items()]
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(kept) + "\n")
    os.replace(tmp, path)


async def enroll_pc(settings: KioskSettings, kiosk_id: int, code: str, env_file: Path,
                    *, replace: bool = False) -> KioskCredential:
    """Enroll this PC as kiosk ``kiosk_id``. Refuses (AlreadyEnrolled) when a credential is already kept, unless
    ``replace``: a second enrollment would silently orphan the first. The server's refusals are raised as the
    enrollment page sees them (EnrollmentFailed, ServerCertificateError, httpx transport errors); nothing is
    written unless the server accepted the code."""
    if not replace and credentials.load(settings.credential_file) is not None:
        raise AlreadyEnrolled(f"{settings.credential_file} already holds a credential (pass --replace to re-enroll)")
    cred = await enroll(settings.server_urls[0], kiosk_id, code, client_context(settings.ca_file))
    credentials.save(settings.credential_file, cred)
    env = {"MADOGUCHI_KIOSK_SERVER_URL": settings.server_url,
           "MADOGUCHI_KIOSK_CREDENTIAL_FILE": str(settings.credential_file.resolve())}
    if settings.ca_file is not None:
        env["MADOGUCHI_KIOSK_CA_FILE"] = str(settings.ca_file.resolve())
    update_env_file(env_file, env)
    return cred
