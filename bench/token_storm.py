"""Token storm after a restart: N kiosks ask ``POST /api/kiosk/token`` at the same moment, right after the
server (a fresh process, as after a restart) is up. Each kiosk has its own device secret.

Measured per run: the time from sending all N requests to the last answer (``total_s``), each request's
latency, the HTTP statuses, whether the server logged ``database is locked``, and the CPU time the server
process spent on the storm (``server_cpu_s``, all threads: a figure the machine's other load does not
change, unlike the wall time). The server is a separate
process (``server.run.uvicorn_config``, temp SQLite unless ``--pg``); a fresh one per run. Two credential
schemes, each run starting from its stored form: ``argon2`` (kiosks enrolled before device secrets were
hashed the fast way; every request checks argon2 in the pool and upgrades the row) and ``sha256`` (as
enrolled now). Prints one JSON object with the median of the runs per scheme.

Run: ``.venv/bin/python bench/token_storm.py [--kiosks 50] [--runs 5] [--scheme both|argon2|sha256]
[--pg postgresql+asyncpg://...]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-secret-0123456789abcdef0123456789"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settings_env(db_url: str, port: int) -> dict[str, str]:
    return {**os.environ, "MADOGUCHI_DATABASE_URL": db_url, "MADOGUCHI_PORT": str(port),
            "MADOGUCHI_SECRET_KEY": SECRET_KEY, "MADOGUCHI_LOG_JSON": "false", "MADOGUCHI_LOG_LEVEL": "WARNING",
            "MADOGUCHI_REDIS_URL": "",
            "MADOGUCHI_MAX_CONNECTIONS_PER_CLIENT": "0"}  # every simulated kiosk is on 127.0.0.1


async def prepare(db_url: str, n: int) -> tuple[list[tuple[int, str]], list[str]]:
    """Migrate, seed, and add N enrolled kiosks, each with its own secret; returns them and their argon2 hashes."""
    from sqlalchemy import insert, select

    from server.auth import hash_secret
    from server.db.base import utcnow
    from server.db.models import Branch, Kiosk
    from server.db.seed import seed_demo
    from server.db.session import make_engine, make_sessionmaker
    from server.migrate import upgrade_async

    if db_url.startswith("postgresql"):
        from tests.support import reset_pg

        await reset_pg(db_url)
    await upgrade_async(db_url)
    plain = [secrets.token_urlsafe(32) for _ in range(n)]
    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        hashed = list(pool.map(hash_secret, plain))
    engine = make_engine(db_url)
    maker = make_sessionmaker(engine)
    async with maker() as db, db.begin():
        await seed_demo(db)
        branches = (await db.execute(select(Branch).order_by(Branch.id))).scalars().unique().all()
        now = utcnow()
        await db.execute(insert(Kiosk), [
            {"name": f"storm-{i}", "branch_id": branches[i % len(branches)].id, "credential_hash": hashed[i],
             "enrolled_at": now, "app_version": "", "screen": "idle"} for i in range(n)])
    async with maker() as db:
        ids = {name: kid for kid, name in (await db.execute(
            select(Kiosk.id, Kiosk.name).where(Kiosk.name.like("storm-%")))).all()}
    await engine.dispose()
    return [(ids[f"storm-{i}"], plain[i]) for i in range(n)], hashed


async def store_credentials(db_url: str, kiosks: list[tuple[int, str]], argon2_hashes: list[str],
                            scheme: str) -> None:
    """Put every kiosk's credential back in the given stored form (a run upgrades argon2 ones)."""
    from sqlalchemy import update

    from server.db.models import Kiosk
    from server.db.session import make_engine, make_sessionmaker

    def fast(secret: str) -> str:
        from server.api.routes.auth import hash_device_secret  # not in trees before the fast scheme

        return hash_device_secret(secret)

    engine = make_engine(db_url)
    async with make_sessionmaker(engine)() as db, db.begin():
        for (kid, secret), slow in zip(kiosks, argon2_hashes, strict=True):
            stored = slow if scheme == "argon2" else fast(secret)
            await db.execute(update(Kiosk).where(Kiosk.id == kid).values(credential_hash=stored))
    await engine.dispose()


