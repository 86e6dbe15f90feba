"""CSV for spreadsheets and JSON for programs, and the definitions every format prints (HTML: ``html.py``)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

from server.reports.compute import Report, Row
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
    ("来庁不要の回答", "Saved a trip",
     "相談後の「来庁せずに済みましたか」への回答。相談ごとに はい・いいえ・無回答（回答なし）に分ける",
     "the resident's answer to 'did this save you a trip?' after the call: yes, no or unanswered, per consultation"),
    ("移動削減", "Travel avoided",
     "「はい」と回答した相談だけを数える：各窓口から北見市役所までの片道距離 × 2（往復）。"
     "「いいえ」は数えず、無回答は別に示す",
     "only consultations whose resident answered yes: one-way distance from the branch to Kitami city hall × 2 "
     "(round trip). 'No' counts nothing; unanswered ones are shown apart"),
    ("推計", "Estimate",
     "無回答の相談の往復距離 × この期間に観測された「はい」の割合（はい ÷（はい＋いいえ））。"
     "参考値であり、見出しの数値には含めない",
     "round-trip km of the unanswered consultations × the observed yes rate of the period (yes ÷ (yes + no)). "
     "For reference only: never added to the headline figures"),
    ("専門職対応時間", "Specialist minutes",
     "通話時間（応答〜終了）と後処理（終了〜記録完了）の合計。住民の市町と、その通話で対応した相談種別ごと。"
     "負担金按分の基礎",
     "talk (answer to end) plus wrap-up (end to record done), by the resident's municipality and the service "
     "of each call: the basis for sharing the cost"),
]

# (CSV header, key in Figures.as_dict, in labels or in the cost-share columns)
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
    ("来庁不要 無回答 (saved_trip_unanswered)", "saved_trip_unanswered"),
    ("削減往復距離 km「はい」のみ (round_trip_km_saved)", "round_trip_km_saved"),
    ("削減移動時間 h「はい」のみ (hours_saved)", "hours_saved"),
    ("CO2削減 kg「はい」のみ (co2_kg_avoided)", "co2_kg_avoided"),
    ("無回答分の往復距離 km (unanswered_round_trip_km)", "unanswered_round_trip_km"),
    ("推計 無回答分の削減距離 km (estimate_round_trip_km_saved)", "estimate_round_trip_km_saved"),
    ("推計 無回答分の削減時間 h (estimate_hours_saved)", "estimate_hours_saved"),
    ("推計 無回答分のCO2削減 kg (estimate_co2_kg_avoided)", "estimate_co2_kg_avoided"),
    ("専門職対応 通話数 (sessions)", "sessions"), ("通話時間 分 (talk_minutes)", "talk_minutes"),
    ("後処理時間 分 (wrapup_minutes)", "wrapup_minutes"),
    ("専門職対応時間 分 (specialist_minutes)", "specialist_minutes"),
    ("按分比率 % (share_pct)", "share_pct"),
    ("想定平均速度 km/h (speed_kmh)", "speed_kmh"), ("CO2係数 kg/km (co2_kg_per_km)", "co2_kg_per_km"),
    ("推計に用いた「はい」の割合 (estimate_yes_rate)", "estimate_yes_rate"),
]


def pct(share: float | None, digits: int = 2) -> float | None:
    return None if share is None else round(share * 100, digits)


def _rows(report: Report) -> list[Row]:
    return [report.total, *report.by_municipality, *report.by_branch, *report.by_service, *report.by_month,
            *report.detail]


def _flat(row: Row, report: Report) -> dict[str, object]:
    assert row.figures is not None
    out: dict[str, object] = {**row.labels(), **row.figures.as_dict()}
    for i, n in enumerate(row.figures.satisfaction_dist):
        out[f"s{i + 1}"] = n
    return out


def _cost_share_rows(report: Report) -> list[dict[str, object]]:
    """``cost_share_municipality`` rows (with the share) and ``cost_share_detail`` rows (× service)."""
    out: list[dict[str, object]] = []
    for m in report.cost_share.municipalities:
        muni = {"municipality_code": m.municipality.code, "municipality_ja": m.municipality.name_ja}
        out.append({"level": "cost_share_municipality", **muni, **m.minutes.as_dict(), "share_pct": pct(m.share)})
    for m in report.cost_share.municipalities:
        for s in m.services:
            out.append({"level": "cost_share_detail", "municipality_code": m.municipality.code,
                        "municipality_ja": m.municipality.name_ja, "service_code": s.service.code,
                        "service_ja": s.service.name_ja, **s.minutes.as_dict()})
    return out


def to_csv(report: Report) -> bytes:
    """UTF-8 with BOM (Excel opens it as UTF-8), CRLF line ends, one header row."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([h for h, _ in CSV_COLUMNS])
    assumptions = {"speed_kmh": report.assumptions.speed_kmh, "co2_kg_per_km": report.assumptions.co2_kg_per_km,
                   "estimate_yes_rate": None if report.yes_rate is None else round(report.yes_rate, 4)}
    for flat in [*(_flat(row, report) for row in _rows(report)), *_cost_share_rows(report)]:
        flat = {**flat, **assumptions}
        w.writerow(["" if flat.get(k) is None else flat.get(k) for _, k in CSV_COLUMNS])
    return buf.getvalue().encode("utf-8-sig")


