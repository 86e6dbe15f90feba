"""What the server's garbage-collector policy (server/gc_policy.py) keeps alive after connection bursts.

Prints one JSON object on stdout (progress on stderr). For each variant, ``--reps`` times, interleaved
(off, legacy, tree, off, legacy, tree, ...) so that machine noise spreads over all of them:

* a real server node in its own process (``server.run.uvicorn_config``, temp SQLite with the demo seed and
  ``--n`` enrolled bench kiosks, prepared once by ``bench.signaling_load``'s preparer) whose
  ``server.app.GcPolicy`` is the variant:

  - ``off``: the start-up freeze only, no freezing after bursts, no refresh (the baseline);
  - ``legacy``: the policy as first committed (d4ca282): a settled burst is frozen after a collection of
    the two young generations only;
  - ``tree``: ``server.gc_policy.GcPolicy`` as it is in this tree;

* ``--bursts`` times: this process opens ``--n`` real WebSockets, each authenticated (``auth`` with a kiosk
  token → ``welcome``), waits until the server is idle and the policy has had its settle time (it freezes
  then), then drops them all (``transport.abort()``, a network drop: the server sees N disconnects), and
  waits until the server is idle again. After each burst the server reports RSS, the size of the permanent
  (frozen) generation, tracked objects and its collections so far;
* at the end the server is asked what the collector would reclaim: first the garbage in the normal
  generations (``gc.collect()``: what an ordinary full collection frees sooner or later), then everything
  dead in the permanent generation (``gc.unfreeze(); gc.collect()``: what only a refresh frees), each with
  ``gc.DEBUG_SAVEALL`` so that objects, their shallow bytes and their types can be counted before they are
  freed, and the RSS given back. The policy's refresh (hourly, and only while no call is open) never runs
  during a run of a few minutes: what the permanent generation holds at the end is what a busy day keeps.

Medians over the repetitions are in ``summary``; every repetition's numbers are in ``runs``.

    .venv/bin/python -m bench.gc_policy                 # N=1000, 3 bursts, 3 repetitions (~20 min here)
    .venv/bin/python -m bench.gc_policy --quick         # N=500, 2 bursts, 3 repetitions
    .venv/bin/python -m bench.gc_policy --variants legacy,tree --reps 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import gc
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.signaling_load import (
    ROOT,
    Child,
    authenticate,
    child_env,
    cpu_seconds,
    free_port,
    loadavg,
    orphan_watchdog,
    ours_settings,
    peers_and_tokens,
    raise_nofile,
    rss_bytes,
    wait_idle,
    wait_listening,
    ws_connect,
)

VARIANTS = ("off", "legacy", "tree")
SETTLE_S = 3.0  # GcPolicy.settle_s (default): a burst is frozen once no connection came for this long


def log(msg: str) -> None:
    print(f"[gc_policy {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the policy as first committed (d4ca282)
@dataclass
class LegacyGcPolicy:
    """server/gc_policy.py at d4ca282, unchanged in behaviour: the comparison point for the fix."""

    freeze_after_connects: int = 500
    settle_s: float = 3.0
    refresh_s: float = 3600.0
    clock: Any = time.monotonic
    freezes: int = 0
    refreshes: int = 0
    _connects_at_freeze: int = 0
    _last_connects: int = 0
    _last_connect_change: float = field(default=0.0)
    _last_refresh: float = field(default=0.0)

    def __post_init__(self) -> None:
        now = self.clock()
        self._last_connect_change = now
        self._last_refresh = now

    def start(self) -> None:
        gc.collect()
        gc.freeze()
        self.freezes += 1

    def step(self, connects_total: int, calls_open: int) -> str | None:
        now = self.clock()
        if connects_total != self._last_connects:
            self._last_connects, self._last_connect_change = connects_total, now
        if self.refresh_s > 0 and calls_open == 0 and now - self._last_refresh >= self.refresh_s:
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            self.refreshes += 1
            self.freezes += 1
            self._connects_at_freeze = connects_total
            self._last_refresh = now
            return "refresh"
        burst = connects_total - self._connects_at_freeze
        if burst >= self.freeze_after_connects and now - self._last_connect_change >= self.settle_s:
            gc.collect(1)
            gc.freeze()
            self.freezes += 1
            self._connects_at_freeze = connects_total
            return "freeze"
        return None


# ---------------------------------------------------------------- the server, in its own process
class ServerProbe:
    """Inside the server process: GC pause statistics, and reports on request (signals, written to a file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.policies: list[Any] = []
        self.collections = [0, 0, 0]
        self.pause_ms = [0.0, 0.0, 0.0]
        self.max_pause_ms = [0.0, 0.0, 0.0]
        self.seq = 0
        self._t0 = 0.0
        gc.callbacks.append(self._on_gc)
        signal.signal(signal.SIGUSR2, lambda *_: self.report())
        signal.signal(signal.SIGUSR1, lambda *_: self.reclaim())

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
            return
        gen = int(info.get("generation", 0))
        ms = (time.perf_counter() - self._t0) * 1000
        self.collections[gen] += 1
        self.pause_ms[gen] += ms
        self.max_pause_ms[gen] = max(self.max_pause_ms[gen], ms)

    def _write(self, obj: dict[str, Any]) -> None:
        self.seq += 1
        obj["seq"] = self.seq
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(obj))
        os.replace(tmp, self.path)

    def _base(self) -> dict[str, Any]:
        policy = self.policies[-1] if self.policies else None
        return {"rss": rss_bytes(os.getpid()), "heap": heap_bytes(), "frozen": gc.get_freeze_count(),
                "tracked": len(gc.get_objects()),
                "blocks": sys.getallocatedblocks(), "collections": list(self.collections),
                "pause_ms": [round(x, 1) for x in self.pause_ms],
                "max_pause_ms": [round(x, 1) for x in self.max_pause_ms],
                "freezes": getattr(policy, "freezes", None), "refreshes": getattr(policy, "refreshes", None)}

    def report(self) -> None:
        self._write(self._base())

    def reclaim(self) -> None:
        """Destructive, at the very end: what a full collection frees, then what only a refresh frees."""
        out: dict[str, Any] = {"before": self._base()}
        gc.callbacks.remove(self._on_gc)
        out["unfrozen_garbage"] = self._collect_saved()
        gc.unfreeze()
        out["frozen_garbage"] = self._collect_saved()
        out["after"] = self._base()
        self._write(out)

    @staticmethod
    def _collect_saved() -> dict[str, Any]:
        heap0, rss0 = heap_bytes(), rss_bytes(os.getpid())
        gc.set_debug(gc.DEBUG_SAVEALL)  # unreachable objects go to gc.garbage instead of being freed
        try:
            gc.collect()
        finally:
            gc.set_debug(0)
        saved = list(gc.garbage)
        gc.garbage.clear()
        types = Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in saved)
        shallow = sum(sys.getsizeof(o) for o in saved)
        inner: dict[int, Any] = {}  # what only the garbage holds, one step in, not tracked by the collector
        for o in saved:
            for r in gc.get_referents(o):
                if not gc.is_tracked(r) and not isinstance(r, type):
                    inner[id(r)] = r
        inner_bytes: Counter[str] = Counter()
        for r in inner.values():
            inner_bytes[type(r).__qualname__] += sys.getsizeof(r)
        del inner
        count = len(saved)
        del saved
        gc.collect()  # now they are freed
        return {"objects": count, "shallow_bytes": shallow, "top_types": dict(types.most_common(12)),
                "untracked_referents_bytes": dict(inner_bytes.most_common(6)),
                "heap_freed": heap0 - heap_bytes(), "rss_freed": rss0 - rss_bytes(os.getpid())}


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def heap_bytes() -> int:
    """Bytes in use on the heap: pymalloc's allocated blocks (objects up to 512 B, in its own mmapped arenas)
    plus glibc malloc's in-use bytes (everything larger). Unlike RSS, it drops when memory is freed inside a
    partly used arena or page."""
    with tempfile.TemporaryFile() as f:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(f.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        f.seek(0)
        text = f.read().decode(errors="replace")
    pymalloc = next(int(line.split("=")[1].replace(",", "")) for line in text.splitlines()
                    if line.startswith("# bytes in allocated blocks"))
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = _MallInfo2
    info = libc.mallinfo2()
    return pymalloc + int(info.uordblks) + int(info.hblkhd)


def serve(a: argparse.Namespace) -> None:
    orphan_watchdog(a.parent_pid)
    raise_nofile(0)
    import uvicorn

    import server.app
    from server.gc_policy import GcPolicy
    from server.logging_setup import setup_logging
    from server.run import uvicorn_config

    setup_logging("WARNING", json_lines=False)
    probe = ServerProbe(Path(a.stats))

    def make_policy(**kw: Any) -> Any:
        if a.variant == "off":
            policy: Any = GcPolicy(**{**kw, "freeze_after_connects": 10**12, "refresh_s": 0})
        elif a.variant == "legacy":
            policy = LegacyGcPolicy(**kw)
        else:
            policy = GcPolicy(**kw)
        probe.policies.append(policy)
        return policy

    server.app.GcPolicy = make_policy  # type: ignore[assignment,misc]
    uvicorn.Server(uvicorn_config(ours_settings(a.db), port=a.port)).run()


# ---------------------------------------------------------------- the orchestrator
def ask(pid: int, stats: Path, sig: int, timeout: float = 120.0) -> dict[str, Any]:
    before = json.loads(stats.read_text())["seq"] if stats.exists() else 0
    os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError, KeyError):
            obj: dict[str, Any] = json.loads(stats.read_text())
            if obj["seq"] > before:
                return obj
        time.sleep(0.1)
    raise TimeoutError(f"no report from the server within {timeout:.0f} s")


