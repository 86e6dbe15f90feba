"""Load one fact per ticket (a resident's request) for the report period.

A *consultation* is a ticket that reached a specialist (at least one call
session). A transferred resident is one consultation with several sessions:
they made one trip's worth of visit, not two. The consultation is counted for
the service of its first session (what the resident asked for), its wait is
first ``accepted_at − ticket_created_at``, its talk time the sum of its
sessions' ``ended_at − accepted_at``.

Months and the period are calendar days in Japan time (JST, UTC+9, no DST).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Branch, CallSession, Feedback, Municipality, Service, Ticket
from signaling.protocol.models import JST


@dataclass(frozen=True)
class MunicipalityInfo:
    id: int
    code: str
    name_ja: str
    name_en: str


@dataclass(frozen=True)
class BranchInfo:
    id: int
    code: str
    name_ja: str
    name_en: str
    distance_km: float
    municipality: MunicipalityInfo


@dataclass(frozen=True)
class ServiceInfo:
    id: int
    code: str
    name_ja: str
    name_en: str


@dataclass(frozen=True)
class Leg:
    """One call session of a consultation: the specialist time it took (for cost sharing)."""

    service: ServiceInfo  # the service this session served (a transfer changes it)
    talk_s: float | None  # accepted → ended; None while the call goes on
    wrapup_s: float | None  # ended → wrap-up done; None while the wrap-up is not finished


@dataclass
class TicketFact:
    ticket_id: int
    month: str  # YYYY-MM in JST
    branch: BranchInfo
    service: ServiceInfo
    state: str
    kiosk_id: int
    consulted: bool = False
    wait_s: float | None = None
    talk_s: float | None = None
    transfers: int = 0
    ratings: list[int] = field(default_factory=list)
    saved_trip: list[bool | None] = field(default_factory=list)  # in the order given
    legs: list[Leg] = field(default_factory=list)

    @property
    def trip_answer(self) -> bool | None:
        """The resident's answer to "did this save you a trip?": the last one given, None if never answered."""
        return next((s for s in reversed(self.saved_trip) if s is not None), None)


@dataclass
class ReportData:
    date_from: date
    date_to: date
    municipality: MunicipalityInfo | None
    municipalities: list[MunicipalityInfo]
    branches: list[BranchInfo]
    services: list[ServiceInfo]
    facts: list[TicketFact]


def period_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """[from 00:00 JST, day after ``to`` 00:00 JST) in UTC: both dates are included."""
    start = datetime.combine(date_from, time.min, JST).astimezone(UTC)
    end = datetime.combine(date_to + timedelta(days=1), time.min, JST).astimezone(UTC)
    return start, end


def month_of(at: datetime) -> str:
    return at.astimezone(JST).strftime("%Y-%m")


async def load(db: AsyncSession, date_from: date, date_to: date, municipality_code: str | None) -> ReportData:
    munis = [MunicipalityInfo(m.id, m.code, m.name_ja, m.name_en) for m in
             (await db.execute(select(Municipality).order_by(Municipality.id))).scalars().all()]
    chosen = None
    if municipality_code is not None:
        chosen = next((m for m in munis if m.code == municipality_code), None)
        if chosen is None:
            raise LookupError(municipality_code)
        munis = [chosen]
    by_muni = {m.id: m for m in munis}
    branches = [BranchInfo(b.id, b.code, b.name_ja, b.name_en, float(b.distance_km or 0.0), by_muni[b.municipality_id])
                for b in (await db.execute(select(Branch).order_by(Branch.municipality_id, Branch.id))
                          ).scalars().unique().all() if b.municipality_id in by_muni]
    services = [ServiceInfo(s.id, s.code, s.name_ja, s.name_en) for s in
                (await db.execute(select(Service).order_by(Service.sort_order, Service.id))).scalars().all()]
    branch_by_id = {b.id: b for b in branches}
    service_by_id = {s.id: s for s in services}

    start, end = period_bounds(date_from, date_to)
    in_period = (Ticket.created_at >= start) & (Ticket.created_at < end)
    if chosen is not None:
        in_period = in_period & (Ticket.municipality_id == chosen.id)
    tickets = (await db.execute(
        select(Ticket.id, Ticket.created_at, Ticket.branch_id, Ticket.service_id, Ticket.state, Ticket.kiosk_id)
        .where(in_period).order_by(Ticket.id))).all()
    sessions = (await db.execute(
        select(CallSession.id, CallSession.ticket_id, CallSession.service_id, CallSession.ticket_created_at,
               CallSession.accepted_at, CallSession.ended_at, CallSession.end_reason, CallSession.wrapup_done_at)
        .join(Ticket, Ticket.id == CallSession.ticket_id).where(in_period)
        .order_by(CallSession.ticket_id, CallSession.accepted_at, CallSession.id))).all()
    feedback = (await db.execute(
        select(CallSession.ticket_id, Feedback.rating, Feedback.saved_trip)
        .join(CallSession, CallSession.id == Feedback.session_id)
        .join(Ticket, Ticket.id == CallSession.ticket_id).where(in_period)
        .order_by(Feedback.created_at, Feedback.id))).all()

    per_ticket: dict[int, list[tuple[int, int, datetime, datetime, datetime | None, str | None, datetime | None]]] = (
        defaultdict(list))
    for sid, tid, svc_id, created, accepted, ended, reason, wrapped in sessions:
        per_ticket[tid].append((sid, svc_id, created, accepted, ended, reason, wrapped))
    facts: dict[int, TicketFact] = {}
    for tid, created, branch_id, svc_id, state, kiosk_id in tickets:
        legs = per_ticket.get(tid, [])
        first_service = legs[0][1] if legs else svc_id
        if branch_id not in branch_by_id or first_service not in service_by_id:
            continue
        fact = TicketFact(ticket_id=tid, month=month_of(created), branch=branch_by_id[branch_id],
                          service=service_by_id[first_service], state=state, kiosk_id=kiosk_id)
        if legs:
            fact.consulted = True
            fact.wait_s = (legs[0][3] - legs[0][2]).total_seconds()
            if all(leg[4] is not None for leg in legs):  # a call still going on has no talk time yet
                fact.talk_s = sum((ended - accepted).total_seconds() for _, _, _, accepted, ended, _, _ in legs
                                  if ended is not None)
            fact.transfers = sum(1 for leg in legs if leg[5] == "transferred")
            fact.legs = [Leg(service=service_by_id.get(svc, fact.service),
                             talk_s=(ended - accepted).total_seconds() if ended is not None else None,
                             wrapup_s=(wrapped - ended).total_seconds() if ended is not None and wrapped is not None
                             else None)
                         for _, svc, _, accepted, ended, _, wrapped in legs]
        facts[tid] = fact
    for tid, rating, saved in feedback:
        if tid in facts:
            facts[tid].ratings.append(int(rating))
            facts[tid].saved_trip.append(saved)
    return ReportData(date_from=date_from, date_to=date_to, municipality=chosen, municipalities=munis,
                      branches=branches, services=services, facts=list(facts.values()))
