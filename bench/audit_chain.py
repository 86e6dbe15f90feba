"""What the audit hash chain costs: a committed transaction with one audit row, appended under the chain lock,
against the same transaction without one; several writers at once (two engines standing for two server nodes);
and how fast ``madoguchi audit verify`` walks the chain.

Prints one JSON object. SQLite is a temp file; PostgreSQL is ``--pg URL`` (its public schema is DROPPED first:
give it a database of its own).

    .venv/bin/python -m bench.audit_chain                       # SQLite, 2,000 transactions
    .venv/bin/python -m bench.audit_chain --pg postgresql+asyncpg://postgres@127.0.0.1:5432/bench --n 2000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.audit.verify import verify_chain
from server.db.audit import audit
from server.db.models import Municipality
from server.db.seed import seed_demo
from server.db.session import make_engine, make_sessionmaker
from server.migrate import upgrade_async


async def _reset_pg(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


async def _txn(engine: AsyncEngine, with_audit: bool, i: int) -> float:
    """One small write (a municipality's name set to itself) and, with_audit, one audit row; ms to commit."""
    t0 = time.perf_counter()
    async with make_sessionmaker(engine)() as db, db.begin():
        await db.execute(update(Municipality).where(Municipality.id == 1).values(name_en=Municipality.name_en))
        if with_audit:
            audit(db, f"staff:{i % 7}", "note.read", f"session:{i}", bench=True)
    return (time.perf_counter() - t0) * 1000


def _stats(ms: list[float]) -> dict[str, float]:
    ms = sorted(ms)
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 3), "p99_ms": round(ms[int(len(ms) * 0.99) - 1], 3),
            "mean_ms": round(statistics.fmean(ms), 3)}


async def run(url: str, n: int, writers: int) -> dict[str, Any]:
    await upgrade_async(url)
    engines = [make_engine(url), make_engine(url)]
    try:
        async with make_sessionmaker(engines[0])() as db, db.begin():
            await seed_demo(db)
        out: dict[str, Any] = {}
        for label, with_audit in (("write_only", False), ("write_plus_audit_row", True)):
            out[label] = _stats([await _txn(engines[0], with_audit, i) for i in range(n)])
        t0 = time.perf_counter()

        async def writer(w: int) -> list[float]:
            return [await _txn(engines[w % 2], True, w * n + i) for i in range(n // writers)]

        lat = [x for lst in await asyncio.gather(*(writer(w) for w in range(writers))) for x in lst]
        wall = time.perf_counter() - t0
        out[f"concurrent_{writers}_writers_2_engines"] = {**_stats(lat), "txn_per_s": round(len(lat) / wall, 1)}
        t0 = time.perf_counter()
        async with engines[0].connect() as conn:
            v = await conn.run_sync(verify_chain, None)
        secs = time.perf_counter() - t0
        out["verify"] = {"ok": v.ok, "rows": v.rows, "seconds": round(secs, 3), "rows_per_s": round(v.rows / secs)}
        return out
    finally:
        for e in engines:
            await e.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="transactions per sequential phase")
    ap.add_argument("--writers", type=int, default=8, help="concurrent writers in the concurrent phase")
    ap.add_argument("--pg", default="", help="PostgreSQL URL (its public schema is dropped first)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if a.pg:
            asyncio.run(_reset_pg(a.pg))
            url, backend = a.pg, "postgresql"
        else:
            url, backend = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", "sqlite"
        result = asyncio.run(run(url, a.n, a.writers))
    print(json.dumps({"backend": backend, "n": a.n, **result}, indent=2))


if __name__ == "__main__":
    main()