async def burst(url: str, tokens: list[tuple[str, str]], concurrency: int) -> tuple[list[Any], Counter[str]]:
    sem = asyncio.Semaphore(concurrency)
    errors: Counter[str] = Counter()
    conns: list[Any] = []

    async def one(token: str, peer: str) -> None:
        async with sem:
            try:
                ws = await ws_connect(url, 0)
            except Exception as exc:
                errors[f"connect:{type(exc).__name__}"] += 1
                return
            try:
                await authenticate(ws, token, f"auth-{peer}")
            except Exception as exc:
                errors[f"auth:{type(exc).__name__}"] += 1
                ws.transport.abort()
                return
            conns.append(ws)

    await asyncio.gather(*(one(t, p) for t, p in tokens))
    return conns, errors


def drop(conns: list[Any]) -> None:
    for ws in conns:  # abrupt, like a network drop
        ws.transport.abort()


def run_one(variant: str, a: argparse.Namespace, db_master: Path, ids: list[int], workdir: Path,
            loop: asyncio.AbstractEventLoop) -> dict[str, Any]:
    me = [sys.executable, "-m", "bench.gc_policy"]
    db = workdir / f"{variant}.db"
    shutil.copy(db_master, db)
    stats = workdir / f"{variant}-stats.json"
    stats.unlink(missing_ok=True)
    port = free_port()
    server = Child(f"{variant}-server", [*me, "_serve", "--db", str(db), "--port", str(port), "--variant", variant,
                                         "--stats", str(stats), "--parent-pid", str(os.getpid())],
                   workdir, cwd=str(ROOT), env=child_env())
    res: dict[str, Any] = {"variant": variant, "load_at_start": loadavg()}
    try:
        wait_listening(port, server, 120)
        pid = server.pid
        wait_idle(pid, 60)
        start = ask(pid, stats, signal.SIGUSR2)
        tokens = peers_and_tokens("ours", "kiosk", ids)
        url = f"ws://127.0.0.1:{port}/ws"
        bursts: list[dict[str, Any]] = []
        prev = start
        for b in range(a.bursts):
            cpu0 = cpu_seconds(pid)
            conns, errors = loop.run_until_complete(burst(url, tokens, a.concurrency))
            wait_idle(pid, 600)
            time.sleep(SETTLE_S + 1.5)  # the policy's settle time and one tick: a burst is frozen by now
            held = ask(pid, stats, signal.SIGUSR2)
            drop(conns)
            loop.run_until_complete(asyncio.sleep(0.2))
            del conns
            wait_idle(pid, 600)
            time.sleep(1.5)
            after = ask(pid, stats, signal.SIGUSR2)
            bursts.append({
                "connected": a.n - sum(errors.values()), "errors": dict(errors),
                "server_cpu_s": round(cpu_seconds(pid) - cpu0, 2),
                "rss_growth": after["rss"] - prev["rss"], "heap_growth": after["heap"] - prev["heap"],
                "frozen_growth": after["frozen"] - prev["frozen"],
                "tracked_growth": after["tracked"] - prev["tracked"], "freezes": after["freezes"],
                "held": {k: held[k] for k in ("rss", "heap", "frozen", "tracked")},
                "after_close": {k: after[k] for k in ("rss", "heap", "frozen", "tracked", "collections",
                                                      "max_pause_ms")}})
            log(f"{variant}: burst {b + 1}/{a.bursts}: RSS {after['rss'] / 2**20:.1f} MiB "
                f"(+{(after['rss'] - prev['rss']) / 2**10:.0f} KiB), "
                f"heap +{(after['heap'] - prev['heap']) / 2**10:.0f} KiB, frozen {after['frozen']:,} "
                f"(+{after['frozen'] - prev['frozen']:,}), freezes {after['freezes']}")
            prev = after
        end = ask(pid, stats, signal.SIGUSR1, 300)
        res.update(start={k: start[k] for k in ("rss", "heap", "frozen", "tracked")}, bursts=bursts, reclaim=end)
        res["rss_growth_total"] = prev["rss"] - start["rss"]
        res["heap_growth_total"] = prev["heap"] - start["heap"]
        res["frozen_dead_heap_freed"] = end["frozen_garbage"]["heap_freed"]
        res["frozen_growth_total"] = prev["frozen"] - start["frozen"]
        res["frozen_dead_objects"] = end["frozen_garbage"]["objects"]
        res["frozen_dead_shallow_bytes"] = end["frozen_garbage"]["shallow_bytes"]
        res["frozen_dead_rss_freed"] = end["frozen_garbage"]["rss_freed"]
        res["unfrozen_dead_objects"] = end["unfrozen_garbage"]["objects"]
        res["max_gen2_pause_ms"] = prev["max_pause_ms"][2]
        res["gen2_collections"] = prev["collections"][2] - start["collections"][2]
    finally:
        server.stop()
    return res


