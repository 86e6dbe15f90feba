"""Console REST calls. Notes are only what the server lets this account read."""

from __future__ import annotations

from typing import Any

import httpx


class ApiError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


class StaffApi:
    """``server_url``: one server, or the nodes of several (a node that cannot be reached is skipped)."""

    def __init__(self, server_url: str | list[str]) -> None:
        urls = [server_url] if isinstance(server_url, str) else list(server_url)
        self.servers = [u.rstrip("/") for u in urls]
        self._current = 0
        self.token: str | None = None
        self.staff: dict[str, Any] = {}

    @property
    def server_url(self) -> str:
        return self.servers[self._current]

    async def _call(self, method: str, path: str, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        for attempt in range(len(self.servers)):
            try:
                async with httpx.AsyncClient(base_url=self.server_url, timeout=10) as http:
                    r = await http.request(method, path, headers=headers, **kw)
                break
            except httpx.TransportError:
                if attempt == len(self.servers) - 1:
                    raise
                self._current = (self._current + 1) % len(self.servers)
        if r.status_code >= 400:
            try:
                detail = str(r.json().get("detail", r.text))
            except ValueError:
                detail = r.text
            raise ApiError(r.status_code, detail)
        return r.json()

    async def login(self, username: str, password: str) -> dict[str, Any]:
        data = await self._call("POST", "/api/auth/login", json={"username": username, "password": password})
        self.token = str(data["access_token"])
        self.staff = dict(data["staff"])
        return self.staff

    async def save_note(self, session_id: int, note: dict[str, Any]) -> dict[str, Any]:
        return dict(await self._call("PUT", f"/api/sessions/{session_id}/note", json=note))

    async def read_note(self, session_id: int) -> dict[str, Any]:
        return dict(await self._call("GET", f"/api/sessions/{session_id}/note"))

    async def history(self, **filters: Any) -> list[dict[str, Any]]:
        params = {k: v for k, v in filters.items() if v not in (None, "")}
        return list(await self._call("GET", "/api/sessions", params=params))

    async def colleagues(self) -> list[dict[str, Any]]:
        return list(await self._call("GET", "/api/staff"))

    async def services(self) -> list[dict[str, Any]]:
        return list(await self._call("GET", "/api/services"))
