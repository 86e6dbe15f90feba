"""Charts for the HTML report: matplotlib (Agg, no pyplot), SVG with text as paths, as data URIs.

Text is drawn as outlines, so the report shows Japanese on any machine that
opens it. Rendering needs a Japanese font here: the first installed family of
:data:`JA_FONTS` is used (Debian: ``fonts-noto-cjk``). Without one the charts
fall back to English labels rather than drawing empty boxes.
"""

from __future__ import annotations

import base64
import io
import logging
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import matplotlib

matplotlib.use("Agg", force=False)  # never a GUI backend on a server

from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from server.reports.compute import Report

log = logging.getLogger("madoguchi.reports")
JA_FONTS = ("Noto Sans CJK JP", "Noto Sans JP", "Source Han Sans JP", "IPAexGothic", "IPAGothic", "IPAPGothic",
            "TakaoGothic", "VL Gothic", "BIZ UDGothic", "Yu Gothic", "Hiragino Sans", "Meiryo")
PALETTE = ("#1f5fae", "#e07b00", "#2a9d5c", "#8e44ad", "#c0392b", "#7f8c8d", "#16a2b8")
_render_lock = threading.Lock()  # rcParams are global: one chart at a time


@lru_cache(maxsize=1)
def japanese_font() -> str | None:
    installed = {f.name for f in font_manager.fontManager.ttflist}
    for family in JA_FONTS:
        if family in installed:
            return family
    log.warning("no Japanese font found (install fonts-noto-cjk); report charts use English labels")
    return None


def label(ja: str, en: str) -> str:
    """Bilingual label when Japanese can be drawn, English otherwise."""
    return f"{ja} {en}" if japanese_font() else en


@contextmanager
def _style() -> Iterator[None]:
    family = [f for f in (japanese_font(), "DejaVu Sans") if f]
    rc: Any = {"font.family": family, "svg.fonttype": "path", "svg.hashsalt": "madoguchi",
                          "axes.unicode_minus": False, "font.size": 10, "axes.titlesize": 12,
                          "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
                          "grid.color": "#dddddd", "grid.linewidth": 0.6, "axes.axisbelow": True}
    with matplotlib.rc_context(rc), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        log.warning("chart rendering: %s", w.message)


def _data_uri(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _empty(ax: Any) -> None:
    ax.text(0.5, 0.5, label("データなし", "no data"), ha="center", va="center", transform=ax.transAxes,
            color="#888888")


def _month_ticks(report: Report, months: list[str]) -> list[str]:
    """An unfinished month is marked, so that its shorter bar is not read as a drop."""
    return [f"{m}\n({label('途中', 'so far')})" if m in report.open_months else m for m in months]


def monthly_consultations(report: Report) -> str:
    months = [r.month for r in report.by_month]
    fig = Figure(figsize=(7.2, 3.4))
    ax = fig.subplots()
    bottom = [0] * len(months)
    any_data = False
    for i, m in enumerate(report.data.municipalities):
        mine = [f for f in report.data.facts if f.consulted and f.branch.municipality.id == m.id]
        counts = [sum(1 for f in mine if f.month == mo) for mo in months]
        any_data = any_data or any(counts)
        ax.bar(months, counts, bottom=bottom, color=PALETTE[i % len(PALETTE)],
               label=m.name_ja if japanese_font() else m.name_en, width=0.65)
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    for x, total in enumerate(bottom):
        if total:
            ax.annotate(str(total), (x, total), ha="center", va="bottom", fontsize=9, xytext=(0, 2),
                        textcoords="offset points")
    ax.set_xticks(range(len(months)), _month_ticks(report, months))
    ax.set_title(label("月別の相談件数", "Consultations per month"), loc="left")
    ax.set_ylabel(label("件", "consultations"))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if any_data:
        ax.legend(frameon=False, fontsize=9, ncols=min(5, len(report.data.municipalities)), loc="upper left",
                  bbox_to_anchor=(0, -0.12))
    else:
        _empty(ax)
    return _data_uri(fig)


def distance_by_municipality(report: Report) -> str:
    rows = report.by_municipality
    names = [r.municipality_ja if japanese_font() else r.municipality_en for r in rows]
    km = [r.figures.round_trip_km if r.figures else 0.0 for r in rows]
    fig = Figure(figsize=(7.2, 0.55 * max(3, len(rows)) + 0.9))
    ax = fig.subplots()
    ax.barh(names[::-1], km[::-1], color=PALETTE[2], height=0.6)
    top = max(km, default=0.0) or 1.0
    for y, (v, r) in enumerate(zip(km[::-1], rows[::-1], strict=True)):
        hours = r.figures.hours_saved if r.figures else 0.0
        ax.annotate(f"{v:,.0f} km / {hours:,.1f} h", (v, y), va="center", xytext=(4, 0), textcoords="offset points",
                    fontsize=9)
    ax.set_xlim(0, top * 1.3)
    ax.set_title(label("市町別 削減往復距離（「はい」のみ）", "Travel avoided by municipality (yes only)"), loc="left")
    ax.set_xlabel("km")
    ax.grid(axis="y", visible=False)
    return _data_uri(fig)


def satisfaction(report: Report) -> str:
    f = report.total.figures
    dist = list(f.satisfaction_dist) if f else [0] * 5
    n = sum(dist)
    fig = Figure(figsize=(4.6, 3.2))
    ax = fig.subplots()
    colors = ["#c0392b", "#e67e22", "#f1c40f", "#7dbb42", "#2a9d5c"]
    ax.bar([str(i) for i in range(1, 6)], dist, color=colors, width=0.65)
    for x, v in enumerate(dist):
        if n:
            ax.annotate(f"{v}\n({v / n:.0%})", (x, v), ha="center", va="bottom", fontsize=9, xytext=(0, 2),
                        textcoords="offset points")
    ax.set_ylim(0, max([*dist, 1]) * 1.35)
    ax.set_title(label("満足度の分布", "Satisfaction (1–5)"), loc="left")
    ax.set_xlabel(label("1 不満 … 5 満足", "1 poor … 5 very good"))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if not n:
        _empty(ax)
    return _data_uri(fig)


def waits_by_month(report: Report) -> str:
    months = [r.month for r in report.by_month]
    p50 = [r.figures.wait_p50_s / 60 if r.figures and r.figures.wait_p50_s is not None else None
           for r in report.by_month]
    p90 = [r.figures.wait_p90_s / 60 if r.figures and r.figures.wait_p90_s is not None else None
           for r in report.by_month]
    fig = Figure(figsize=(4.6, 3.2))
    ax = fig.subplots()
    xs = list(range(len(months)))
    for series, name, color in ((p50, label("中央値", "median"), PALETTE[0]), (p90, "90%", PALETTE[1])):
        pts = [(x, v) for x, v in zip(xs, series, strict=True) if v is not None]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", color=color, label=name)
    ax.set_xticks(xs, _month_ticks(report, months), rotation=30 if len(months) > 6 else 0, fontsize=8)
    ax.set_title(label("待ち時間（分）", "Wait (minutes)"), loc="left")
    ax.set_ylim(bottom=0)
    if any(v is not None for v in p50):
        ax.legend(frameon=False, fontsize=9)
    else:
        _empty(ax)
    return _data_uri(fig)


def render_all(report: Report) -> dict[str, str]:
    """Every chart as a data URI. Thread-safe (serialised)."""
    with _render_lock, _style():
        return {"monthly": monthly_consultations(report), "distance": distance_by_municipality(report),
                "satisfaction": satisfaction(report), "waits": waits_by_month(report)}
