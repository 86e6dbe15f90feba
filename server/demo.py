"""``madoguchi demo``: server + one kiosk + one console, a real call, then the session log.

The parts run as three processes, exactly as in three terminals
(``madoguchi server``, ``madoguchi kiosk``, ``madoguchi console``); this
module never imports the kiosk or console packages.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from server.admin_ops import enroll_kiosk
from server.db.seed import DEMO_PASSWORD, seed_demo
from server.db.session import make_engine, make_sessionmaker
from server.migrate import upgrade
from server.session_log import format_rows, session_rows
from server.signing_key import new_signing_key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def prepare(db_url: str, branch: str, history: int) -> tuple[int, str, str]:
    engine = make_engine(db_url)
    maker = make_sessionmaker(engine)
    async with maker() as db, db.begin():
        await seed_demo(db)
        e = await enroll_kiosk(db, branch, "demo kiosk", "demo")
    if history:
        from server.history_seed import seed_history

        await seed_history(maker, history)
    await engine.dispose()
    assert e.selfcheck_pin is not None
    return e.kiosk_id, e.code, e.selfcheck_pin


async def print_log(db_url: str) -> list[dict[str, object]]:
    engine = make_engine(db_url)
    async with make_sessionmaker(engine)() as db:
        rows = await session_rows(db, limit=5)
    await engine.dispose()
    print(format_rows(rows))
    return rows


def wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("server did not become ready")


def run_demo(*, headless: bool, seconds: float, var_dir: Path, history: int = 0, service: str = "disability",
             user: str = "takahashi", branch: str = "bihoro") -> int:
    var_dir.mkdir(parents=True, exist_ok=True)
    db_path = var_dir / "demo.db"
    db_url = f"sqlite+aiosqlite:///{db_path}"
    upgrade(db_url)
    kiosk_id, code, pin = asyncio.run(prepare(db_url, branch, history))
    print(f"demo kiosk self-check PIN: {pin} (tap the welcome title five times)", flush=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MADOGUCHI_DATABASE_URL": db_url, "MADOGUCHI_PORT": str(port),
           "MADOGUCHI_SECRET_KEY": new_signing_key(),  # a fresh key per demo run: nothing published is accepted
           "MADOGUCHI_CONSOLE_PASSWORD": DEMO_PASSWORD, "MADOGUCHI_LOG_JSON": "false"}
    exe = [sys.executable, "-m", "server.cli"]
    cred = var_dir / f"kiosk-{kiosk_id}.json"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(subprocess.Popen([*exe, "server"], env=env))
        wait_ready(url)
        print(f"server ready at {url} (database {db_path})", flush=True)
        mode = ["--headless"] if headless else []
        console = subprocess.Popen([*exe, "console", "--server", url, "--user", user, *mode], env=env,
                                   stdout=subprocess.PIPE)
        procs.append(console)
        kiosk_cmd = [*exe, "kiosk", "--server", url, "--credential-file", str(cred), "--kiosk-id", str(kiosk_id),
                     "--enroll-code", code, "--service", service, "--call-seconds", str(seconds), *mode]
        if not headless:
            kiosk_cmd.append("--windowed")
        kiosk = subprocess.Popen(kiosk_cmd, env=env, stdout=subprocess.PIPE)
        procs.append(kiosk)
        k_out, _ = kiosk.communicate(timeout=None if not headless else 180 + seconds)
        c_out, _ = console.communicate(timeout=None if not headless else 60)
        if kiosk.returncode != 0 or console.returncode != 0:
            print(f"kiosk exited {kiosk.returncode}, console exited {console.returncode}", file=sys.stderr)
            return 1
        for out in (k_out, c_out):
            if out:
                print(out.decode().strip())
        rows = asyncio.run(print_log(db_url))
        last = rows[0] if rows else {}
        ok = bool(last.get("frames_at_kiosk")) and bool(last.get("frames_at_console")) and last.get("end_reason")
        if headless and not ok:
            print("demo: the call did not carry media both ways", file=sys.stderr)
            return 1
        print(json.dumps({"demo": "ok", "session": last.get("session")}))
        return 0
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
