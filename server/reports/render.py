"""The three formats: one self-contained printable HTML file, CSV for spreadsheets, JSON for programs."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import datetime
from html import escape

from server.reports.compute import Figures, Report, Row
from server.reports.data import JST

DEFINITIONS = [
    ("相談件数", "Consultations", "専門職につながった受付の数（転送されても1件）",
     "requests that reached a specialist (a transfer stays one consultation)"),
    ("待ち時間", "Wait", "受付から最初の専門職が応答するまで。中央値と90パーセンタイル",
     "from the request to the first specialist's answer; median and 90th percentile"),
    ("通話時間", "Talk time", "応答から通話終了まで（転送を含め合計）の中央値",
     "answer to end of call (all legs of a transfer), median"),
    ("放棄率", "Abandonment", "待ち列に入った受付のうち、通話前に取り消し・離脱した割合",
     "share of queued requests cancelled or left before a specialist answered"),
    ("担当不在", "No specialist", "担当の専門職が不在で、その場で受付できなかった件数（放棄率には含めない）",
     "requests refused at once because nobody was on duty (not in the abandonment rate)"),
    ("移動削減", "Travel avoided", "各窓口から北見市役所までの片道距離 × 2（往復）× 相談件数",
     "one-way distance from each branch to Kitami city hall × 2 (round trip) × consultations"),
]

# (CSV header, key in Figures.as_dict or in labels)
CSV_COLUMNS: list[tuple[str, str]] = [
    ("集計単位 (level)", "level"), ("月 (month)", "month"),
    ("市町コード (municipality_code)", "municipality_code"), ("市町 (municipality)", "municipality_ja"),
    ("窓口コード (branch_code)", "branch_code"), ("窓口 (branch)", "branch_ja"),
    ("片道距離km (one_way_km)", "one_way_km"),
    ("相談種別コード (service_code)", "service_code"), ("相談種別 (service)", "service_ja"),
    ("相談件数 (consultations)", "consultations"), ("利用端末数 (unique_kiosks)", "unique_kiosks"),
    ("受付件数 (tickets)", "tickets"),
    ("待ち時間 中央値 秒 (wait_p50_s)", "wait_p50_s"), ("待ち時間 90% 秒 (wait_p90_s)", "wait_p90_s"),
    ("通話時間 中央値 秒 (talk_p50_s)", "talk_p50_s"),
    ("離脱 (abandoned)", "abandoned"), ("取消 (cancelled)", "cancelled"),
    ("放棄率 (abandonment_rate)", "abandonment_rate"), ("転送 (transfers)", "transfers"),
    ("担当不在 (no_specialist)", "no_specialist"),
    ("満足度 回答数 (feedback_count)", "feedback_count"), ("満足度 平均 (satisfaction_mean)", "satisfaction_mean"),
    ("満足度1 (satisfaction_1)", "s1"), ("満足度2 (satisfaction_2)", "s2"), ("満足度3 (satisfaction_3)", "s3"),
    ("満足度4 (satisfaction_4)", "s4"), ("満足度5 (satisfaction_5)", "s5"),
    ("来庁不要 はい (saved_trip_yes)", "saved_trip_yes"), ("来庁不要 いいえ (saved_trip_no)", "saved_trip_no"),
    ("削減往復距離 km (round_trip_km_saved)", "round_trip_km_saved"), ("削減移動時間 h (hours_saved)", "hours_saved"),
    ("CO2削減 kg (co2_kg_avoided)", "co2_kg_avoided"),
    ("想定平均速度 km/h (speed_kmh)", "speed_kmh"), ("CO2係数 kg/km (co2_kg_per_km)", "co2_kg_per_km"),
]


def _rows(report: Report) -> list[Row]:
    return [report.total, *report.by_municipality, *report.by_branch, *report.by_service, *report.by_month,
            *report.detail]


def _flat(row: Row, report: Report) -> dict[str, object]:
    assert row.figures is not None
    out: dict[str, object] = {**row.labels(), **row.figures.as_dict()}
    for i, n in enumerate(row.figures.satisfaction_dist):
        out[f"s{i + 1}"] = n
    out["speed_kmh"] = report.assumptions.speed_kmh
    out["co2_kg_per_km"] = report.assumptions.co2_kg_per_km
    return out


def to_csv(report: Report) -> bytes:
    """UTF-8 with BOM (Excel opens it as UTF-8), CRLF line ends, one header row."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([h for h, _ in CSV_COLUMNS])
    for row in _rows(report):
        flat = _flat(row, report)
        w.writerow(["" if flat.get(k) is None else flat.get(k) for _, k in CSV_COLUMNS])
    return buf.getvalue().encode("utf-8-sig")


