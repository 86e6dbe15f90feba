"""Kiosk REST calls: enrollment and device tokens."""

from __future__ import annotations

import httpx

from kiosk.services.credentials import KioskCredential
from signaling.client import CredentialRejected


class EnrollmentFailed(Exception):
    pass


async def enroll(server_url: str, kiosk_id: int, code: str) -> KioskCredential:
    async with httpx.AsyncClient(base_url=server_url, timeout=10) as http:
        r = await http.post("/api/kiosk/enroll", json={"kiosk_id": kiosk_id, "code": code})
    if r.status_code != 200:
        raise EnrollmentFailed(r.json().get("detail", r.text) if r.headers.get("content-type", "").startswith(
            "application/json") else r.text)
    data = r.json()
    return KioskCredential(int(data["kiosk_id"]), str(data["secret"]), str(data.get("branch", "")),
                           str(data.get("selfcheck_pin_hash", "")))


async def device_token(server_url: str, cred: KioskCredential) -> str:
    async with httpx.AsyncClient(base_url=server_url, timeout=10) as http:
        r = await http.post("/api/kiosk/token", json={"kiosk_id": cred.kiosk_id, "secret": cred.secret})
        if r.status_code == 401:  # revoked or unknown: retrying cannot help, an administrator must re-enroll
            raise CredentialRejected("kiosk credential wrong or revoked")
        r.raise_for_status()
        return str(r.json()["access_token"])
