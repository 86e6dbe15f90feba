"""Cases at the console (issue 12 item 2; README "Cases"): the specialist opens a case by its number, opens a new
one (name and contact optional), puts the call under a case, and corrects the name or contact. Every request goes
over REST (``/api/cases``: only the municipality's specialists and supervisors) and every answer goes out through
the emitter; no widgets, and nothing is kept: the window shows what it is sent and forgets it.

Events: ``case`` (``case``: number, name, contact, history; ``saved`` after a change) when a case is opened or
changed; ``case_linked``
(``session_id``, ``case``) when a session is put under a case; ``error`` (``code`` ``case``, ``reason``:
``not_found`` / ``other_case`` / ``invalid`` / ``unreachable``) when it could not be done."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

from signaling.protocol.case_number import case_number
from staff_console.services.server_api import ApiError, StaffApi

REASONS = {404: "not_found", 409: "other_case", 422: "invalid"}


class CaseDesk:
    def __init__(self, api: StaffApi, emit: Callable[[str, dict[str, Any]], None]) -> None:
        self._api = api
        self._emit = emit

    def _fail(self, request: str, exc: Exception) -> None:
        reason = REASONS.get(exc.status, "unreachable") if isinstance(exc, ApiError) else "unreachable"
        self._emit("error", {"code": "case", "reason": reason, "message": str(exc), "request": request})

    @staticmethod
    def _number(text: str) -> str | None:
        """The number as typed (with or without the prefix, full-width digits, spaces); None: not a case number."""
        try:
            return case_number(unicodedata.normalize("NFKC", text).strip())
        except ValueError:
            return None

    async def read(self, number: str) -> dict[str, Any] | None:
        wanted = self._number(number)
        if wanted is None:
            self._emit("error", {"code": "case", "reason": "invalid", "message": number, "request": "case"})
            return None
        try:
            case = await self._api.case(wanted)
        except (ApiError, OSError) as exc:
            self._fail("case", exc)
            return None
        self._emit("case", {"case": case})
        return case

    async def create(self, name: str, contact: str, session_id: int | None = None) -> dict[str, Any] | None:
        """A new case of my municipality; with ``session_id`` the call is put under it at once."""
        try:
            case = await self._api.create_case(name.strip(), contact.strip())
        except (ApiError, OSError) as exc:
            self._fail("case.create", exc)
            return None
        if session_id is None:
            self._emit("case", {"case": case})
            return case
        return await self.attach(str(case["number"]), session_id)

    async def attach(self, number: str, session_id: int) -> dict[str, Any] | None:
        wanted = self._number(number)
        if wanted is None:
            self._emit("error", {"code": "case", "reason": "invalid", "message": number, "request": "case.attach"})
            return None
        try:
            case = await self._api.attach_case(wanted, session_id)
        except (ApiError, OSError) as exc:
            self._fail("case.attach", exc)
            return None
        self._emit("case_linked", {"session_id": session_id, "case": case})
        return case

    async def update(self, number: str, name: str, contact: str) -> dict[str, Any] | None:
        try:
            case = await self._api.update_case(number, name.strip(), contact.strip())
        except (ApiError, OSError) as exc:
            self._fail("case.update", exc)
            return None
        self._emit("case", {"case": case, "saved": True})
        return case
