"""Start-to-welcome time of the packaged kiosk (``make package``) beside ``python -m kiosk``, in the same run.

Each start: an enrolled kiosk (credential in a temporary HOME) is started offscreen against a real server
(uvicorn, SQLite); measured from the process start to its ``screen shown: welcome`` line, then it is stopped
with SIGTERM. The two programs alternate, ``--runs`` each (default 3); prints one JSON object with every sample
and the medians. The bundle is ``dist/`` when fresh, else built as the tests build it (tests/packaging/bundles.py).

Run: ``python -m bench.kiosk_startup [--runs 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.packaging.bundles import ROOT, Running, app_env, packaged_dist, start
from tests.support import make_settings, server_env


async def start_to_welcome(cmd: list[str], env: dict[str, str], log: Path) -> float:
    started = time.monotonic()
    app: Running = start(Path(cmd[0]), cmd[1:], env, log)
    try:
        while "screen shown: welcome" not in app.output():
            if app.proc.poll() is not None:
                raise RuntimeError(f"{cmd[0]} exited: {app.output()[-2000:]}")
            if time.monotonic() - started > 300:
                raise TimeoutError(f"{cmd[0]}: no welcome screen within 300 s")
            await asyncio.sleep(0.01)
        took = time.monotonic() - started
        app.proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(app.proc.wait, 60)
        return took
    finally:
        app.kill()


async def measure(runs: int, tmp: Path) -> dict[str, object]:
    exe = packaged_dist() / "madoguchi-kiosk" / "madoguchi-kiosk"
    async with server_env(make_settings(tmp, "sqlite")) as env:
        kid, secret = await env.enroll_kiosk("bihoro")
        cred = tmp / "kiosk.json"
        cred.write_text(json.dumps({"kiosk_id": kid, "secret": secret, "branch": "bihoro"}))
        base = app_env(tmp / "home", MADOGUCHI_KIOSK_SERVER_URL=env.url, MADOGUCHI_KIOSK_CREDENTIAL_FILE=str(cred))
        commands = {"packaged": ([str(exe), "--windowed"], base),
                    "python -m kiosk": ([sys.executable, "-m", "kiosk", "--windowed"],
                                        {**base, "PYTHONPATH": str(ROOT)})}
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for i in range(runs):
            for name, (cmd, cmd_env) in commands.items():
                samples[name].append(round(await start_to_welcome(cmd, cmd_env, tmp / f"run{i}.log"), 2))
    return {"runs": runs, "bundle": str(exe.parent), "samples_s": samples,
            "median_s": {name: statistics.median(v) for name, v in samples.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    ns = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(asyncio.run(measure(ns.runs, Path(tmp))), ensure_ascii=False))


if __name__ == "__main__":
    main()
