"""The report as one self-contained printable HTML file (also the source of the PDF)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from html import escape

from server.reports.compute import Figures, Report, Row
from server.reports.cost_share import Minutes
from server.reports.data import JST
from server.reports.render import DEFINITIONS


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


def _pct(v: float | None, digits: int = 1) -> str:
    return "—" if v is None else f"{v * 100:.{digits}f}%"


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
    ("来庁不要 はい/いいえ/無回答", "saved a trip yes/no/unanswered",
     lambda f: f"{f.saved_trip_yes} / {f.saved_trip_no} / {f.saved_trip_unanswered}"),
    ("削減距離 km「はい」", "km avoided (yes)", lambda f: _n(f.round_trip_km, 1)),
    ("削減時間 h「はい」", "hours saved (yes)", lambda f: _n(f.hours_saved, 1)),
    ("CO2削減 kg「はい」", "CO2 avoided kg (yes)", lambda f: _n(f.co2_kg, 1)),
    ("推計 km（無回答分）", "estimate km (unanswered)", lambda f: _n(f.estimate_km, 1)),
]

CSS = """
@page { size: A4 landscape; margin: 11mm 11mm 14mm; }
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
.kpi .basis { color: #1f5fae; font-size: 11.5px; display: block; }
.travel { display: grid; grid-template-columns: 3fr 2fr; gap: 12px; align-items: stretch; margin: 6px 0 14px; }
.travel table { margin: 0; }
.estimate { border: 2px dashed #e07b00; border-radius: 8px; padding: 8px 12px; background: #fffaf2; }
.estimate .tag { display: inline-block; background: #e07b00; color: #fff; font-weight: 800; border-radius: 4px;
                 padding: 0 8px; margin-right: 6px; }
.estimate .v { font-size: 22px; font-weight: 800; font-variant-numeric: tabular-nums; margin: 4px 0; }
.estimate p { margin: 2px 0; font-size: 12.5px; color: #444; }
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
tr.sub td { background: #fbfcfe; } tr.sub td.name { padding-left: 2em; }
tr.uncounted td { color: #666; }
.note { color: #444; font-size: 12.5px; } .note small { display: block; color: #666; }
.defs dt { font-weight: 700; margin-top: 6px; } .defs dd { margin: 0 0 0 1em; color: #333; }
.defs dd span { color: #555; display: block; }
footer { margin-top: 24px; color: #666; font-size: 12px; }
@media print {
  body { margin: 0; max-width: none; font-size: 11px; }
  h2 { break-after: avoid; } table, figure, .kpis, .travel { break-inside: avoid; }
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


def _travel(report: Report) -> str:
    """How the travel figures are counted: yes (counted), no (not), unanswered (apart), and the labelled estimate."""
    f = report.total.figures
    assert f is not None
    rows = [
        ("", "「はい」来庁せずに済んだ", "yes — counted", f.saved_trip_yes, _n(f.round_trip_km, 1),
         _n(f.hours_saved, 1), _n(f.co2_kg, 1)),
        ("uncounted", "「いいえ」", "no — not counted", f.saved_trip_no, "0", "0", "0"),
        ("uncounted", "無回答", "unanswered — not counted (see the estimate)", f.saved_trip_unanswered, "—", "—",
         "—"),
    ]
    body = "".join(
        f'<tr class="{cls}"><td class="name">{escape(ja)}<small>{escape(en)}</small></td>'
        f'<td class="num">{n}</td><td class="num">{km}</td><td class="num">{h}</td><td class="num">{kg}</td></tr>'
        for cls, ja, en, n, km, h, kg in rows)
    rate = "—" if report.yes_rate is None else _pct(report.yes_rate)
    return f"""<h2>移動削減の数え方<small>Travel avoided: what is counted</small></h2>
<div class="travel" id="travel">
<table><thead><tr><th>相談後の回答「来庁せずに済みましたか」<small>answer to "did this save you a trip?"</small></th>
<th>相談件数<small>consultations</small></th><th>往復距離 km<small>round trip km</small></th>
<th>移動時間 h<small>hours</small></th><th>CO2 kg<small>CO2 kg</small></th></tr></thead><tbody>{body}</tbody></table>
<div class="estimate" id="estimate"><span class="tag">推計</span><b>無回答分の推計</b>
<small>Estimate for the unanswered consultations</small>
<div class="v">約 {_n(f.estimate_km, 0)} km ・ {_n(f.estimate_hours, 1)} 時間 ・ CO2 {_n(f.estimate_co2_kg, 1)} kg</div>
<p>無回答 {f.saved_trip_unanswered} 件の往復距離 {_n(f.unanswered_km, 0)} km × 観測された「はい」の割合 {rate}
（はい {f.saved_trip_yes} ÷（はい {f.saved_trip_yes} ＋ いいえ {f.saved_trip_no}））。
<b>参考値であり、上の見出しの数値には含めていません。</b></p>
<p><small>Unanswered round-trip km × the observed yes rate. For reference only; <b>not</b> included in the
headline figures.</small></p></div>
</div>"""


def _minutes_cells(m: Minutes) -> str:
    return "".join(f'<td class="num">{v}</td>' for v in (
        _n(m.sessions), _n(m.talk_min, 1), _n(m.wrapup_min, 1), _n(m.total_min, 1)))


def _cost_share(report: Report) -> str:
    cs = report.cost_share
    body = [f'<tr class="total"><td class="name">合計<small>Total</small></td>{_minutes_cells(cs.total)}'
            f'<td class="num">{"100.0%" if cs.total.sessions else "—"}</td></tr>']
    for m in cs.municipalities:
        body.append(f'<tr><td class="name">{escape(m.municipality.name_ja)}<small>{escape(m.municipality.name_en)}'
                    f'</small></td>{_minutes_cells(m.minutes)}<td class="num"><b>{_pct(m.share)}</b></td></tr>')
        for s in m.services:
            body.append(f'<tr class="sub"><td class="name">{escape(s.service.name_ja)}<small>'
                        f'{escape(s.service.name_en)}</small></td>{_minutes_cells(s.minutes)}<td></td></tr>')
    head = "".join(f"<th>{ja}<small>{en}</small></th>" for ja, en in (
        ("通話数", "calls"), ("通話 分", "talk min"), ("後処理 分", "wrap-up min"),
        ("専門職対応 分", "specialist min"), ("按分比率", "share")))
    return f"""<h2>市町別・相談種別の専門職対応時間（負担金按分の基礎）<small>Specialist minutes by municipality and
service (basis for cost sharing)</small></h2>
<table id="cost-share"><thead><tr><th>市町 / 相談種別<small>municipality / service</small></th>{head}</tr></thead>
<tbody>{''.join(body)}</tbody></table>
<p class="note">住民の市町（利用した窓口の市町）と、各通話で対応した相談種別ごと。転送後の通話は転送先の相談種別に計上。
按分比率は専門職対応時間（通話＋後処理）の割合で、四捨五入のため合計が100%にならないことがあります。
<small>By the resident's municipality and the service of each call (after a transfer, the service transferred
to). The share is of talk + wrap-up minutes; rounded shares may not add up to exactly 100%.</small></p>"""


def to_html(report: Report, charts: dict[str, str], generated_at: datetime) -> str:
    d, a = report.data, report.assumptions
    f = report.total.figures
    assert f is not None
    scope_ja = d.municipality.name_ja if d.municipality else "5市町（北見市・美幌町・津別町・訓子府町・置戸町）"
    scope_en = d.municipality.name_en if d.municipality else "five municipalities"
    period = f"{d.date_from.isoformat()} 〜 {d.date_to.isoformat()}"
    stamp = generated_at.astimezone(JST).strftime("%Y-%m-%d %H:%M")
    yes_only = ("「来庁せずに済んだ」と回答した相談のみ", "only consultations that answered 'saved a trip'")
    kpis = [
        ("相談件数", "consultations", _n(f.consultations), "件", None),
        ("移動しなくて済んだ往復距離", "round-trip km avoided", _n(f.round_trip_km, 0), "km", yes_only),
        ("節約できた移動時間", "travel hours saved", _n(f.hours_saved, 1), "時間", yes_only),
        ("CO2削減量", "CO2 avoided", _n(f.co2_kg, 1), "kg", yes_only),
        ("満足度 平均（5段階）", "satisfaction (of 5)", _n(f.satisfaction_mean, 2), f"n={f.feedback_count}", None),
        ("「来庁せずに済んだ」はい / いいえ / 無回答", "'saved me a trip' yes / no / unanswered",
         f"{f.saved_trip_yes} / {f.saved_trip_no} / {f.saved_trip_unanswered}", "", None),
        ("待ち時間 中央値 / 90%（分:秒）", "wait p50 / p90 (m:ss)",
         f"{_mmss(f.wait_p50_s)} / {_mmss(f.wait_p90_s)}", "", None),
        ("放棄率", "abandonment rate", _pct(f.abandonment_rate), "", None),
    ]
    kpi_html = "".join(
        f'<div class="kpi"><div class="v">{escape(v)}<small>{escape(unit)}</small></div>'
        f'<div class="l">{escape(ja)}<br><small>{escape(en)}</small>'
        + (f'<span class="basis">{escape(basis[0])}<br>{escape(basis[1])}</span>' if basis else "")
        + "</div></div>" for ja, en, v, unit, basis in kpis)
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
距離は各窓口から北見市役所までの片道距離 × 2（往復）。
<b>相談後に「来庁せずに済んだ」と回答した相談だけを数えます</b>（「いいえ」は数えず、無回答は推計として別に示す）。
<small>(Round trip from each branch to Kitami city hall, counted only for consultations whose resident answered
that the window saved a trip; "no" counts nothing, unanswered ones are estimated apart.)</small></div>
</header>
<section class="kpis" id="kpis">{kpi_html}</section>
{_travel(report)}
<section class="charts">
<figure><img alt="月別の相談件数 Consultations per month" src="{charts['monthly']}"></figure>
<figure><img alt="満足度の分布 Satisfaction" src="{charts['satisfaction']}"></figure>
<figure><img alt="市町別 削減往復距離 Travel avoided by municipality" src="{charts['distance']}"></figure>
<figure><img alt="待ち時間 Wait" src="{charts['waits']}"></figure>
</section>
{"".join(tables)}
{_cost_share(report)}
<div class="pagebreak"></div>
{_matrix(report)}
<p class="note">月 × 窓口 × 相談種別の明細は CSV / JSON 形式で出力できます（集計単位 detail）。
<small>The month × branch × service detail is in the CSV and JSON formats (level "detail").</small></p>
<h2>用語の定義<small>Definitions</small></h2>
<dl class="defs">{defs}</dl>
<footer>Madoguchi — 集計値のみを掲載しています（個人を特定する情報・相談内容は含みません）。
Aggregates only: no personal data or consultation content.</footer>
</body>
</html>
"""
