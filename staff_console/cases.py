"""A case's history for the specialist (issue 12 item 2): the number the resident presented (``offer.case_number``)
read over REST (``GET /api/cases/{number}``, only for the municipality's specialists and supervisors). No widgets;
event ``case`` (``case``: number, name, contact, history) or ``error`` (``code`` ``case``) through the emitter.
Nothing is kept: the window shows it and forgets it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from staff_console.services.server_api import ApiError, StaffApi


class CaseReader:
    def __init__(self, api: StaffApi, emit: Callable[[str, dict[str, Any]], None]) -> None:
        self._api = api
        self._emit = emit

    async def read(self, number: str) -> dict[str, Any] | None:
        try:
            case = await self._api.case(number)
        except (ApiError, OSError) as exc:
            self._emit("error", {"code": "case", "message": str(exc), "request": "case"})
            return None
        self._emit("case", {"case": case})
        return case
