"""Signaling latency during a bad-login flood, and the attempts the brute-force limits let through.

A real server process (temp SQLite) and, in this process, one staff WebSocket sending ``ping`` every 20 ms.
Three phases in one run, each ``--seconds`` long: no flood; a 16-way flood of wrong passwords (each worker
sends its next login as soon as the last is answered, a new username each time) with the limits as configured
(after the address's window is used, the flood gets 429 without a password check); and the same flood with the
limits lifted (``MADOGUCHI_LOGIN_LIMIT_*`` = 10^6/minute on a second server process), so that every request
costs an argon2 check in the pool: the event loop must stay free either way. Prints one JSON object: ping
p50/p99/max per phase, the flood's answers by status, and the attempts per minute the default windows allow per
address and per account (the real limiter on a simulated clock: one attacker trying as fast as it can for an
hour).

The flood runs in a process of its own at the lowest CPU priority (an attacker's client does not run on the
server; here it shares the machine and must not delay the pings itself). On a shared machine the figures move
with the other load: ``no_flood`` in the same run is the reference, and ``load_avg`` is printed.

Run: ``.venv/bin/python bench/login_flood.py [--seconds 15] [--workers 16]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.token_storm import cpu_seconds, free_port, wait_up  # noqa: E402
from server.attempt_limits import AttemptLimiter, ClockedMemoryStorage  # noqa: E402
from server.settings import Settings  # noqa: E402
from server.signing_key import new_signing_key  # noqa: E402

PING_EVERY_S = 0.02
UNLIMITED = "1000000/minute"


async def prepare(db_url: str) -> None:
    from server.db.seed import seed_demo
    from server.db.session import make_engine, make_sessionmaker
    from server.migrate import upgrade_async

    await upgrade_async(db_url)
    engine = make_engine(db_url)
    async with make_sessionmaker(engine)() as db, db.begin():
        await seed_demo(db)
    await engine.dispose()


def spawn(db_url: str, port: int, key: str, log: Path, limited: bool) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MADOGUCHI_DATABASE_URL": db_url, "MADOGUCHI_PORT": str(port), "MADOGUCHI_SECRET_KEY": key,
           "MADOGUCHI_LOG_JSON": "false", "MADOGUCHI_LOG_LEVEL": "WARNING", "MADOGUCHI_REDIS_URL": ""}
    if not limited:
        env.update({"MADOGUCHI_LOGIN_LIMIT_PER_ADDRESS": UNLIMITED, "MADOGUCHI_LOGIN_LIMIT_PER_ACCOUNT": UNLIMITED})
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-c", "from server.run import serve; from server.settings import "
                                 "Settings; serve(Settings())"], cwd=ROOT, env=env, stdout=out, stderr=out)


async def staff_token(base: str, key: str) -> str:
    from sqlalchemy import select

    from server.auth import issue_token
    from server.db.models import Staff
    from server.db.session import make_engine, make_sessionmaker

    del base
    engine = make_engine(DB_URL)
    async with make_sessionmaker(engine)() as db:
        sid = (await db.execute(select(Staff.id).where(Staff.username == "it"))).scalar_one()
    await engine.dispose()
    return issue_token(key, "staff", sid, "it_monitor", 600)


async def pinger(ws_url: str, token: str, stop: asyncio.Event) -> list[float]:
    rtts: list[float] = []
    async with connect(ws_url, subprotocols=["madoguchi.v1"], compression=None) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "auth", "id": "a", "token": token}))
        assert json.loads(await ws.recv())["type"] == "welcome"
        n = 0
        while not stop.is_set():
            n += 1
            t0 = time.perf_counter()
            await ws.send(json.dumps({"type": "ping", "id": f"p{n}"}))
            while True:
                msg = json.loads(await ws.recv())
                if msg.get("type") == "pong" and msg.get("ref") == f"p{n}":
                    break
            rtts.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(PING_EVERY_S)
    return rtts


async def flood(base: str, workers: int, stop: asyncio.Event) -> Counter[int]:
    answers: Counter[int] = Counter()
    limits = httpx.Limits(max_connections=workers + 2, max_keepalive_connections=workers + 2)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
        async def worker(w: int) -> None:
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    r = await http.post("/api/auth/login", json={"username": f"guess-{w}-{i}",
                                                                 "password": "wrong-guess"})
                    answers[r.status_code] += 1
                except httpx.TimeoutException:
                    answers[0] += 1  # no answer within 120 s

        await asyncio.gather(*(worker(w) for w in range(workers)))
    return answers


def summary(rtts: list[float]) -> dict[str, float]:
    s = sorted(rtts)
    return {"pings": len(s), "p50_ms": round(statistics.median(s), 2), "p99_ms": round(s[int(0.99 * (len(s) - 1))], 2),
            "max_ms": round(s[-1], 2)}


def thread_cpu_s(pid: int, tid: int) -> float:
    fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def phase(base: str, ws_url: str, token: str, seconds: float, workers: int, pid: int) -> dict[str, Any]:
    loop_cpu0, all_cpu0 = thread_cpu_s(pid, pid), cpu_seconds(pid)  # the server's event-loop thread; all threads
    stop = asyncio.Event()
    ping = asyncio.create_task(pinger(ws_url, token, stop))
    flooder = (await asyncio.create_subprocess_exec(  # its own process: the flood's client work must not delay
        sys.executable, __file__, "--flood", base, "--seconds", str(seconds), "--workers", str(workers),  # the pings
        stdout=asyncio.subprocess.PIPE) if workers else None)
    await asyncio.sleep(seconds)
    stop.set()
    out: dict[str, Any] = {"ping": summary(await ping)}
    loop_cpu, all_cpu = thread_cpu_s(pid, pid) - loop_cpu0, cpu_seconds(pid) - all_cpu0
    out["server_cpu_s"] = {"event_loop": round(loop_cpu, 2), "all_threads": round(all_cpu, 2)}
    if flooder is not None:
        stdout, _ = await flooder.communicate()
        answers = {int(k): v for k, v in json.loads(stdout).items()}
        n = sum(answers.values())
        out["flood"] = {"requests": n, "by_status": dict(sorted(answers.items())), "per_s": round(n / seconds, 1)}
    return out


async def flood_for(base: str, seconds: float, workers: int) -> None:
    os.nice(19)  # the attacker's own client work is not the server's: on one shared machine it must not compete
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(seconds, stop.set)
    print(json.dumps(dict(await flood(base, workers, stop))))


async def allowed_per_minute(per_address: str, per_account: str) -> dict[str, Any]:
    """One attacker as fast as it can for an hour, on a simulated clock: one attempt every 0.1 s."""
    async def run(scope: str) -> list[int]:
        clock = [1_000_000.0]
        lim = AttemptLimiter(ClockedMemoryStorage(lambda: clock[0]), "login", per_address, per_account,
                             lambda: clock[0])
        per_minute = [0] * 60
        for step in range(36_000):
            clock[0] = 1_000_000.0 + step * 0.1
            account = "sato" if scope == "account" else f"user{step}"
            if (await lim.attempt("198.51.100.9", account)).allowed:
                per_minute[step // 600] += 1
                await lim.failed("198.51.100.9")
        return per_minute

    account, address = await run("account"), await run("address")
    return {"per_account": {"windows": per_account, "first_minute": account[0], "first_hour": sum(account),
                            "sustained_per_min": round(sum(account[1:]) / 59, 2)},
            "per_address": {"windows": per_address, "first_minute": address[0], "first_hour": sum(address),
                            "sustained_per_min": round(sum(address[1:]) / 59, 2)}}


DB_URL = ""


async def main() -> None:
    global DB_URL
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--flood", metavar="URL", help=argparse.SUPPRESS)  # the flooding child process
    args = ap.parse_args()
    if args.flood:
        await flood_for(args.flood, args.seconds, args.workers)
        return
    defaults = Settings(secret_key=new_signing_key())
    with tempfile.TemporaryDirectory() as tmp:
        DB_URL = f"sqlite+aiosqlite:///{Path(tmp) / 'flood.db'}"
        await prepare(DB_URL)
        key = new_signing_key()
        token = await staff_token("", key)
        result: dict[str, Any] = {"workers": args.workers, "seconds_per_phase": args.seconds,
                                  "cores": os.cpu_count()}
        for limited in (True, False):
            port = free_port()
            proc = spawn(DB_URL, port, key, Path(tmp) / f"server-{limited}.log", limited)
            base, ws_url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws"
            try:
                await wait_up(base, proc)
                if limited:
                    result["no_flood"] = await phase(base, ws_url, token, args.seconds, 0, proc.pid)
                    result["flood_limited"] = await phase(base, ws_url, token, args.seconds, args.workers, proc.pid)
                else:
                    result["flood_unlimited"] = await phase(base, ws_url, token, args.seconds, args.workers,
                                                            proc.pid)
            finally:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        result["allowed"] = await allowed_per_minute(defaults.login_limit_per_address,
                                                     defaults.login_limit_per_account)
    idle_rate = result["no_flood"]["server_cpu_s"]["event_loop"] / args.seconds  # pings, ticks: the baseline
    for name in ("flood_limited", "flood_unlimited"):
        ph = result[name]
        extra = ph["server_cpu_s"]["event_loop"] - idle_rate * args.seconds
        per_request = 1000 * max(0.0, extra) / max(1, ph["flood"]["requests"])
        ph["flood"]["event_loop_cpu_ms_per_request"] = round(per_request, 2)
    result["load_avg"] = [round(x, 1) for x in os.getloadavg()]
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
