"""``build_report``: load, compute, render. Shared by the API, the CLI and the tests."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.base import utcnow
from server.reports import html, render
from server.reports.compute import Assumptions, Report, compute
from server.reports.data import JST, load
from server.settings import Settings

Format = Literal["html", "csv", "json", "pdf"]
FORMATS: tuple[Format, ...] = ("html", "csv", "json", "pdf")
MAX_DAYS = 3 * 366 + 31


class ReportError(ValueError):
    """A request the report cannot answer: the message says why (shown to the user)."""


class UnknownMunicipality(ReportError):
    pass


class ReportUnavailable(ReportError):
    """The format cannot be produced on this machine (PDF without playwright or Chromium)."""


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

    Returns ``str`` for html and json, ``bytes`` for csv (UTF-8 with BOM) and pdf.
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
    page = html.to_html(report, charts, generated)
    if fmt == "html":
        return page
    from server.reports.pdf import PdfUnavailable, html_to_pdf

    d = report.data
    title = (f"遠隔窓口 導入効果レポート Introduction effect report {d.date_from.isoformat()} 〜 "
             f"{d.date_to.isoformat()}" + (f" {d.municipality.name_ja}" if d.municipality else ""))
    try:
        return await html_to_pdf(page, settings.report_chromium, title)
    except PdfUnavailable as exc:
        raise ReportUnavailable(str(exc)) from None