def to_json(report: Report, generated_at: datetime) -> str:
    def rows(rs: list[Row]) -> list[dict[str, object]]:
        return [{**r.labels(), **({"complete": r.month not in report.open_months} if r.level == "month" else {}),
                 **(r.figures.as_dict() if r.figures else {})} for r in rs]

    d = report.data
    out = {
        "report": "introduction_effect", "title_ja": "導入効果レポート", "title_en": "Introduction effect report",
        "period": {"from": d.date_from.isoformat(), "to": d.date_to.isoformat(), "timezone": "Asia/Tokyo"},
        "municipality": d.municipality.code if d.municipality else None,
        "generated_at": generated_at.astimezone(JST).isoformat(timespec="seconds"),
        "assumptions": {
            "speed_kmh": report.assumptions.speed_kmh, "co2_kg_per_km": report.assumptions.co2_kg_per_km,
            "distance": "round trip = 2 × one-way distance from the branch to Kitami city hall",
        },
        "definitions": [{"ja": ja, "en": en, "text_ja": tja, "text_en": ten} for ja, en, tja, ten in DEFINITIONS],
        "totals": rows([report.total])[0],
        "by_municipality": rows(report.by_municipality), "by_branch": rows(report.by_branch),
        "by_service": rows(report.by_service), "by_month": rows(report.by_month), "detail": rows(report.detail),
    }
    return json.dumps(out, ensure_ascii=False, indent=2)


# ---------------------------------------------------------------- HTML
def _n(v: float | int | None, digits: int = 0) -> str:
    if v is None:
        return "—"
    return f"{v:,.{digits}f}"


