"""Kiosk REST calls: enrollment and device tokens."""

from __future__ import annotations

import ssl

import httpx

from kiosk.services.credentials import KioskCredential
from signaling.client import CredentialRejected
from signaling.tls import certificate_problem


class EnrollmentFailed(Exception):
    pass


def _client(server_url: str, tls: ssl.SSLContext | None) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server_url, timeout=10, verify=tls or True)


async def enroll(server_url: str, kiosk_id: int, code: str, tls: ssl.SSLContext | None = None) -> KioskCredential:
    """Raises EnrollmentFailed (the server refused), ServerCertificateError, or an httpx transport error."""
    try:
        async with _client(server_url, tls) as http:
            r = await http.post("/api/kiosk/enroll", json={"kiosk_id": kiosk_id, "code": code})
    except httpx.TransportError as exc:
        bad_cert = certificate_problem(exc, tls)
        if bad_cert is not None:
            raise bad_cert from None
        raise
    if r.status_code != 200:
        raise EnrollmentFailed(r.json().get("detail", r.text) if r.headers.get("content-type", "").startswith(
            "application/json") else r.text)
    data = r.json()
    return KioskCredential(int(data["kiosk_id"]), str(data["secret"]), str(data.get("branch", "")),
                           str(data.get("selfcheck_pin_hash", "")))


async def device_token(server_url: str, cred: KioskCredential, tls: ssl.SSLContext | None = None) -> str:
    async with _client(server_url, tls) as http:
        r = await http.post("/api/kiosk/token", json={"kiosk_id": cred.kiosk_id, "secret": cred.secret})
        if r.status_code == 401:  # revoked or unknown: retrying cannot help, an administrator must re-enroll
            raise CredentialRejected("kiosk credential wrong or revoked")
        r.raise_for_status()
        return str(r.json()["access_token"])
