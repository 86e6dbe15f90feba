"""Kiosk health: the ``kiosk.health`` report stored (latest per kiosk) and the alert rules it feeds.

A kiosk reports at start and every ``health_interval_s`` (kiosk setting). The server keeps the latest
report of each kiosk in ``kiosk_health`` (device states, RTT, software version: metadata only) and the
monitor raises, per kiosk:

- ``device``: a camera, microphone or speaker ``missing``/``no_frames``/``error`` (critical); a document
  camera configured on the kiosk that fails the same way (warning);
- ``printer``: a configured printer ``paper_out``/``jam``/``offline``/``missing``/``error`` (warning);
- ``version_behind``: older than the configured minimum (critical) or than the newest version any kiosk
  reported (warning);
- ``health_stale``: an online kiosk that sent no report for ``health_stale_alert_s`` (since its last report,
  or since enrollment when it never sent one).

Each alert's ``key`` names the condition (kiosk, device and state), so it clears when the condition ends and
a different fault of the same device is a new alert. :func:`health_alerts` is pure: its rules are tested on
explicit times.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from server.db.models import KioskHealth
from server.queue.step import Step
from signaling.principal import Principal
from signaling.protocol.messages import KioskHealthReport
from signaling.protocol.monitor import Alert, DeviceStatus, HealthView, KioskRow
from signaling.protocol.replies import Empty

BROKEN = frozenset({"missing", "no_frames", "error"})
PRINTER_FAULTS = frozenset({"paper_out", "jam", "offline", "missing", "error"})
CORE_DEVICES = ("camera", "microphone", "speaker")


async def record_health(step: Step, who: Principal, msg: KioskHealthReport) -> Empty:
    """Keep the kiosk's latest report (one row per kiosk, replaced at every report)."""
    row = await step.db.get(KioskHealth, who.principal_id)
    devices = [d.model_dump() for d in msg.devices]
    if row is None:
        step.db.add(KioskHealth(kiosk_id=who.principal_id, reported_at=step.now, app_version=msg.app_version,
                                rtt_ms=msg.rtt_ms, devices=devices))
    else:
        row.reported_at, row.app_version, row.rtt_ms, row.devices = step.now, msg.app_version, msg.rtt_ms, devices
    return Empty()


def health_view(row: KioskHealth | None, now: datetime) -> HealthView | None:
    if row is None:
        return None
    return HealthView(reported_at=row.reported_at, age_s=round(max(0.0, (now - row.reported_at).total_seconds()), 1),
                      rtt_ms=row.rtt_ms, app_version=row.app_version,
                      devices=[DeviceStatus(device=d["device"], state=d["state"], detail=d.get("detail", ""))
                               for d in row.devices])


def version_key(version: str) -> tuple[int, ...] | None:
    """``kiosk/1.4.2`` or ``1.4.2`` → (1, 4, 2); None when no number can be read (then no version rule applies)."""
    m = re.search(r"(\d+(?:\.\d+)*)", version.rsplit("/", 1)[-1])
    return tuple(int(x) for x in m.group(1).split(".")) if m else None


@dataclass(frozen=True)
class HealthRules:
    stale_alert_s: float
    min_version: str = ""


def newest_version(rows: list[KioskRow]) -> str:
    best: tuple[tuple[int, ...], str] | None = None
    for k in rows:
        if k.health is None:
            continue
        key = version_key(k.health.app_version)
        if key is not None and (best is None or key > best[0]):
            best = (key, k.health.app_version)
    return best[1] if best else ""


def health_alerts(rules: HealthRules, kiosks: list[KioskRow], enrolled_at: dict[int, datetime | None],
                  now: datetime) -> list[Alert]:
    out: list[Alert] = []
    newest = newest_version(kiosks)
    newest_key, min_key = version_key(newest), version_key(rules.min_version) if rules.min_version else None
    for k in kiosks:
        if k.state == "not_enrolled":
            continue
        common: dict[str, Any] = {"place": k.place, "kiosk_id": k.id}
        h = k.health
        if k.state == "online":
            since = h.reported_at if h is not None else enrolled_at.get(k.id)
            age = (now - since).total_seconds() if since is not None else None
            if age is not None and age > rules.stale_alert_s:
                out.append(Alert(kind="health_stale", severity="warning", key=f"health_stale:{k.id}",
                                 metric="report_age_s", value=round(age, 1), threshold=rules.stale_alert_s, **common))
        if h is None:
            continue
        for d in h.devices:
            if d.device == "printer" and d.state in PRINTER_FAULTS:
                out.append(Alert(kind="printer", severity="warning", key=f"printer:{k.id}:{d.state}",
                                 device=d.device, state=d.state, metric="device", value=0, threshold=0, **common))
            elif d.device != "printer" and d.state in BROKEN:
                out.append(Alert(kind="device", severity="critical" if d.device in CORE_DEVICES else "warning",
                                 key=f"device:{k.id}:{d.device}:{d.state}", device=d.device, state=d.state,
                                 metric="device", value=0, threshold=0, **common))
        mine = version_key(h.app_version)
        if mine is None:
            continue
        if min_key is not None and mine < min_key:
            out.append(Alert(kind="version_behind", severity="critical", key=f"version_min:{k.id}",
                             version=h.app_version, expected=rules.min_version, metric="version", value=0,
                             threshold=0, **common))
        elif newest_key is not None and mine < newest_key:
            out.append(Alert(kind="version_behind", severity="warning", key=f"version_newest:{k.id}",
                             version=h.app_version, expected=newest, metric="version", value=0, threshold=0,
                             **common))
    return out
