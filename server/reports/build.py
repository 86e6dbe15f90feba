"""``build_report``: load, compute, render. Shared by the API, the CLI and the tests."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.base import utcnow
from server.reports import render
from server.reports.compute import Assumptions, Report, compute
from server.reports.data import JST, load
from server.settings import Settings

Format = Literal["html", "csv", "json"]
FORMATS: tuple[Format, ...] = ("html", "csv", "json")
MAX_DAYS = 3 * 366 + 31


class ReportError(ValueError):
    """A request the report cannot answer: the message says why (shown to the user)."""


class UnknownMunicipality(ReportError):
    pass


def parse_day(value: date | str, name: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ReportError(f"{name}: expected a date YYYY-MM-DD, got {value!r}") from None


async def compute_report(maker: async_sessionmaker[AsyncSession], settings: Settings, date_from: date | str,
                         date_to: date | str, municipality: str | None = None) -> Report:
    start, end = parse_day(date_from, "from"), parse_day(date_to, "to")
    if end < start:
        raise ReportError("the period ends before it starts")
    if end - start > timedelta(days=MAX_DAYS):
        raise ReportError("the period is longer than three years")
    async with maker() as db:
        try:
            data = await load(db, start, end, municipality or None)
        except LookupError:
            raise UnknownMunicipality(f"unknown municipality {municipality!r}") from None
    return compute(data, Assumptions(speed_kmh=settings.report_speed_kmh,
                                     co2_kg_per_km=settings.report_co2_kg_per_km),
                   today=utcnow().astimezone(JST).date())


async def build_report(maker: async_sessionmaker[AsyncSession], settings: Settings, date_from: date | str,
                       date_to: date | str, municipality: str | None = None, fmt: str = "html") -> bytes | str:
    """The report for [date_from, date_to] (both included, Japan time).

    Returns ``str`` for html and json, ``bytes`` for csv (UTF-8 with BOM).
    """
    if fmt not in FORMATS:
        raise ReportError(f"format must be one of {', '.join(FORMATS)}")
    report = await compute_report(maker, settings, date_from, date_to, municipality)
    generated = utcnow()
    if fmt == "csv":
        return render.to_csv(report)
    if fmt == "json":
        return render.to_json(report, generated)
    from server.reports.charts import render_all  # matplotlib only when a chart is drawn

    charts = await asyncio.to_thread(render_all, report)  # CPU work off the event loop
    return render.to_html(report, charts, generated)