def spawn_server(db_url: str, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """A fresh server process: nothing warm, as after a restart."""
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-c", "from server.run import serve; from server.settings import Settings; "
             "serve(Settings())"], cwd=ROOT, env=settings_env(db_url, port), stdout=log, stderr=log)


async def wait_up(base: str, proc: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=base, timeout=2) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            try:
                if (await http.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise TimeoutError("server did not come up")


async def storm(base: str, kiosks: list[tuple[int, str]]) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=len(kiosks) + 10, max_keepalive_connections=len(kiosks) + 10)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        async def one(kid: int, secret: str) -> tuple[int, float, bool]:
            t0 = time.perf_counter()
            r = await http.post("/api/kiosk/token", json={"kiosk_id": kid, "secret": secret})
            ok = r.status_code == 200 and bool(r.json().get("access_token"))
            return r.status_code, time.perf_counter() - t0, ok

        t0 = time.perf_counter()
        results = await asyncio.gather(*(one(k, s) for k, s in kiosks))
        total = time.perf_counter() - t0
    lat = sorted(x[1] for x in results)
    statuses: dict[str, int] = {}
    for status, _, _ in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {"total_s": round(total, 3), "latency_p50_s": round(lat[len(lat) // 2], 3),
            "latency_max_s": round(lat[-1], 3), "statuses": statuses, "valid_tokens": sum(x[2] for x in results)}


async def main_async(a: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="token-storm-"))
    db_url = a.pg or f"sqlite+aiosqlite:///{tmp / 'storm.db'}"
    kiosks, argon2_hashes = await prepare(db_url, a.kiosks)
    schemes = ["argon2", "sha256"] if a.scheme == "both" else [a.scheme]
    return {"bench": "token_storm", "kiosks": a.kiosks, "database": "postgresql" if a.pg else "sqlite",
            "cpus": os.cpu_count(), "goal": f"all {a.kiosks} answered in <= 5 s",
            **{scheme: await runs_of(a, db_url, tmp, kiosks, argon2_hashes, scheme) for scheme in schemes}}


async def runs_of(a: argparse.Namespace, db_url: str, tmp: Path, kiosks: list[tuple[int, str]],
                  argon2_hashes: list[str], scheme: str) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    for i in range(a.runs):
        await store_credentials(db_url, kiosks, argon2_hashes, scheme)
        port = free_port()
        log_path = tmp / f"server-{scheme}-{i}.log"
        load_before = os.getloadavg()[0]
        proc = spawn_server(db_url, port, log_path)
        try:
            base = f"http://127.0.0.1:{port}"
            await wait_up(base, proc)
            cpu0 = cpu_seconds(proc.pid)
            run = await storm(base, kiosks)
            run["server_cpu_s"] = round(cpu_seconds(proc.pid) - cpu0, 2)
        finally:
            proc.terminate()
            await asyncio.to_thread(proc.wait, 30)
        run["database_is_locked_in_log"] = "database is locked" in log_path.read_text(errors="replace")
        run["loadavg_1m_before"] = load_before
        runs.append(run)
        print(f"{scheme} run {i + 1}/{a.runs}: {run}", file=sys.stderr)
    totals = [r["total_s"] for r in runs]
    return {
        "median_total_s": round(statistics.median(totals), 3), "min_total_s": min(totals), "max_total_s": max(totals),
        "median_latency_p50_s": round(statistics.median(r["latency_p50_s"] for r in runs), 3),
        "median_server_cpu_s": round(statistics.median(r["server_cpu_s"] for r in runs), 2),
        "all_valid": all(r["valid_tokens"] == a.kiosks for r in runs),
        "database_is_locked": any(r["database_is_locked_in_log"] for r in runs),
        "goal_met": statistics.median(totals) <= 5.0, "runs": runs,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kiosks", type=int, default=50)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--scheme", choices=["both", "argon2", "sha256"], default="both")
    p.add_argument("--pg", default="", help="PostgreSQL URL (its public schema is dropped first)")
    a = p.parse_args()
    print(json.dumps(asyncio.run(main_async(a)), indent=2))


if __name__ == "__main__":
    main()
