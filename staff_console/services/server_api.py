"""Console REST calls. Notes are only what the server lets this account read.

Access tokens live 10 minutes: the API keeps the login's refresh token (in memory only, never the password)
and renews the access token with it when a call is refused with 401, and on every signaling reconnect
(:meth:`StaffApi.refresh`). Refresh tokens are single-use, so renewals are serialised by a lock.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any
from urllib.parse import quote

import httpx

from signaling.tls import certificate_problem


class ApiError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


class StaffApi:
    """``server_url``: one server, or the nodes of several (a node that cannot be reached is skipped)."""

    def __init__(self, server_url: str | list[str], tls: ssl.SSLContext | None = None) -> None:
        urls = [server_url] if isinstance(server_url, str) else list(server_url)
        self.servers = [u.rstrip("/") for u in urls]
        self._current = 0
        self.tls = tls  # verifies https servers (signaling.tls.client_context)
        self.token: str | None = None
        self.refresh_token: str | None = None
        self.staff: dict[str, Any] = {}
        self._renewing = asyncio.Lock()

    @property
    def server_url(self) -> str:
        return self.servers[self._current]

    async def _call(self, method: str, path: str, *, renew: bool = True, **kw: Any) -> Any:
        token = self.token
        try:
            return await self._send(method, path, token, **kw)
        except ApiError as exc:
            if exc.status != 401 or not renew or self.refresh_token is None:
                raise
        if self.token == token:  # nobody renewed it meanwhile
            await self.refresh()
        return await self._send(method, path, self.token, **kw)

    async def _send(self, method: str, path: str, token: str | None, **kw: Any) -> Any:
        raw = kw.pop("raw", False)  # the body as bytes (a page), not JSON
        headers = {**kw.pop("headers", {}), **({"Authorization": f"Bearer {token}"} if token else {})}
        for attempt in range(len(self.servers)):
            try:
                async with httpx.AsyncClient(base_url=self.server_url, timeout=10, verify=self.tls or True) as http:
                    r = await http.request(method, path, headers=headers, **kw)
                break
            except httpx.TransportError as exc:
                if attempt == len(self.servers) - 1:
                    bad_cert = certificate_problem(exc, self.tls)
                    if bad_cert is not None:
                        raise bad_cert from None
                    raise
                self._current = (self._current + 1) % len(self.servers)
        if r.status_code >= 400:
            try:
                detail = str(r.json().get("detail", r.text))
            except ValueError:
                detail = r.text
            raise ApiError(r.status_code, detail)
        return r.content if raw else r.json()

    async def login(self, username: str, password: str) -> dict[str, Any]:
        data = await self._send("POST", "/api/auth/login", None, json={"username": username, "password": password})
        self._take(data)
        return self.staff

    async def refresh(self) -> str:
        """A new access token (and the next refresh token). Raises ApiError 401 when the login has ended
        (password reset, account disabled, logged out, expired): then only a new login helps."""
        async with self._renewing:
            if self.refresh_token is None:
                raise ApiError(401, "not logged in")
            data = await self._send("POST", "/api/auth/refresh", None, json={"refresh_token": self.refresh_token})
            self._take(data)
            assert self.token is not None
            return self.token

    async def logout(self) -> None:
        token, self.refresh_token, self.token = self.refresh_token, None, None
        if token is not None:
            await self._send("POST", "/api/auth/logout", None, json={"refresh_token": token})

    def _take(self, data: dict[str, Any]) -> None:
        self.token = str(data["access_token"])
        self.refresh_token = str(data["refresh_token"])
        self.staff = dict(data["staff"])

    async def save_note(self, session_id: int, note: dict[str, Any]) -> dict[str, Any]:
        return dict(await self._call("PUT", f"/api/sessions/{session_id}/note", json=note))

    async def read_note(self, session_id: int) -> dict[str, Any]:
        return dict(await self._call("GET", f"/api/sessions/{session_id}/note"))

    async def attach(self, session_id: int, data: bytes, mime: str, sha256: str) -> dict[str, Any]:
        """Keep a document still with the session's record (server: routes/attachments.py)."""
        return dict(await self._call("POST", f"/api/sessions/{session_id}/attachments", content=data,
                                     headers={"Content-Type": mime, "X-Content-SHA256": sha256}))

    async def record_print(self, session_id: int, record: dict[str, Any]) -> dict[str, Any]:
        """Record a print at the branch with the session (server: routes/prints.py): metadata, never the PDF."""
        return dict(await self._call("POST", f"/api/sessions/{session_id}/prints", json=record))

    async def attachments(self, session_id: int) -> list[dict[str, Any]]:
        return list(await self._call("GET", f"/api/sessions/{session_id}/attachments"))

    async def session_forms(self, session_id: int) -> list[dict[str, Any]]:
        """Every form kept with the session (confirmed, change asked, or left unanswered); the read is audited."""
        return list(await self._call("GET", f"/api/sessions/{session_id}/forms"))

    async def confirmed_form(self, session_id: int, confirmation_id: int) -> dict[str, Any]:
        """A form kept with the session, as stored (server: routes/forms.py; the read is audited)."""
        return dict(await self._call("GET", f"/api/sessions/{session_id}/forms/{confirmation_id}"))

    async def appointments(self, day: str) -> dict[str, Any]:
        """The municipality's appointments of ``day`` (YYYY-MM-DD), its branches and specialists."""
        return dict(await self._call("GET", "/api/appointments", params={"day": day}))

    async def book_appointment(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(await self._call("POST", "/api/appointments", json=body))

    async def cancel_appointment(self, appointment_id: int) -> dict[str, Any]:
        return dict(await self._call("POST", f"/api/appointments/{appointment_id}/cancel"))

    async def appointment_day_page(self, day: str, language: str) -> bytes:
        """The printable day view (HTML, A4)."""
        return bytes(await self._call("GET", "/api/appointments/day", params={"day": day, "lang": language},
                                      raw=True))

    async def history(self, **filters: Any) -> list[dict[str, Any]]:
        params = {k: v for k, v in filters.items() if v not in (None, "")}
        return list(await self._call("GET", "/api/sessions", params=params))

    async def case(self, number: str) -> dict[str, Any]:
        """A case of my municipality with its history (README "Cases"); the number is URL-quoted."""
        return dict(await self._call("GET", f"/api/cases/{quote(number, safe='')}"))

    async def create_case(self, name: str, contact: str) -> dict[str, Any]:
        return dict(await self._call("POST", "/api/cases", json={"name": name, "contact": contact}))

    async def update_case(self, number: str, name: str, contact: str) -> dict[str, Any]:
        return dict(await self._call("PUT", f"/api/cases/{quote(number, safe='')}",
                                     json={"name": name, "contact": contact}))

    async def attach_case(self, number: str, session_id: int) -> dict[str, Any]:
        """Put a session under the case (the session's own specialist, or a supervisor)."""
        return dict(await self._call("POST", f"/api/cases/{quote(number, safe='')}/sessions",
                                     json={"session_id": session_id}))

    async def colleagues(self) -> list[dict[str, Any]]:
        return list(await self._call("GET", "/api/staff"))

    async def services(self) -> list[dict[str, Any]]:
        return list(await self._call("GET", "/api/services"))
