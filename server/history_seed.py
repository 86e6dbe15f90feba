"""``madoguchi demo --seed-history N``: N realistic past call sessions, so the report and monitor have data.

On top of the demo data (inserted first if missing), over the ~6 months before
``now``: weekday office hours, more use as the months go by (adoption), the
five municipalities weighted by how much their branch is used, waits that come
from a small queue simulation (a busy specialist makes the next resident
wait), talk times per service, quality summaries in the shape the live server
records, feedback on ~70 % of consultations, some abandoned and cancelled
tickets, requests refused because nobody was on duty, and a few transfers.

Deterministic: the same ``seed`` and ``now`` give the same rows. Exactly ``n``
call sessions are inserted (a transfer is two sessions of one ticket).
Branches without a kiosk get one (not enrolled: it only carries history).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.audit import audit
from server.db.base import utcnow
from server.db.models import Branch, CallSession, Feedback, Kiosk, Note, Service, Staff, Ticket
from server.db.seed import seed_demo
from server.reports.data import JST

DAYS_BACK = 182
# share of requests by branch code (unknown branches share what is left equally)
BRANCH_WEIGHT = {"kitami-tokoro": 0.24, "bihoro": 0.34, "tsubetsu": 0.15, "kunneppu": 0.14, "oketo": 0.13}
SERVICE_WEIGHT = {"disability": 0.38, "guardianship": 0.18, "employment": 0.22, "general": 0.22}
TALK_MEDIAN_MIN = {"disability": 14.0, "guardianship": 21.0, "employment": 16.0, "general": 9.0}
NOTE_CATEGORY = {"disability": "障がい福祉サービス", "guardianship": "成年後見制度", "employment": "就労支援",
                 "general": "総合相談"}
HOUR_WEIGHT = {9: 0.10, 10: 0.17, 11: 0.15, 12: 0.06, 13: 0.14, 14: 0.16, 15: 0.14, 16: 0.08}
RATING_WEIGHT = (0.03, 0.05, 0.14, 0.33, 0.45)  # 1..5
TRANSFER_SHARE = 0.04  # of sessions that are the second leg of a transfer
ABANDON_SHARE, CANCEL_SHARE, NO_SPECIALIST_SHARE = 0.05, 0.03, 0.025  # per consultation
FEEDBACK_SHARE = 0.70
NEEDS: tuple[tuple[list[str], float], ...] = (
    ([], 0.88), (["written"], 0.04), (["large_text"], 0.03), (["sign_language"], 0.03), (["supporter"], 0.02))


@dataclass
class _World:
    branches: list[Branch]
    services: list[Service]
    staff: list[Staff]
    kiosks: dict[int, list[int]]  # branch id -> kiosk ids
    busy_until: dict[int, datetime] = field(default_factory=dict)


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0.0, sigma))


def _weighted(rng: random.Random, items: list[Any], weights: list[float]) -> Any:
    return rng.choices(items, weights=weights, k=1)[0]


def _request_times(rng: random.Random, count: int, now: datetime) -> list[datetime]:
    """Weekday office hours over the last DAYS_BACK days (not today), busier as adoption grows."""
    today = now.astimezone(JST).date()
    days: list[date] = [today - timedelta(days=back) for back in range(DAYS_BACK, 0, -1)]
    days = [d for d in days if d.weekday() < 5]
    weights = [0.45 + i / len(days) for i in range(len(days))]
    hours, hour_w = list(HOUR_WEIGHT), list(HOUR_WEIGHT.values())
    out = []
    for day in rng.choices(days, weights=weights, k=count):
        hour = _weighted(rng, hours, hour_w)
        at = datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), JST)
        out.append(at.astimezone(now.tzinfo or JST))
    out.sort()
    return out


def _quality(rng: random.Random, talk_s: float, poor: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    samples = max(1, int(talk_s // 5))
    for side in ("kiosk", "staff"):
        rtt = _lognormal(rng, 38.0, 0.35) * (3.5 if poor else 1.0)
        out[side] = {"rtt_ms_avg": round(rtt, 2), "fps_avg": round(min(15.0, rng.gauss(14.4, 0.4)), 2),
                     "bitrate_kbps_avg": round(_lognormal(rng, 620.0, 0.2) * (0.6 if poor else 1.0), 2),
                     "loss_pct_max": round(rng.uniform(4.0, 9.0) if poor else abs(rng.gauss(0.0, 0.6)), 2),
                     "frames_received": int(talk_s * 14.5), "audio_frames_received": int(talk_s * 50),
                     "samples": samples}
    return out


def _rating(rng: random.Random, wait_s: float, poor: bool) -> int:
    weights = list(RATING_WEIGHT)
    if wait_s > 600 or poor:  # long waits and bad pictures are remembered
        weights = [0.08, 0.12, 0.25, 0.30, 0.25]
    return int(_weighted(rng, [1, 2, 3, 4, 5], weights))


def _pick_staff(world: _World, service: Service, exclude: int | None = None) -> Staff:
    able = [s for s in world.staff if service.id in {x.id for x in s.skills} and s.id != exclude]
    if not able:
        able = [s for s in world.staff if s.id != exclude] or world.staff
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    return min(able, key=lambda s: (world.busy_until.get(s.id, epoch), s.id))


async def _world(db: AsyncSession, now: datetime) -> _World:
    await seed_demo(db)  # no-op when the demo data is there
    branches = list((await db.execute(select(Branch).order_by(Branch.id))).scalars().unique().all())
    services = list((await db.execute(select(Service).order_by(Service.sort_order, Service.id))).scalars().all())
    staff = list((await db.execute(select(Staff).where(Staff.active, Staff.role.in_(("specialist", "supervisor")))
                                   .order_by(Staff.id))).scalars().unique().all())
    if not branches or not services or not staff:
        raise RuntimeError("seed_history needs branches, services and specialists (run the demo seed first)")
    kiosks: dict[int, list[int]] = {}
    for b in branches:
        ids = list((await db.execute(select(Kiosk.id).where(Kiosk.branch_id == b.id, Kiosk.revoked_at.is_(None))
                                     .order_by(Kiosk.id))).scalars().all())
        if not ids:
            k = Kiosk(branch_id=b.id, name=f"{b.name_ja} 端末", app_version="0.1.0", screen="offline",
                      credential_hash=None, enroll_code_hash=None,
                      enrolled_at=now - timedelta(days=DAYS_BACK + 7))
            db.add(k)
            await db.flush()
            ids = [k.id]
        kiosks[b.id] = ids
    return _World(branches, services, staff, kiosks)


async def seed_history(maker: async_sessionmaker[AsyncSession], n: int, *, seed: int = 1,
                       now: datetime | None = None) -> dict[str, int]:
    """Insert exactly ``n`` past call sessions (and the tickets, notes and feedback around them)."""
    if n <= 0:
        return {"sessions": 0}
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    rng = random.Random(seed)
    transfers = round(n * TRANSFER_SHARE)
    consults = n - transfers
    abandoned, cancelled = round(consults * ABANDON_SHARE), round(consults * CANCEL_SHARE)
    refused = round(consults * NO_SPECIALIST_SHARE)
    outcomes = (["consult"] * (consults - transfers) + ["transfer"] * transfers + ["abandoned"] * abandoned
                + ["cancelled"] * cancelled + ["no_specialist"] * refused)
    rng.shuffle(outcomes)
    counts = {"sessions": 0, "tickets": 0, "feedback": 0, "transfers": transfers, "abandoned": abandoned,
              "cancelled": cancelled, "no_specialist": refused}

    async with maker() as db, db.begin():
        world = await _world(db, now)
        times = _request_times(rng, len(outcomes), now)
        b_weights = [BRANCH_WEIGHT.get(b.code, 0.1) for b in world.branches]
        s_weights = [SERVICE_WEIGHT.get(s.code, 0.1) for s in world.services]
        last_seen: dict[int, datetime] = {}
        plans: list[tuple[Ticket, list[dict[str, Any]]]] = []
        for outcome, t0 in zip(outcomes, times, strict=True):
            branch: Branch = _weighted(rng, world.branches, b_weights)
            service: Service = _weighted(rng, world.services, s_weights)
            kiosk_id = rng.choice(world.kiosks[branch.id])
            needs = list(_weighted(rng, [x for x, _ in NEEDS], [w for _, w in NEEDS]))
            ticket = Ticket(kiosk_id=kiosk_id, branch_id=branch.id, municipality_id=branch.municipality_id,
                            service_id=service.id, needs=needs, language="ja" if rng.random() > 0.03 else "en",
                            priority=0, arrival_at=t0, created_at=t0, declined_by=[], transfer_count=0)
            legs: list[dict[str, Any]] = []
            if outcome == "no_specialist":
                ticket.state, ticket.ended_at = "no_specialist", t0
                last_seen[kiosk_id] = max(last_seen.get(kiosk_id, t0), t0)
            elif outcome in ("abandoned", "cancelled"):
                waited = rng.uniform(120, 1500) if outcome == "abandoned" else rng.uniform(20, 480)
                ticket.state, ticket.ended_at = outcome, t0 + timedelta(seconds=waited)
                if outcome == "abandoned":
                    ticket.disconnected_at = ticket.ended_at - timedelta(seconds=60)
                last_seen[kiosk_id] = max(last_seen.get(kiosk_id, t0), ticket.ended_at)
            else:
                legs = _call_legs(rng, world, service, t0, transferred=outcome == "transfer")
                ticket.state, ticket.ended_at = "done", legs[-1]["wrapup_done_at"]
                ticket.service_id = legs[-1]["service"].id
                ticket.transfer_count = len(legs) - 1
                last_seen[kiosk_id] = max(last_seen.get(kiosk_id, t0), legs[-1]["ended_at"])
            db.add(ticket)
            plans.append((ticket, legs))
        await db.flush()  # ticket ids
        counts["tickets"] = len(plans)

        feedback_due: list[tuple[CallSession, dict[str, Any]]] = []
        for ticket, legs in plans:
            previous: CallSession | None = None
            for leg in legs:
                sess = CallSession(
                    ticket_id=ticket.id, kiosk_id=ticket.kiosk_id, staff_id=leg["staff"].id,
                    branch_id=ticket.branch_id, municipality_id=ticket.municipality_id, service_id=leg["service"].id,
                    ticket_created_at=ticket.arrival_at, offered_at=leg["offered_at"], accepted_at=leg["accepted_at"],
                    media_connected_at=leg["media_connected_at"], ended_at=leg["ended_at"],
                    wrapup_done_at=leg["wrapup_done_at"], end_reason=leg["end_reason"], setup_ms=leg["setup_ms"],
                    transferred_from_id=previous.id if previous is not None else None, quality=leg["quality"],
                    participants=[
                        {"peer": f"kiosk:{ticket.kiosk_id}", "role": "resident",
                         "joined_at": leg["accepted_at"].isoformat(), "left_at": leg["ended_at"].isoformat()},
                        {"peer": f"staff:{leg['staff'].id}", "role": "specialist",
                         "joined_at": leg["accepted_at"].isoformat(), "left_at": leg["ended_at"].isoformat()}],
                )
                db.add(sess)
                await db.flush()
                db.add(Note(session_id=sess.id, municipality_id=ticket.municipality_id, author_id=leg["staff"].id,
                            category=NOTE_CATEGORY.get(leg["service"].code, "相談対応"), summary="",
                            created_at=leg["ended_at"], updated_at=leg["wrapup_done_at"]))
                previous = sess
                counts["sessions"] += 1
            if legs and rng.random() < FEEDBACK_SHARE:
                feedback_due.append((previous, legs[-1]))  # type: ignore[arg-type]
        for sess, leg in feedback_due:
            saved = _weighted(rng, [True, False, None], [0.72, 0.18, 0.10])
            db.add(Feedback(session_id=sess.id, kiosk_id=sess.kiosk_id, rating=_rating(rng, leg["wait_s"], leg["poor"]),
                            saved_trip=saved, created_at=leg["ended_at"] + timedelta(seconds=rng.uniform(20, 90))))
        counts["feedback"] = len(feedback_due)

        for b_kiosks in world.kiosks.values():
            for kid in b_kiosks:
                k = await db.get(Kiosk, kid)
                if k is not None and k.credential_hash is None and kid in last_seen:
                    k.last_seen_at = max(k.last_seen_at or last_seen[kid], last_seen[kid])
        audit(db, "system", "history.seeded", "demo", **counts, seed=seed)
    return counts


def _call_legs(rng: random.Random, world: _World, service: Service, t0: datetime,
               transferred: bool) -> list[dict[str, Any]]:
    legs: list[dict[str, Any]] = []
    ready = t0
    services = [service]
    if transferred:
        others = [s for s in world.services if s.id != service.id]
        services.append(rng.choice(others) if others else service)
    previous_staff: int | None = None
    for i, svc in enumerate(services):
        staff = _pick_staff(world, svc, exclude=previous_staff)
        free = world.busy_until.get(staff.id, ready)
        base = _lognormal(rng, 45.0, 0.8) if i == 0 else rng.uniform(30, 240)
        accepted = max(ready + timedelta(seconds=base), free + timedelta(seconds=rng.uniform(5, 40)))
        accepted = min(accepted, ready + timedelta(minutes=40))  # a very long queue gives up on realism
        offered = max(ready, accepted - timedelta(seconds=rng.uniform(3, 12)))
        setup_ms = round(min(4000.0, _lognormal(rng, 450.0, 0.35)), 1)
        last = i == len(services) - 1
        if last:
            talk = min(75 * 60.0, max(120.0, _lognormal(rng, TALK_MEDIAN_MIN.get(svc.code, 12.0) * 60, 0.45)))
        else:
            talk = rng.uniform(180, 540)
        ended = accepted + timedelta(seconds=talk)
        poor = rng.random() < 0.04
        if not last:
            reason = "transferred"
        else:
            reason = _weighted(rng, ["resident_hangup", "staff_hangup", "media_failed"], [0.5, 0.47, 0.03])
        wrapup = ended + timedelta(seconds=rng.uniform(60, 360))
        world.busy_until[staff.id] = wrapup
        legs.append({"service": svc, "staff": staff, "offered_at": offered, "accepted_at": accepted,
                     "media_connected_at": accepted + timedelta(milliseconds=setup_ms), "ended_at": ended,
                     "wrapup_done_at": wrapup, "end_reason": reason, "setup_ms": setup_ms,
                     "quality": _quality(rng, talk, poor), "wait_s": (accepted - t0).total_seconds(), "poor": poor})
        previous_staff, ready = staff.id, ended
    return legs
