"""One picture of the system for the IT monitor: kiosks, specialists, queues, live calls, alerts.

Online/offline comes from who is connected on every node (the delivery's
presence view); everything else from the database, and call quality from the
latest ``call.stats`` kept in the cluster's shared store. :func:`alerts_for` is pure so its rules can be
read and tested in one place.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from server.context import AppContext
from server.db.models import Branch, Callback, CallSession, Kiosk, KioskHealth, Service, Staff, Ticket
from server.languages import server_packs
from server.monitor.health import HealthRules, health_alerts, health_view
from server.queue import states
from server.queue.callbacks import OPEN_STATES as CALLBACK_OPEN
from server.settings import Settings
from signaling.language_packs import language_label
from signaling.protocol.monitor import (
    Alert,
    Counts,
    KioskRow,
    Place,
    Quality,
    QueueRow,
    SessionRow,
    Snapshot,
    StaffRow,
    Thresholds,
)

ON_DUTY = ("available", "offered", "in_call", "wrap_up")
CALL_ROLES = ("specialist", "supervisor")
STALE_STATS_S = 30.0  # older quality figures are shown but raise no alert
MEDIA_CONNECT_ALERT_S = 15.0  # accepted but no media yet (the call layer gives up at about 10 s)
QUALITY_FIELDS = ("rtt_ms", "loss_pct", "bitrate_kbps", "fps")


def place_of(b: Branch) -> Place:
    return Place(municipality_ja=b.municipality.name_ja, municipality_en=b.municipality.name_en,
                 branch_ja=b.name_ja, branch_en=b.name_en)


def thresholds(settings: Settings) -> Thresholds:
    return Thresholds(kiosk_offline_alert_s=settings.kiosk_offline_alert_s, wait_alert_s=settings.wait_alert_s,
                      quality_alert_loss_pct=settings.quality_alert_loss_pct,
                      quality_alert_rtt_ms=settings.quality_alert_rtt_ms,
                      media_connect_alert_s=MEDIA_CONNECT_ALERT_S,
                      health_stale_alert_s=settings.health_stale_alert_s, kiosk_min_version=settings.kiosk_min_version)


def quality_of(stats: dict[str, Any] | None, now: datetime) -> Quality | None:
    """Only the four quality figures cross into the feed (never frame counters, SDP or anything else)."""
    if not stats:
        return None
    try:
        age = max(0.0, (now - datetime.fromisoformat(str(stats["at"]))).total_seconds())
    except (KeyError, ValueError):
        age = 0.0
    values = {k: float(stats[k]) for k in QUALITY_FIELDS if isinstance(stats.get(k), int | float)}
    return Quality(age_s=round(age, 1), **values)


def _worst(t: Thresholds, metric: str, value: float) -> str:
    limit = t.quality_alert_loss_pct if metric == "loss_pct" else t.quality_alert_rtt_ms
    return "critical" if value > 2 * limit else "warning"


def alerts_for(t: Thresholds, kiosks: list[KioskRow], sessions: list[SessionRow],
               waits: list[tuple[int, Place, Service, float]]) -> list[Alert]:
    """The alert rules. Critical first, then the longest-standing."""
    out: list[Alert] = []
    for k in kiosks:
        if k.state == "offline" and k.offline_s is not None and k.offline_s > t.kiosk_offline_alert_s:
            out.append(Alert(kind="kiosk_offline", severity="warning", key=f"kiosk_offline:{k.id}", place=k.place,
                             kiosk_id=k.id, metric="offline_s", value=k.offline_s,
                             threshold=t.kiosk_offline_alert_s))
    for s in sessions:
        if s.media == "connecting" and s.duration_s > t.media_connect_alert_s:
            out.append(Alert(kind="media_not_connected", severity="critical", key=f"media:{s.id}", place=s.place,
                             service_ja=s.service_ja, service_en=s.service_en, session_id=s.id, metric="setup_s",
                             value=s.duration_s, threshold=t.media_connect_alert_s))
        for side, q in (("kiosk", s.kiosk), ("staff", s.staff)):
            if q is None or q.age_s > STALE_STATS_S:
                continue
            for metric, value, limit in (("loss_pct", q.loss_pct, t.quality_alert_loss_pct),
                                         ("rtt_ms", q.rtt_ms, t.quality_alert_rtt_ms)):
                if value is not None and value > limit:
                    out.append(Alert(kind="quality", severity=_worst(t, metric, value),  # type: ignore[arg-type]
                                     key=f"quality:{s.id}:{side}:{metric}", place=s.place, service_ja=s.service_ja,
                                     service_en=s.service_en, session_id=s.id, side=side,  # type: ignore[arg-type]
                                     metric=metric, value=value, threshold=limit))  # type: ignore[arg-type]
    for ticket_id, place, svc, waited in waits:
        if waited > t.wait_alert_s:
            out.append(Alert(kind="long_wait", severity="critical" if waited > 2 * t.wait_alert_s else "warning",
                             key=f"wait:{ticket_id}", place=place, service_ja=svc.name_ja,
                             service_en=svc.name_en, metric="wait_s", value=round(waited, 1),
                             threshold=t.wait_alert_s))
    out.sort(key=lambda a: (a.severity != "critical", -a.value / max(a.threshold, 1e-9)))
    return out


async def build_snapshot(ctx: AppContext) -> Snapshot:
    now = ctx.now()
    hub = await ctx.delivery.presence()  # who is connected, on every node
    qualities = await ctx.cluster.qualities()
    t = thresholds(ctx.settings)
    async with ctx.maker() as db:
        kiosks = (await db.execute(select(Kiosk).where(Kiosk.revoked_at.is_(None)).order_by(Kiosk.id))
                  ).scalars().unique().all()
        tickets = (await db.execute(select(Ticket).where(Ticket.state.in_(states.ACTIVE)))).scalars().unique().all()
        staff = (await db.execute(select(Staff).where(Staff.active, Staff.role.in_(CALL_ROLES)).order_by(Staff.id))
                 ).scalars().unique().all()
        services = (await db.execute(select(Service).order_by(Service.sort_order, Service.id))).scalars().all()
        healths = {h.kiosk_id: h for h in (await db.execute(select(KioskHealth))).scalars().all()}
        live = (await db.execute(select(CallSession).where(CallSession.ended_at.is_(None))
                                 .order_by(CallSession.accepted_at))).scalars().unique().all()
        languages: dict[int, str] = {tid: lang for tid, lang in (await db.execute(
            select(Ticket.id, Ticket.language).where(Ticket.id.in_([cs.ticket_id for cs in live])))).all()}
        callbacks: dict[int, int] = {sid: n for sid, n in (await db.execute(  # counts only: never a number
            select(Callback.service_id, func.count()).where(Callback.state.in_(CALLBACK_OPEN))
            .group_by(Callback.service_id))).all()}

    ticket_of_kiosk = {tk.kiosk_id: tk for tk in tickets}
    kiosk_rows: list[KioskRow] = []
    for k in kiosks:
        online = hub.is_connected(f"kiosk:{k.id}")
        tk = ticket_of_kiosk.get(k.id)
        if k.credential_hash is None:
            state = "not_enrolled"
        else:
            state = "online" if online else "offline"
        since = k.last_seen_at or k.enrolled_at
        offline_s = round((now - since).total_seconds(), 1) if state == "offline" and since else None
        if not online:
            screen = "offline"
        elif tk is not None and tk.state in states.QUEUED:
            screen = "waiting"
        elif tk is not None and tk.state == "in_call":
            screen = "in_call"
        else:
            screen = k.screen if k.screen != "offline" else "idle"
        kiosk_rows.append(KioskRow(
            id=k.id, name=k.name, place=place_of(k.branch), state=state,  # type: ignore[arg-type]
            last_seen_at=now if online else k.last_seen_at, offline_s=offline_s, app_version=k.app_version or "",
            screen=screen, ticket_state=tk.state if tk is not None else None,
            health=health_view(healths.get(k.id), now),
        ))

    staff_rows = [StaffRow(
        id=s.id, name=s.display_name, municipality_ja=s.municipality.name_ja, municipality_en=s.municipality.name_en,
        role=s.role, status=s.status if hub.is_connected(f"staff:{s.id}") or s.status in ("in_call", "wrap_up")
        else "offline", reason=s.status_reason or "", connected=hub.is_connected(f"staff:{s.id}"),
    ) for s in staff]

    queued: dict[int, list[Ticket]] = defaultdict(list)
    for tk in tickets:
        if tk.state in states.QUEUED:
            queued[tk.service_id].append(tk)
    queue_rows: list[QueueRow] = []
    waits: list[tuple[int, Place, Service, float]] = []
    for svc in services:
        group = queued.get(svc.id, [])
        longest = max(((now - tk.arrival_at).total_seconds() for tk in group), default=None)
        skilled = [s for s in staff if svc.id in {x.id for x in s.skills}]
        queue_rows.append(QueueRow(
            service_code=svc.code, name_ja=svc.name_ja, name_en=svc.name_en, waiting=len(group),
            longest_wait_s=round(longest, 1) if longest is not None else None,
            available=sum(1 for s in skilled if s.status == "available" and hub.is_connected(f"staff:{s.id}")),
            on_duty=sum(1 for s in skilled if s.status in ON_DUTY),
            callbacks=callbacks.get(svc.id, 0),
        ))
        for tk in sorted(group, key=lambda x: x.arrival_at):
            waits.append((tk.id, place_of(tk.branch), svc, (now - tk.arrival_at).total_seconds()))

    session_rows: list[SessionRow] = []
    packs = server_packs(ctx.settings)
    for cs in live:
        lang = languages.get(cs.ticket_id, "ja")
        per_side = qualities.get(cs.id, {})
        kq, sq = quality_of(per_side.get("kiosk"), now), quality_of(per_side.get("staff"), now)
        bad = any(q is not None and q.age_s <= STALE_STATS_S and (
            (q.loss_pct or 0) > t.quality_alert_loss_pct or (q.rtt_ms or 0) > t.quality_alert_rtt_ms)
            for q in (kq, sq))
        session_rows.append(SessionRow(
            id=cs.id, place=place_of(cs.branch), service_code=cs.service.code, service_ja=cs.service.name_ja,
            service_en=cs.service.name_en, duration_s=round((now - cs.accepted_at).total_seconds(), 1),
            media="connected" if cs.media_connected_at is not None else "connecting",
            setup_ms=round(cs.setup_ms, 1) if cs.setup_ms is not None else None,
            participants=sum(1 for p in cs.participants or [] if "left_at" not in p),
            kiosk=kq, staff=sq, bad_quality=bad, language=lang, language_ja=language_label(lang, "ja", packs),
            language_en=language_label(lang, "en", packs),
        ))

    alerts = alerts_for(t, kiosk_rows, session_rows, waits)
    alerts += health_alerts(HealthRules(t.health_stale_alert_s, t.kiosk_min_version), kiosk_rows,
                            {k.id: k.enrolled_at for k in kiosks}, now)
    alerts.sort(key=lambda a: (a.severity != "critical", -a.value / max(a.threshold, 1e-9)))
    counts = Counts(
        kiosks_online=sum(1 for k in kiosk_rows if k.state == "online"), kiosks=len(kiosk_rows),
        staff_available=sum(1 for s in staff_rows if s.status == "available"),
        staff_on_duty=sum(1 for s in staff_rows if s.status in ON_DUTY),
        waiting=sum(q.waiting for q in queue_rows), live_sessions=len(session_rows), alerts=len(alerts),
        callbacks=sum(q.callbacks for q in queue_rows),
    )
    return Snapshot(at=now, node_local=False, thresholds=t, counts=counts, alerts=alerts,
                    kiosks=kiosk_rows, staff=staff_rows, queues=queue_rows, sessions=session_rows)


class SnapshotCache:
    """Several wall displays share one snapshot per interval (one set of queries, not one per viewer)."""

    def __init__(self, max_age_s: float) -> None:
        self.max_age_s = max_age_s
        self._lock = asyncio.Lock()
        self._text = ""
        self._stamp = float("-inf")

    async def get(self, ctx: AppContext) -> str:
        async with self._lock:
            if time.monotonic() - self._stamp >= self.max_age_s:
                self._text = (await build_snapshot(ctx)).model_dump_json()
                self._stamp = time.monotonic()
            return self._text
