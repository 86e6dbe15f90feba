"""Specialist minutes by the resident's municipality and service: the basis of cost sharing (負担金按分).

Every call session of a consultation in the period counts for the municipality
of the resident (the ticket's, i.e. the kiosk's branch) and for the service that
session served (after a transfer, the second specialist's minutes go to the
service transferred to). Minutes are the specialist's time on the resident:

- talk: ``ended_at − accepted_at``; a call still going on is not counted yet
- wrap-up (後処理): ``wrapup_done_at − ended_at``; an unfinished wrap-up counts 0

A municipality's share is its minutes over all minutes in the report's scope
(so a one-municipality report shows 100 %). Shares are exact fractions in the
JSON (``share``); rounded percentages may not add up to exactly 100.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.reports.data import MunicipalityInfo, ReportData, ServiceInfo


@dataclass(frozen=True)
class Minutes:
    sessions: int = 0
    talk_s: float = 0.0
    wrapup_s: float = 0.0

    @property
    def talk_min(self) -> float:
        return self.talk_s / 60

    @property
    def wrapup_min(self) -> float:
        return self.wrapup_s / 60

    @property
    def total_min(self) -> float:
        return (self.talk_s + self.wrapup_s) / 60

    def plus(self, talk_s: float, wrapup_s: float) -> Minutes:
        return Minutes(self.sessions + 1, self.talk_s + talk_s, self.wrapup_s + wrapup_s)

    def __add__(self, other: Minutes) -> Minutes:
        return Minutes(self.sessions + other.sessions, self.talk_s + other.talk_s, self.wrapup_s + other.wrapup_s)

    def as_dict(self) -> dict[str, object]:
        return {"sessions": self.sessions, "talk_minutes": round(self.talk_min, 1),
                "wrapup_minutes": round(self.wrapup_min, 1), "specialist_minutes": round(self.total_min, 1)}


@dataclass(frozen=True)
class ServiceMinutes:
    service: ServiceInfo
    minutes: Minutes


@dataclass(frozen=True)
class MunicipalityMinutes:
    municipality: MunicipalityInfo
    minutes: Minutes
    share: float | None  # of all minutes in the scope; None when there are none
    services: list[ServiceMinutes]  # services with at least one session, in service order


@dataclass(frozen=True)
class CostShare:
    total: Minutes
    municipalities: list[MunicipalityMinutes]  # every municipality in scope, in municipality order


def cost_share(data: ReportData) -> CostShare:
    cells: dict[tuple[int, int], Minutes] = {}
    for fact in data.facts:
        for leg in fact.legs:
            if leg.talk_s is None:
                continue
            key = (fact.branch.municipality.id, leg.service.id)
            cells[key] = cells.get(key, Minutes()).plus(leg.talk_s, leg.wrapup_s or 0.0)
    total = sum(cells.values(), Minutes())
    out = []
    for m in data.municipalities:
        services = [ServiceMinutes(s, cells[(m.id, s.id)]) for s in data.services if (m.id, s.id) in cells]
        mine = sum((s.minutes for s in services), Minutes())
        share = mine.total_min / total.total_min if total.total_min > 0 else None
        out.append(MunicipalityMinutes(m, mine, share, services))
    return CostShare(total, out)
