"""Cost of the kiosk-health part of the monitor: one snapshot (what the feed sends every second and the alert
watch evaluates every MADOGUCHI_ALERT_CHECK_S) with N kiosks that each have a health report, a quarter of them
with a faulty device; and the kiosk's own probe (camera + microphone as the self-check opens them).

    .venv/bin/python bench/health_alerts.py [--kiosks 200] [--rounds 20]

Prints one JSON object. SQLite in a temporary directory, demo seed + N kiosks; times are medians.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk.services.health import probe_devices
from kiosk.settings import KioskSettings
from server.db.models import Kiosk, KioskHealth
from server.db.seed import seed_demo
from server.db.session import make_engine, make_sessionmaker
from server.migrate import upgrade_async
from server.monitor.health import HealthRules, health_alerts
from server.monitor.snapshot import build_snapshot
from server.queue.step import PresenceView
from server.settings import Settings


class _Ctx:
    """What build_snapshot reads, without a running server: no one connected (every kiosk offline)."""

    def __init__(self, maker, settings: Settings) -> None:  # type: ignore[no-untyped-def]
        from server.cluster.local import LocalCluster

        self.maker, self.settings = maker, settings
        self.cluster = LocalCluster("bench")
        self.delivery = self

    async def presence(self) -> PresenceView:
        return PresenceView(frozenset())

    def now(self) -> datetime:
        return datetime.now(UTC)


async def main(n: int, rounds: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await upgrade_async(url)
        maker = make_sessionmaker(make_engine(url))
        async with maker() as db, db.begin():
            await seed_demo(db)
        async with maker() as db, db.begin():
            branch_id = (await db.get(Kiosk, 1) or Kiosk(branch_id=1)).branch_id or 1
            now = datetime.now(UTC)
            for i in range(n):
                k = Kiosk(branch_id=branch_id, name=f"bench-{i}", credential_hash="x", enrolled_at=now)
                db.add(k)
                await db.flush()
                cam = "no_frames" if i % 4 == 0 else "ok"
                db.add(KioskHealth(kiosk_id=k.id, reported_at=now, app_version=f"kiosk/0.1.{i % 3}", rtt_ms=3.0,
                                   devices=[{"device": "camera", "state": cam, "detail": "bench"},
                                            {"device": "microphone", "state": "ok", "detail": "bench"},
                                            {"device": "printer", "state": "ok", "detail": "bench"}]))
        ctx = _Ctx(maker, Settings(database_url=url, dev_insecure=True))
        snap_ms, rules_ms = [], []
        for _ in range(rounds):
            t0 = time.perf_counter()
            snap = await build_snapshot(ctx)  # type: ignore[arg-type]
            snap_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            health_alerts(HealthRules(900.0), snap.kiosks, {}, snap.at)
            rules_ms.append((time.perf_counter() - t0) * 1000)
    probe_s = []
    settings = KioskSettings(media_source="synthetic", health_probe_timeout_s=5.0)
    for _ in range(5):
        t0 = time.perf_counter()
        await probe_devices(settings, None)
        probe_s.append(time.perf_counter() - t0)
    return {"kiosks": n, "alerts": len(snap.alerts), "snapshot_ms_median": round(statistics.median(snap_ms), 1),
            "health_rules_ms_median": round(statistics.median(rules_ms), 2),
            "kiosk_probe_s_median_synthetic": round(statistics.median(probe_s), 3)}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiosks", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    print(json.dumps(asyncio.run(main(args.kiosks, args.rounds))))