def _mmss(seconds: float | None) -> str:
    """Minutes and seconds (1:05); hours when long (1:02:05)."""
    if seconds is None:
        return "—"
    total = round(seconds)
    h, rest = divmod(total, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


TABLE_COLUMNS: list[tuple[str, str, Callable[[Figures], str]]] = [
    ("相談件数", "consultations", lambda f: _n(f.consultations)),
    ("利用端末", "kiosks used", lambda f: _n(f.unique_kiosks)),
    ("待ち 中央値 / 90%", "wait p50 / p90 (m:ss)", lambda f: f"{_mmss(f.wait_p50_s)} / {_mmss(f.wait_p90_s)}"),
    ("通話 中央値", "talk p50 (m:ss)", lambda f: _mmss(f.talk_p50_s)),
    ("放棄率", "abandonment", lambda f: _pct(f.abandonment_rate)),
    ("転送", "transfers", lambda f: _n(f.transfers)),
    ("担当不在", "no specialist", lambda f: _n(f.no_specialist)),
    ("満足度", "satisfaction", lambda f: _n(f.satisfaction_mean, 2)),
    ("回答 1/2/3/4/5", "answers 1–5", lambda f: "/".join(str(n) for n in f.satisfaction_dist)),
    ("来庁不要 はい/いいえ", "saved a trip yes/no", lambda f: f"{f.saved_trip_yes} / {f.saved_trip_no}"),
    ("削減距離 km", "km avoided", lambda f: _n(f.round_trip_km, 1)),
    ("削減時間 h", "hours saved", lambda f: _n(f.hours_saved, 1)),
    ("CO2削減 kg", "CO2 avoided kg", lambda f: _n(f.co2_kg, 1)),
]

CSS = """
@page { size: A4 landscape; margin: 12mm; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans CJK JP", "Noto Sans JP", "Hiragino Sans", "Yu Gothic", "Meiryo", sans-serif;
       color: #1b1f24; margin: 24px auto; max-width: 1180px; padding: 0 16px; line-height: 1.5; font-size: 14px; }
h1 { font-size: 26px; margin: 0 0 4px; } h1 small, h2 small, th small { font-weight: normal; color: #555; }
h2 { font-size: 19px; margin: 28px 0 8px; border-bottom: 2px solid #1f5fae; padding-bottom: 3px; }
h2 small { font-size: 14px; margin-left: 6px; }
.meta { color: #444; margin: 0 0 14px; }
.assume { border: 1px solid #b9c6d8; background: #f3f7fc; padding: 10px 14px; border-radius: 6px; margin: 12px 0; }
.assume b { color: #1f5fae; }
.kpis { display: grid; grid-template-columns: repeat(4, 1fr); gap: 10px; margin: 14px 0; }
.kpi { border: 1px solid #cfd7e3; border-radius: 8px; padding: 10px 12px; }
.kpi .v { font-size: 28px; font-weight: 800; font-variant-numeric: tabular-nums; }
.kpi .v small { font-size: 14px; font-weight: 600; margin-left: 3px; }
.kpi .l { color: #444; font-size: 13px; }
.charts { display: grid; grid-template-columns: 3fr 2fr; gap: 12px; align-items: start; }
.charts figure { margin: 0; border: 1px solid #e1e6ee; border-radius: 6px; padding: 6px; break-inside: avoid; }
.charts img { width: 100%; height: auto; display: block; }
table { border-collapse: collapse; width: 100%; font-size: 12px; margin: 6px 0 10px; }
th, td { border: 1px solid #c9d1dc; padding: 3px 5px; }
th { background: #eef2f7; font-weight: 700; text-align: center; vertical-align: bottom; line-height: 1.25;
     word-break: keep-all; }
th small { display: block; font-size: 10px; word-break: normal; }
th:first-child, td.name { text-align: left; min-width: 11em; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.name small { display: block; color: #555; font-size: 11px; }
tr.total td { font-weight: 700; background: #f7f9fc; }
.note { color: #444; font-size: 12.5px; } .note small { display: block; color: #666; }
.defs dt { font-weight: 700; margin-top: 6px; } .defs dd { margin: 0 0 0 1em; color: #333; }
.defs dd span { color: #555; display: block; }
footer { margin-top: 24px; color: #666; font-size: 12px; }
@media print {
  body { margin: 0; max-width: none; font-size: 11px; }
  h2 { break-after: avoid; } table, figure, .kpis { break-inside: avoid; }
  tr { break-inside: avoid; } .pagebreak { break-before: page; }
}
"""


def _table(title_ja: str, title_en: str, rows: list[Row], name: Callable[[Row], tuple[str, str]],
           head_ja: str, head_en: str, total: Row | None = None) -> str:
    head = "".join(f"<th>{escape(ja)}<small>{escape(en)}</small></th>" for ja, en, _ in TABLE_COLUMNS)
    body = []
    for row in ([total] if total else []) + rows:
        assert row.figures is not None
        ja, en = name(row) if row.level != "total" else ("合計", "Total")
        cells = "".join(f'<td class="num">{escape(fn(row.figures))}</td>' for _, _, fn in TABLE_COLUMNS)
        cls = ' class="total"' if row.level == "total" else ""
        body.append(f'<tr{cls}><td class="name">{escape(ja)}<small>{escape(en)}</small></td>{cells}</tr>')
    return (f"<h2>{escape(title_ja)}<small>{escape(title_en)}</small></h2>"
            f"<table><thead><tr><th>{escape(head_ja)}<small>{escape(head_en)}</small></th>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def _matrix(report: Report) -> str:
    """Consultations per month (rows) and municipality (columns): the adoption curve of each town."""
    munis = report.data.municipalities
    months = [r.month for r in report.by_month]
    head = "".join(f"<th>{escape(m.name_ja)}<small>{escape(m.name_en)}</small></th>" for m in munis)
    counts: dict[tuple[str, int], int] = {}
    for f in report.data.facts:
        if f.consulted:
            key = (f.month, f.branch.municipality.id)
            counts[key] = counts.get(key, 0) + 1
    body = []
    for mo in months:
        cells = "".join(f'<td class="num">{counts.get((mo, m.id), 0)}</td>' for m in munis)
        total = sum(counts.get((mo, m.id), 0) for m in munis)
        name = escape(report.month_label(mo))
        body.append(f'<tr><td class="name">{name}</td>{cells}<td class="num"><b>{total}</b></td></tr>')
    return ("<h2>月別・市町別の相談件数<small>Consultations by month and municipality</small></h2>"
            f"<table class=\"matrix\"><thead><tr><th>月<small>month</small></th>{head}"
            f"<th>計<small>total</small></th></tr></thead><tbody>{''.join(body)}</tbody></table>")


def to_html(report: Report, charts: dict[str, str], generated_at: datetime) -> str:
    d, a = report.data, report.assumptions
    f = report.total.figures
    assert f is not None
    scope_ja = d.municipality.name_ja if d.municipality else "5市町（北見市・美幌町・津別町・訓子府町・置戸町）"
    scope_en = d.municipality.name_en if d.municipality else "five municipalities"
    period = f"{d.date_from.isoformat()} 〜 {d.date_to.isoformat()}"
    stamp = generated_at.astimezone(JST).strftime("%Y-%m-%d %H:%M")
    kpis = [
        ("相談件数", "consultations", _n(f.consultations), "件"),
        ("移動しなくて済んだ往復距離", "round-trip km avoided", _n(f.round_trip_km, 0), "km"),
        ("節約できた移動時間", "travel hours saved", _n(f.hours_saved, 1), "時間"),
        ("CO2削減量", "CO2 avoided", _n(f.co2_kg, 1), "kg"),
        ("満足度 平均（5段階）", "satisfaction (of 5)", _n(f.satisfaction_mean, 2), f"n={f.feedback_count}"),
        ("「来庁せずに済んだ」", "'saved me a trip' (yes / no)", f"{f.saved_trip_yes} / {f.saved_trip_no}", ""),
        ("待ち時間 中央値 / 90%（分:秒）", "wait p50 / p90 (m:ss)",
         f"{_mmss(f.wait_p50_s)} / {_mmss(f.wait_p90_s)}", ""),
        ("放棄率", "abandonment rate", _pct(f.abandonment_rate), ""),
    ]
    kpi_html = "".join(
        f'<div class="kpi"><div class="v">{escape(v)}<small>{escape(unit)}</small></div>'
        f'<div class="l">{escape(ja)}<br><small>{escape(en)}</small></div></div>' for ja, en, v, unit in kpis)
    defs = "".join(f"<dt>{escape(ja)} <small>{escape(en)}</small></dt><dd>{escape(tja)}<span>{escape(ten)}</span></dd>"
                   for ja, en, tja, ten in DEFINITIONS)
    tables = [
        _table("市町別", "By municipality", report.by_municipality,
               lambda r: (r.municipality_ja, r.municipality_en), "市町", "Municipality", report.total),
        _table("窓口別", "By branch", report.by_branch,
               lambda r: (r.branch_ja, f"{r.branch_en} · 片道 {_n(r.distance_km, 1)} km"),
               "窓口", "Branch（片道距離 one way）"),
        _table("相談種別", "By service", report.by_service, lambda r: (r.service_ja, r.service_en),
               "相談種別", "Service"),
        _table("月別", "By month", report.by_month,
               lambda r: (report.month_label(r.month), "in progress" if r.month in report.open_months else ""),
               "月", "Month"),
    ]
    matrix = _matrix(report)
    return f"""<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>導入効果レポート {escape(period)} — Introduction effect report</title>
<style>{CSS}</style>
</head>
<body>
<header>
<h1>遠隔窓口 導入効果レポート <small>Remote service window — introduction effect report</small></h1>
<p class="meta">対象期間 Period: <b>{escape(period)}</b>（日本時間 JST）　対象 Scope: <b>{escape(scope_ja)}</b>
 <small>{escape(scope_en)}</small>　作成 Generated: {escape(stamp)}</p>
<div class="assume" id="assumptions"><b>試算の前提 Assumptions</b>：
平均移動速度 <b id="speed">{_n(a.speed_kmh, 1)} km/h</b>（average travel speed）、
CO2排出係数 <b id="co2factor">{a.co2_kg_per_km:g} kg-CO2/km</b>（per km, passenger car）、
距離は各窓口から北見市役所までの片道距離 × 2（往復）× 相談件数
<small>(round trip from each branch to Kitami city hall × consultations)</small></div>
</header>
<section class="kpis" id="kpis">{kpi_html}</section>
<section class="charts">
<figure><img alt="月別の相談件数 Consultations per month" src="{charts['monthly']}"></figure>
<figure><img alt="満足度の分布 Satisfaction" src="{charts['satisfaction']}"></figure>
<figure><img alt="市町別 削減往復距離 Travel avoided by municipality" src="{charts['distance']}"></figure>
<figure><img alt="待ち時間 Wait" src="{charts['waits']}"></figure>
</section>
{"".join(tables)}
<div class="pagebreak"></div>
{matrix}
<p class="note">月 × 窓口 × 相談種別の明細は CSV / JSON 形式で出力できます（集計単位 detail）。
<small>The month × branch × service detail is in the CSV and JSON formats (level "detail").</small></p>
<h2>用語の定義<small>Definitions</small></h2>
<dl class="defs">{defs}</dl>
<footer>Madoguchi — 集計値のみを掲載しています（個人を特定する情報・相談内容は含みません）。
Aggregates only: no personal data or consultation content.</footer>
</body>
</html>
"""
