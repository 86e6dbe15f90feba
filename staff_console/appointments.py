"""Appointments at the console (issue 12 item 3; README "Appointments"): the day view of the municipality's
appointments, booking and cancelling, and the printable day view. Every request goes over REST
(``/api/appointments``: the municipality's specialists and supervisors only); the server's ``appointment.update``
pushes keep the shown day current. No widgets: the window shows what it is sent.

Events: ``appointments`` (``day``, ``items`` by time, ``branches``, ``specialists``) whenever the shown day or one of
its appointments changed; ``appointment_booked`` (``item``: with its reservation number, to tell the resident);
``appointment_print`` (``path``: the day view written to a private file, for the window to open in the browser,
which prints it); ``error`` (``code`` ``appointment``, ``reason``: ``not_found`` / ``conflict`` / ``invalid`` /
``forbidden`` / ``unreachable``, ``message``: the server's words)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from signaling.protocol.messages import AppointmentUpdate, ServerMessage
from signaling.protocol.models import JST, AppointmentItem
from staff_console.services.server_api import ApiError, StaffApi

REASONS = {403: "forbidden", 404: "not_found", 409: "conflict", 422: "invalid"}


def today_in_japan() -> date:
    return datetime.now(JST).date()


class AppointmentDesk:
    def __init__(self, api: StaffApi, emit: Callable[[str, dict[str, Any]], None],
                 today: Callable[[], date] = today_in_japan, language: Callable[[], str] = lambda: "ja") -> None:
        self._api = api
        self._emit = emit
        self._today = today
        self._language = language
        self.day: date = today()
        self.items: list[AppointmentItem] = []
        self.branches: list[dict[str, Any]] = []
        self.specialists: list[dict[str, Any]] = []
        self._folder: Path | None = None

    def _fail(self, exc: Exception) -> None:
        reason = REASONS.get(exc.status, "unreachable") if isinstance(exc, ApiError) else "unreachable"
        detail = exc.detail if isinstance(exc, ApiError) else str(exc)
        self._emit("error", {"code": "appointment", "reason": reason, "message": detail})

    async def show(self, day: date | None = None) -> bool:
        """Load ``day`` (default: the shown one)."""
        self.day = day or self.day
        try:
            data = await self._api.appointments(self.day.isoformat())
        except (ApiError, OSError) as exc:
            self._fail(exc)
            return False
        self.items = [AppointmentItem.model_validate(i) for i in data.get("items", [])]
        self.branches, self.specialists = list(data.get("branches", [])), list(data.get("specialists", []))
        self._changed()
        return True

    async def step(self, days: int) -> bool:
        return await self.show(self.day + timedelta(days=days))

    async def today(self) -> bool:
        return await self.show(self._today())

    async def book(self, branch_code: str, service_code: str, day: date, start: time, duration_min: int,
                   staff_id: int | None = None, case_number: str = "") -> AppointmentItem | None:
        """Book; the shown day follows (the push, or the reply). None when refused (``error`` said why)."""
        body: dict[str, Any] = {
            "branch_code": branch_code, "service_code": service_code, "duration_min": duration_min,
            "starts_at": datetime.combine(day, start, JST).isoformat(), "staff_id": staff_id,
            "case_number": case_number.strip() or None}
        try:
            item = AppointmentItem.model_validate(await self._api.book_appointment(body))
        except (ApiError, OSError) as exc:
            self._fail(exc)
            return None
        except ValidationError as exc:
            self._emit("error", {"code": "appointment", "reason": "invalid", "message": str(exc)})
            return None
        self._merge(item)
        self._emit("appointment_booked", {"item": item})
        return item

    async def cancel(self, appointment_id: int) -> bool:
        try:
            item = AppointmentItem.model_validate(await self._api.cancel_appointment(appointment_id))
        except (ApiError, OSError) as exc:
            self._fail(exc)
            return False
        self._merge(item)
        return True

    async def print_day(self, language: str | None = None) -> Path | None:
        """The shown day's printable page, written where only this user reads it; ``appointment_print``."""
        try:
            page = await self._api.appointment_day_page(self.day.isoformat(), language or self._language())
        except (ApiError, OSError) as exc:
            self._fail(exc)
            return None
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="madoguchi-print-"))  # 0700
        path = self._folder / f"appointments-{self.day.isoformat()}.html"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(page)
        self._emit("appointment_print", {"path": str(path)})
        return path

    def on_message(self, msg: ServerMessage) -> bool:
        if isinstance(msg, AppointmentUpdate):
            self._merge(msg.item)
            return True
        return False

    def _merge(self, item: AppointmentItem) -> None:
        if item.day != self.day:
            return
        others = [i for i in self.items if i.appointment_id != item.appointment_id]
        self.items = sorted([*others, item], key=lambda i: (i.starts_at, i.appointment_id))
        self._changed()

    def _changed(self) -> None:
        self._emit("appointments", {"day": self.day, "items": list(self.items), "branches": list(self.branches),
                                    "specialists": list(self.specialists)})