def to_json(report: Report, generated_at: datetime) -> str:
    def rows(rs: list[Row]) -> list[dict[str, object]]:
        return [{**r.labels(), **({"complete": r.month not in report.open_months} if r.level == "month" else {}),
                 **(r.figures.as_dict() if r.figures else {})} for r in rs]

    d = report.data
    cs = report.cost_share
    out = {
        "report": "introduction_effect", "title_ja": "導入効果レポート", "title_en": "Introduction effect report",
        "period": {"from": d.date_from.isoformat(), "to": d.date_to.isoformat(), "timezone": "Asia/Tokyo"},
        "municipality": d.municipality.code if d.municipality else None,
        "generated_at": generated_at.astimezone(JST).isoformat(timespec="seconds"),
        "assumptions": {
            "speed_kmh": report.assumptions.speed_kmh, "co2_kg_per_km": report.assumptions.co2_kg_per_km,
            "distance": "round trip = 2 × one-way distance from the branch to Kitami city hall",
            "counted": "only consultations whose resident answered that the window saved a trip",
        },
        "estimate": {
            "label_ja": "推計", "label_en": "estimate", "included_in_headline": False,
            "yes_rate": None if report.yes_rate is None else round(report.yes_rate, 4),
            "basis": "unanswered consultations' round-trip km × yes / (yes + no) of the whole report",
        },
        "definitions": [{"ja": ja, "en": en, "text_ja": tja, "text_en": ten} for ja, en, tja, ten in DEFINITIONS],
        "totals": rows([report.total])[0],
        "by_municipality": rows(report.by_municipality), "by_branch": rows(report.by_branch),
        "by_service": rows(report.by_service), "by_month": rows(report.by_month), "detail": rows(report.detail),
        "cost_share": {
            "basis": "talk + wrap-up minutes of every call session, by the resident's municipality and the service "
                     "of the session",
            "total": cs.total.as_dict(),
            "municipalities": [{
                "municipality_code": m.municipality.code, "municipality_ja": m.municipality.name_ja,
                "municipality_en": m.municipality.name_en, **m.minutes.as_dict(),
                "share": None if m.share is None else round(m.share, 6), "share_pct": pct(m.share),
                "services": [{"service_code": s.service.code, "service_ja": s.service.name_ja,
                              "service_en": s.service.name_en, **s.minutes.as_dict()} for s in m.services],
            } for m in cs.municipalities],
        },
    }
    return json.dumps(out, ensure_ascii=False, indent=2)
