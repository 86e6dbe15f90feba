"""The printable day view of appointments (issue 12 item 3): one self-contained HTML page — no script, no fetches —
laid out for A4 portrait (a table, one row per appointment, repeated header on each page), Japanese or English.
Also printed to PDF through the report's Chromium path (server/reports/pdf.py)."""

from __future__ import annotations

from datetime import date, datetime
from html import escape

from signaling.protocol.models import JST, AppointmentItem

LABELS = {
    "ja": {"title": "予約一覧", "time": "時刻", "length": "時間", "service": "相談", "branch": "支所",
           "staff": "担当", "case": "相談番号", "number": "予約番号", "state": "状態", "none": "予約はありません",
           "minutes": "{n}分", "printed": "印刷 {at}", "all_branches": "全支所",
           "booked": "予約", "checked_in": "受付済", "served": "対応済", "no_show": "来所なし", "cancelled": "取消",
           "weekday": "月火水木金土日"},
    "en": {"title": "Appointments", "time": "Time", "length": "Length", "service": "Service", "branch": "Branch",
           "staff": "Specialist", "case": "Case", "number": "Reservation", "state": "State",
           "none": "No appointments", "minutes": "{n} min", "printed": "Printed {at}", "all_branches": "All branches",
           "booked": "Booked", "checked_in": "Checked in", "served": "Served", "no_show": "No-show",
           "cancelled": "Cancelled", "weekday": ""},
}
STYLE = """
@page { size: A4 portrait; margin: 14mm 12mm; }
body { font-family: 'Noto Sans CJK JP', 'Noto Sans JP', sans-serif; font-size: 11pt; color: #000; }
h1 { font-size: 16pt; margin: 0 0 2mm; }
p.meta { margin: 0 0 5mm; color: #333; }
table { width: 100%; border-collapse: collapse; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; }
th, td { border: 0.3mm solid #444; padding: 1.6mm 2mm; text-align: left; vertical-align: top; }
th { background: #e8e8e8; }
td.time { white-space: nowrap; font-weight: bold; }
tr.cancelled td, tr.no_show td { color: #666; text-decoration: line-through; }
td.number { font-family: monospace; font-size: 12pt; letter-spacing: 0.5mm; }
"""


def day_title(day: date, language: str) -> str:
    if language == "ja":
        return f"{day.year}年{day.month}月{day.day}日（{LABELS['ja']['weekday'][day.weekday()]}）"
    return day.strftime("%A %d %B %Y")


def render_day(items: list[AppointmentItem], day: date, municipality: str, branch: str | None,
               services: dict[str, str], language: str, printed_at: datetime) -> str:
    """``services``: code → name in ``language``; ``branch``: the branch shown, or None for all."""
    lab = LABELS["ja" if language == "ja" else "en"]
    head = "".join(f"<th>{escape(lab[k])}</th>" for k in
                   ("time", "length", "service", "branch", "staff", "case", "number", "state"))
    rows = []
    for a in items:
        start = a.starts_at.astimezone(JST).strftime("%H:%M")
        cells = [f'<td class="time">{start}</td>', f"<td>{escape(lab['minutes'].format(n=a.duration_min))}</td>",
                 f"<td>{escape(services.get(a.service_code, a.service_code))}</td>", f"<td>{escape(a.branch)}</td>",
                 f"<td>{escape(a.staff_name)}</td>", f"<td>{escape(a.case_number or '')}</td>",
                 f'<td class="number">{escape(a.number)}</td>', f"<td>{escape(lab[a.state])}</td>"]
        rows.append(f'<tr class="{a.state}">{"".join(cells)}</tr>')
    body = "".join(rows) or f'<tr><td colspan="8">{escape(lab["none"])}</td></tr>'
    title = f"{lab['title']} {day_title(day, language)}"
    meta = " ・ ".join([municipality, branch or lab["all_branches"],
                       lab["printed"].format(at=printed_at.astimezone(JST).strftime("%Y-%m-%d %H:%M"))])
    return (f'<!DOCTYPE html><html lang="{"ja" if language == "ja" else "en"}"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{escape(title)}</h1><p class=\"meta\">{escape(meta)}</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></body></html>")
