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
    def __init__(self, server_url: str) -> None:
        self.server_url = server_url.rstrip("/")
        self.token: str | None = None
        self.staff: dict[str, Any] = {}

    async def _call(self, method: str, path: str, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with httpx.AsyncClient(base_url=self.server_url, timeout=10) as http:
            r = await http.request(method, path, headers=headers, **kw)
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