def median(xs: list[float]) -> float | None:
    return round(statistics.median(xs), 1) if xs else None


def summarize(runs: list[dict[str, Any]], a: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for v in a.variants:
        rs = [r for r in runs if r["variant"] == v and "bursts" in r]
        if not rs:
            continue
        per_burst = a.bursts
        out[v] = {
            "runs": len(rs),
            "rss_growth_per_burst_kib": median([r["rss_growth_total"] / per_burst / 1024 for r in rs]),
            "frozen_objects_added_per_burst": median([r["frozen_growth_total"] / per_burst for r in rs]),
            "dead_in_permanent_generation_per_burst_objects": median(
                [r["frozen_dead_objects"] / per_burst for r in rs]),
            "dead_in_permanent_generation_per_burst_shallow_kib": median(
                [r["frozen_dead_shallow_bytes"] / per_burst / 1024 for r in rs]),
            "heap_growth_per_burst_kib": median([r["heap_growth_total"] / per_burst / 1024 for r in rs]),
            "heap_freed_by_a_refresh_per_burst_kib": median(
                [r["frozen_dead_heap_freed"] / per_burst / 1024 for r in rs]),
            "rss_freed_by_a_refresh_kib": median([r["frozen_dead_rss_freed"] / 1024 for r in rs]),
            "dead_in_normal_generations_objects": median([r["unfrozen_dead_objects"] for r in rs]),
            "gen2_collections": median([r["gen2_collections"] for r in rs]),
            "max_gen2_pause_ms": median([r["max_gen2_pause_ms"] for r in rs]),
        }
    return out


def orchestrate(a: argparse.Namespace) -> int:
    raise_nofile(a.n + 256)
    workdir = Path(tempfile.mkdtemp(prefix="madoguchi-gc-bench-"))
    out: dict[str, Any] = {"bench": "gc_policy", "n": a.n, "bursts": a.bursts, "reps": a.reps,
                           "variants": a.variants, "cpus": os.cpu_count(), "python": sys.version.split()[0],
                           "close": "abort", "settle_s": SETTLE_S}
    try:
        db_master, ids_path = workdir / "master.db", workdir / "ids.json"
        prep = subprocess.run([sys.executable, "-m", "bench.signaling_load", "_prepare", "--db", str(db_master),
                               "--out", str(ids_path), "--n", str(a.n), "--probe", "0", "--pairs", "0"],
                              env=child_env(), cwd=str(ROOT), capture_output=True, text=True, timeout=900)
        if prep.returncode != 0:
            raise RuntimeError(f"prepare failed: {prep.stderr[-1500:]}")
        ids = json.loads(ids_path.read_text())["idle_kiosks"]
        loop = asyncio.new_event_loop()
        runs: list[dict[str, Any]] = []
        for rep in range(a.reps):
            for v in a.variants:
                log(f"repetition {rep + 1}/{a.reps}: {v}")
                try:
                    runs.append({"rep": rep, **run_one(v, a, db_master, ids, workdir, loop)})
                except Exception as exc:
                    runs.append({"rep": rep, "variant": v, "error": f"{type(exc).__name__}: {exc}"})
                    log(f"{v}: failed: {exc}")
        loop.close()
        out["summary"] = summarize(runs, a)
        out["runs"] = runs
    finally:
        if not a.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            out["workdir"] = str(workdir)
    print(json.dumps(out, indent=1))
    return 0


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        ap = argparse.ArgumentParser()
        ap.add_argument("_cmd")
        ap.add_argument("--db", required=True)
        ap.add_argument("--port", type=int, required=True)
        ap.add_argument("--variant", choices=VARIANTS, required=True)
        ap.add_argument("--stats", required=True)
        ap.add_argument("--parent-pid", type=int, default=0)
        serve(ap.parse_args())
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="connections per burst")
    ap.add_argument("--bursts", type=int, default=3)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--variants", type=lambda s: s.split(","), default=list(VARIANTS))
    ap.add_argument("--concurrency", type=int, default=100, help="handshakes in flight")
    ap.add_argument("--quick", action="store_true", help="N=500, 2 bursts")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (databases, server logs)")
    a = ap.parse_args()
    if a.quick:
        a.n, a.bursts = 500, 2  # 500: the default burst size the policy freezes at
    bad = set(a.variants) - set(VARIANTS)
    if bad:
        ap.error(f"unknown variants: {sorted(bad)}")
    sys.exit(orchestrate(a))


if __name__ == "__main__":
    main()
