"""Aggregation: the figures of one group of ticket facts, and the groupings the report shows.

Definitions (also printed on the report):

- consultations: tickets that reached a specialist; unique kiosks among them
- wait p50/p90: first ``accepted_at − ticket_created_at`` of each consultation;
  percentiles interpolate linearly between closest ranks (spreadsheet PERCENTILE.INC)
- talk p50: per consultation, the sum of its sessions' ``ended_at − accepted_at``
- abandonment rate: (abandoned + cancelled) / tickets that entered the queue
  (requests refused at once for lack of a specialist never queued: counted apart)
- transfers: sessions that ended by a transfer
- satisfaction: every feedback answer (1–5)
- saved a trip: per consultation, the resident's answer (the last one given):
  yes, no, or unanswered (no feedback, or feedback without that answer)
- round-trip km saved: 2 × branch one-way km to Kitami city hall, per consultation
  whose resident answered **yes** ("no" counts nothing, unanswered is kept apart);
  hours at the stated average speed; CO2 at the stated kg per km
- estimate (推計): the unanswered consultations' round-trip km × the observed yes
  rate of the whole report, yes / (yes + no). Shown beside the headline, never in it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import date

from server.reports.cost_share import CostShare, cost_share
from server.reports.data import ReportData, TicketFact


def percentile(values: Iterable[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default, Excel PERCENTILE.INC)."""
    xs = sorted(values)
    if not xs:
        return None
    pos = (len(xs) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass(frozen=True)
class Assumptions:
    speed_kmh: float
    co2_kg_per_km: float


@dataclass(frozen=True)
class Figures:
    tickets: int
    queued: int
    consultations: int
    unique_kiosks: int
    wait_p50_s: float | None
    wait_p90_s: float | None
    talk_p50_s: float | None
    abandoned: int
    cancelled: int
    abandonment_rate: float | None
    transfers: int
    no_specialist: int
    feedback_count: int
    satisfaction_mean: float | None
    satisfaction_dist: tuple[int, int, int, int, int]  # answers of 1..5
    saved_trip_yes: int  # consultations, by the resident's answer
    saved_trip_no: int
    saved_trip_unanswered: int
    round_trip_km: float  # "yes" consultations only: the headline
    hours_saved: float
    co2_kg: float
    unanswered_km: float  # what the unanswered consultations would be if every one was a yes (never shown as saved)
    estimate_km: float | None  # unanswered_km × the observed yes rate (推計); None when nobody answered yes or no
    estimate_hours: float | None
    estimate_co2_kg: float | None

    def as_dict(self) -> dict[str, object]:
        return {
            "consultations": self.consultations, "unique_kiosks": self.unique_kiosks, "tickets": self.tickets,
            "queued_tickets": self.queued,
            "wait_p50_s": _r(self.wait_p50_s, 1), "wait_p90_s": _r(self.wait_p90_s, 1),
            "talk_p50_s": _r(self.talk_p50_s, 1), "abandoned": self.abandoned, "cancelled": self.cancelled,
            "abandonment_rate": _r(self.abandonment_rate, 4), "transfers": self.transfers,
            "no_specialist": self.no_specialist, "feedback_count": self.feedback_count,
            "satisfaction_mean": _r(self.satisfaction_mean, 2),
            "satisfaction_distribution": {str(i + 1): n for i, n in enumerate(self.satisfaction_dist)},
            "saved_trip_yes": self.saved_trip_yes, "saved_trip_no": self.saved_trip_no,
            "saved_trip_unanswered": self.saved_trip_unanswered,
            "round_trip_km_saved": _r(self.round_trip_km, 1), "hours_saved": _r(self.hours_saved, 1),
            "co2_kg_avoided": _r(self.co2_kg, 1),
            "unanswered_round_trip_km": _r(self.unanswered_km, 1),
            "estimate_round_trip_km_saved": _r(self.estimate_km, 1), "estimate_hours_saved": _r(self.estimate_hours, 1),
            "estimate_co2_kg_avoided": _r(self.estimate_co2_kg, 1),
        }


def _r(v: float | None, digits: int) -> float | None:
    return None if v is None else round(v, digits)


def yes_rate(facts: list[TicketFact]) -> float | None:
    """Observed share of "yes" among the consultations whose resident answered yes or no."""
    answers = [f.trip_answer for f in facts if f.consulted and f.trip_answer is not None]
    return sum(1 for a in answers if a) / len(answers) if answers else None


def figures(facts: list[TicketFact], a: Assumptions, rate: float | None) -> Figures:
    """``rate``: the observed yes rate the estimate (推計) applies to unanswered consultations."""
    consulted = [f for f in facts if f.consulted]
    queued = [f for f in facts if f.state != "no_specialist"]
    abandoned = sum(1 for f in facts if f.state == "abandoned")
    cancelled = sum(1 for f in facts if f.state == "cancelled")
    ratings = [r for f in facts for r in f.ratings]
    yes = [f for f in consulted if f.trip_answer is True]
    unanswered = [f for f in consulted if f.trip_answer is None]
    km = sum(2 * f.branch.distance_km for f in yes)
    unanswered_km = sum(2 * f.branch.distance_km for f in unanswered)
    estimate = unanswered_km * rate if rate is not None else None
    return Figures(
        tickets=len(facts), queued=len(queued), consultations=len(consulted),
        unique_kiosks=len({f.kiosk_id for f in consulted}),
        wait_p50_s=percentile((f.wait_s for f in consulted if f.wait_s is not None), 0.5),
        wait_p90_s=percentile((f.wait_s for f in consulted if f.wait_s is not None), 0.9),
        talk_p50_s=percentile((f.talk_s for f in consulted if f.talk_s is not None), 0.5),
        abandoned=abandoned, cancelled=cancelled,
        abandonment_rate=(abandoned + cancelled) / len(queued) if queued else None,
        transfers=sum(f.transfers for f in facts),
        no_specialist=sum(1 for f in facts if f.state == "no_specialist"),
        feedback_count=len(ratings), satisfaction_mean=sum(ratings) / len(ratings) if ratings else None,
        satisfaction_dist=tuple(sum(1 for r in ratings if r == i) for i in range(1, 6)),  # type: ignore[arg-type]
        saved_trip_yes=len(yes), saved_trip_no=sum(1 for f in consulted if f.trip_answer is False),
        saved_trip_unanswered=len(unanswered),
        round_trip_km=km, hours_saved=_hours(km, a), co2_kg=km * a.co2_kg_per_km, unanswered_km=unanswered_km,
        estimate_km=estimate, estimate_hours=None if estimate is None else _hours(estimate, a),
        estimate_co2_kg=None if estimate is None else estimate * a.co2_kg_per_km,
    )


def _hours(km: float, a: Assumptions) -> float:
    return km / a.speed_kmh if a.speed_kmh > 0 else 0.0


@dataclass(frozen=True)
class Row:
    """One line of a breakdown: its labels, then its figures."""

    level: str  # total | municipality | branch | service | month | detail
    month: str = ""
    municipality_code: str = ""
    municipality_ja: str = ""
    municipality_en: str = ""
    branch_code: str = ""
    branch_ja: str = ""
    branch_en: str = ""
    distance_km: float | None = None
    service_code: str = ""
    service_ja: str = ""
    service_en: str = ""
    figures: Figures | None = None

    def labels(self) -> dict[str, object]:
        out: dict[str, object] = {"level": self.level}
        if self.month:
            out["month"] = self.month
        if self.municipality_code:
            out.update(municipality_code=self.municipality_code, municipality_ja=self.municipality_ja,
                       municipality_en=self.municipality_en)
        if self.branch_code:
            out.update(branch_code=self.branch_code, branch_ja=self.branch_ja, branch_en=self.branch_en,
                       one_way_km=self.distance_km)
        if self.service_code:
            out.update(service_code=self.service_code, service_ja=self.service_ja, service_en=self.service_en)
        return out


@dataclass
class Report:
    data: ReportData
    assumptions: Assumptions
    total: Row
    by_municipality: list[Row]
    by_branch: list[Row]
    by_service: list[Row]
    by_month: list[Row]
    detail: list[Row]
    cost_share: CostShare
    yes_rate: float | None  # observed "saved a trip" yes rate over the whole report: the estimate's basis
    open_months: frozenset[str] = frozenset()  # months not over when the report was made (figures still grow)

    def month_label(self, month: str, ja: bool = True) -> str:
        if month not in self.open_months:
            return month
        return f"{month}（集計途中）" if ja else f"{month} (in progress)"


def months_between(data: ReportData) -> list[str]:
    out, y, m = [], data.date_from.year, data.date_from.month
    while (y, m) <= (data.date_to.year, data.date_to.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _group(facts: list[TicketFact], key: Callable[[TicketFact], Hashable]) -> dict[Hashable, list[TicketFact]]:
    out: dict[Hashable, list[TicketFact]] = {}
    for f in facts:
        out.setdefault(key(f), []).append(f)
    return out


def open_months(months: list[str], today: date) -> frozenset[str]:
    """Months whose last day is today or later."""
    current = f"{today.year:04d}-{today.month:02d}"
    return frozenset(m for m in months if m >= current)


def compute(data: ReportData, a: Assumptions, today: date | None = None) -> Report:
    facts = data.facts
    rate = yes_rate(facts)
    by_m = _group(facts, lambda f: f.branch.municipality.id)
    by_b = _group(facts, lambda f: f.branch.id)
    by_s = _group(facts, lambda f: f.service.id)
    by_mo = _group(facts, lambda f: f.month)
    munis = [Row("municipality", municipality_code=m.code, municipality_ja=m.name_ja, municipality_en=m.name_en,
                 figures=figures(by_m.get(m.id, []), a, rate)) for m in data.municipalities]
    branches = [Row("branch", municipality_code=b.municipality.code, municipality_ja=b.municipality.name_ja,
                    municipality_en=b.municipality.name_en, branch_code=b.code, branch_ja=b.name_ja,
                    branch_en=b.name_en, distance_km=b.distance_km, figures=figures(by_b.get(b.id, []), a, rate))
                for b in data.branches]
    services = [Row("service", service_code=s.code, service_ja=s.name_ja, service_en=s.name_en,
                    figures=figures(by_s.get(s.id, []), a, rate)) for s in data.services]
    months = [Row("month", month=mo, figures=figures(by_mo.get(mo, []), a, rate)) for mo in months_between(data)]
    service_order = {s.id: i for i, s in enumerate(data.services)}
    branch_order = {b.id: i for i, b in enumerate(data.branches)}
    detail_groups = _group(facts, lambda f: (f.month, branch_order[f.branch.id], service_order[f.service.id]))
    detail = []
    for key in sorted(detail_groups, key=lambda k: k):  # type: ignore[arg-type,return-value]
        group = detail_groups[key]
        b, s = group[0].branch, group[0].service
        detail.append(Row("detail", month=group[0].month, municipality_code=b.municipality.code,
                          municipality_ja=b.municipality.name_ja, municipality_en=b.municipality.name_en,
                          branch_code=b.code, branch_ja=b.name_ja, branch_en=b.name_en, distance_km=b.distance_km,
                          service_code=s.code, service_ja=s.name_ja, service_en=s.name_en,
                          figures=figures(group, a, rate)))
    return Report(data=data, assumptions=a, total=Row("total", figures=figures(facts, a, rate)),
                  by_municipality=munis, by_branch=branches, by_service=services, by_month=months, detail=detail,
                  cost_share=cost_share(data), yes_rate=rate,
                  open_months=open_months([r.month for r in months], today) if today else frozenset())
