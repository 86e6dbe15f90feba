"""What the kiosk program costs in CPU during a call, beside a bare aiortc endpoint in the same run (issue 11.6).

Every endpoint is its own process (bench/cost_endpoints.py), so its CPU is read from ``/proc/<pid>/stat``
(utime + stime of all its threads: encoder, decoder, Qt, asyncio) over a fixed window of a live call, after a
warm-up. One real server (uvicorn, SQLite, demo seed) runs in this process. Rounds interleave, so machine noise
(a shared machine) falls on every kind alike:

``kiosk``      the kiosk program (``KioskApp``: window shown offscreen at 1280x800, speaker output, controller;
               its synthetic camera at 640x480, 15 fps, as the product's defaults) in a call with the staff
               console program (takahashi, also VGA 15 fps).
``bare``       a bare aiortc endpoint: one ``RTCPeerConnection`` sending the same synthetic VGA 15 fps video and
               440 Hz tone and draining what it receives (decoded by aiortc, as the kiosk's), in a call with a
               second bare endpoint that sends the same. Same aiortc, same VP8/Opus, same default bitrates.
``kiosk_doc``  the kiosk with the document camera on (synthetic 2592x1944 page at 10 fps; the call's video
               carries it at 1280x960, the screen shows it large).

Then once, ``mesh``: the kiosk, the console, a supervisor listening in (tanaka, another console process) and a
guest in real headless Chromium (the server's guest page, fake camera): four endpoints, CPU per process
(Chromium: every process of its tree) and the total.

Prints one JSON object: per round the CPU seconds per second of call (1.0 = one core) and the received and
painted frame rates, per kind the median, and the ratio kiosk/bare per round and its median (goal ≤ 1.25).

Run: ``python -m bench.kiosk_cost [--rounds 3] [--seconds 10] [--warmup 3] [--no-mesh] [--no-doc]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bench.cost_endpoints import PREFIX
from tests.support import allow_outside_supervision, make_settings, server_env

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")
WAIT_S = 120.0
GOAL = 1.25


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process (all its threads), in seconds."""
    return cpu_seconds_path(f"/proc/{pid}/stat")


def children_of() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                tree.setdefault(ppid, []).append(int(entry))
    return tree


def descendants(root: int, skip: set[int]) -> list[int]:
    tree, out, todo = children_of(), [], [root]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in skip:
                out.append(child)
                todo.append(child)
    return out


def main_thread_cpu(pid: int) -> float:
    """The main thread's share (Python, Qt and the asyncio loop; aiortc encodes and decodes on other threads)."""
    return cpu_seconds_path(f"/proc/{pid}/task/{pid}/stat")


def cpu_seconds_path(path: str) -> float:
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def tree_cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):  # a process that ended in the window: its time is gone with it
            total += cpu_seconds(pid)
    return total


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


class Endpoint:
    """One child process of bench/cost_endpoints.py: JSON commands in, ``@@`` JSON events out."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process) -> None:
        self.name, self.proc = name, proc
        self.events: list[dict[str, Any]] = []
        self._changed = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(cls, name: str, args: list[str], env: dict[str, str], log: Path, root: Path = ROOT) -> Endpoint:
        err = log.open("ab")  # the child's stderr (its log); the child holds its own copy
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.cost_endpoints", *args, cwd=root, env={**env, "PYTHONPATH": str(root)},
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=err)
        finally:
            err.close()
        return cls(name, proc)

    @property
    def pid(self) -> int:
        return int(self.proc.pid)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            text = line.decode(errors="replace")
            if text.startswith(PREFIX):
                self.events.append(json.loads(text[len(PREFIX):]))
                self._changed.set()
        self.events.append({"event": "exit"})
        self._changed.set()

    async def first(self, pred: Any, since: int, timeout: float, what: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events[since:]:
                if pred(e):
                    return e
                if e["event"] == "exit":
                    raise RuntimeError(f"{self.name} exited (see its log)")
            self._changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.name}: no {what} within {timeout} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def wait(self, event: str, since: int = 0, timeout: float = WAIT_S, **match: Any) -> dict[str, Any]:
        return await self.first(lambda e: e["event"] == event and all(e.get(k) == v for k, v in match.items()),
                                 since, timeout, f"{event} {match or ''}")

    def send(self, **cmd: Any) -> int:
        assert self.proc.stdin is not None
        mark = len(self.events)
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        return mark

    async def call(self, cmd: str, timeout: float = WAIT_S, **args: Any) -> Any:
        mark = self.send(cmd=cmd, **args)
        e = await self.first(lambda e: e.get("cmd") == cmd and e["event"] in ("done", "error"), mark, timeout,
                              f"reply to {cmd}")
        if e["event"] == "error":
            raise RuntimeError(f"{self.name} {cmd}: {e['error']}")
        return e["result"]

    async def stop(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.send(cmd="quit")
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        self._reader.cancel()


async def until(pred: Any, what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not await pred():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.2)


async def window(pids: dict[str, list[int]], seconds: float) -> tuple[dict[str, float], float, float]:
    """CPU seconds per second of each group of processes over ``seconds``; and the load average at both ends."""
    def read() -> dict[str, float]:
        out = {name: tree_cpu(p) for name, p in pids.items()}
        out.update({f"{name}_main": main_thread_cpu(p[0]) for name, p in pids.items() if len(p) == 1})
        return out

    load0 = loadavg()
    before = read()
    t0 = time.monotonic()
    await asyncio.sleep(seconds)
    after = read()
    dt = time.monotonic() - t0
    return {name: (after[name] - before[name]) / dt for name in before}, load0, loadavg()


class Bench:
    def __init__(self, tmp: Path, env: Any, seconds: float, warmup: float, perf: Path | None = None,
                 profile: Path | None = None) -> None:
        self.tmp, self.env, self.seconds, self.warmup = tmp, env, seconds, warmup
        self.profile = profile  # cProfile the kiosk's main thread in each window (diagnosis: the figures suffer)
        self.perf = perf  # record each measured process with `perf record -g` (diagnosis: the figures suffer)
        self.loads: list[float] = []
        base = {k: v for k, v in os.environ.items() if not k.startswith("MADOGUCHI_")}
        self.base = {**base, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp / "home")}
        self.kiosk: Endpoint
        self.console: Endpoint

    def log(self, name: str) -> Path:
        return self.tmp / f"{name}.log"

    async def start(self, baseline: Path | None = None) -> None:
        self.kiosk, self.kiosk_peer = await self.start_kiosk("kiosk", ROOT)
        if baseline is not None:  # the same kiosk program from another checkout (before a change), same run
            self.baseline, self.baseline_peer = await self.start_kiosk("kiosk-baseline", baseline)
        self.console = await self.start_console("takahashi")

    async def start_kiosk(self, name: str, root: Path) -> tuple[Endpoint, str]:
        kid, secret = await self.env.enroll_kiosk("bihoro")
        cred = self.tmp / f"{name}.json"
        cred.write_text(json.dumps({"kiosk_id": kid, "secret": secret, "branch": "bihoro"}))
        cred.chmod(0o600)
        kenv = {**self.base, "MADOGUCHI_KIOSK_SERVER_URL": self.env.url, "MADOGUCHI_KIOSK_CREDENTIAL_FILE": str(cred),
                "MADOGUCHI_KIOSK_FULLSCREEN": "false", "MADOGUCHI_KIOSK_MEDIA_SOURCE": "synthetic",
                "MADOGUCHI_KIOSK_DOCUMENT_CAMERA_SOURCE": "synthetic", "MADOGUCHI_KIOSK_REQUEST_TIMEOUT_S": "60"}
        kiosk = await Endpoint.start(name, ["kiosk"], kenv, self.log(name), root)
        ready = await kiosk.wait("ready")
        return kiosk, f"kiosk:{ready['kiosk_id']}"

    async def start_console(self, user: str) -> Endpoint:
        cenv = {**self.base, "MADOGUCHI_CONSOLE_SERVER_URL": self.env.url, "MADOGUCHI_CONSOLE_REQUEST_TIMEOUT_S": "60"}
        console = await Endpoint.start(user, ["console", user], cenv, self.log(user))
        await console.wait("ready")
        return console

    async def stop(self) -> None:
        for ep in (getattr(self, "kiosk", None), getattr(self, "baseline", None), getattr(self, "console", None)):
            if ep is not None:
                await ep.stop()

    @contextlib.asynccontextmanager
    async def recording(self, name: str, pid: int) -> AsyncIterator[None]:
        if self.perf is None:
            yield
            return
        self.perf.mkdir(parents=True, exist_ok=True)
        out = self.perf / f"{name}.{pid}.data"
        proc = await asyncio.create_subprocess_exec(
            "perf", "record", "-F", "499", "-g", "-o", str(out), "-p", str(pid),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        try:
            yield
        finally:
            proc.send_signal(signal.SIGINT)
            await proc.wait()

    async def kiosk_call(self) -> None:
        """The resident asks, the specialist accepts; until both receive video."""
        assert await self.console.call("available")
        mark = len(self.kiosk.events)
        assert await self.kiosk.call("visit")
        await self.kiosk.wait("call_started", mark)

        async def flowing() -> bool:
            k, c = await self.kiosk.call("frames"), await self.console.call("frames")
            return bool(k["remote"] > 15 and c["links"].get(self.kiosk_peer, 0) > 15)

        await until(flowing, "kiosk and console receive each other's video")

    async def end_kiosk_call(self) -> None:
        mark = len(self.kiosk.events)
        done = await self.console.call("hang_up")
        assert done["wrapup_done"], done
        await self.kiosk.wait("call_ended", mark)
        await until(lambda: self._screen_is("welcome", "idle"), "the kiosk back on its first screen")

    async def _screen_is(self, *names: str) -> bool:
        return str(await self.kiosk.call("screen")) in names

    async def measure_kiosk(self, document: bool, baseline: bool = False, **switch_off: bool) -> dict[str, Any]:
        if not baseline:
            return await self._measure_kiosk(document, **switch_off)
        mine = self.kiosk, self.kiosk_peer
        self.kiosk, self.kiosk_peer = self.baseline, self.baseline_peer
        try:
            return await self._measure_kiosk(document, **switch_off)
        finally:
            self.kiosk, self.kiosk_peer = mine

    async def _measure_kiosk(self, document: bool, **switch_off: bool) -> dict[str, Any]:
        await self.kiosk_call()
        if switch_off:
            await self.kiosk.call("diagnose", **switch_off)
        if document:
            mark = len(self.kiosk.events)
            assert await self.kiosk.call("document", on=True)
            await self.kiosk.wait("document", mark, showing=True)
        await asyncio.sleep(self.warmup)
        f0 = await self.kiosk.call("frames")
        name = "kiosk_doc" if document else "kiosk"
        if self.profile is not None:
            await self.kiosk.call("profile", on=True)
        async with self.recording(name, self.kiosk.pid):
            cpu, l0, l1 = await window({"kiosk": [self.kiosk.pid], "console": [self.console.pid]}, self.seconds)
        if self.profile is not None:
            self.profile.mkdir(parents=True, exist_ok=True)
            await self.kiosk.call("profile", on=False, path=str(self.profile / f"{name}.{len(self.loads)}.prof"))
        f1 = await self.kiosk.call("frames")
        self.loads += [l0, l1]
        if document:
            await self.kiosk.call("document", on=False)
        await self.end_kiosk_call()
        if switch_off:
            await self.kiosk.call("restore")
        return {"cpu": round(cpu["kiosk"], 3), "main_thread": round(cpu["kiosk_main"], 3),
                "peer_cpu": round(cpu["console"], 3),
                "fps_received": round((f1["remote"] - f0["remote"]) / self.seconds, 1),
                "fps_painted_remote": round((f1["painted_remote"] - f0["painted_remote"]) / self.seconds, 1),
                "fps_painted_self": round((f1["painted_self"] - f0["painted_self"]) / self.seconds, 1)}

    async def measure_bare(self, i: int, qasync: bool = False) -> dict[str, Any]:
        extra = ["--qasync"] if qasync else []
        answer = await Endpoint.start("bare-answer", ["bare", "answer", *extra], self.base, self.log(f"bare{i}"))
        offer = await Endpoint.start("bare-offer", ["bare", "offer"], self.base, self.log(f"bare{i}-far"))
        try:
            await answer.wait("ready")
            sdp = await offer.wait("sdp")
            mark = answer.send(sdp=sdp["sdp"])
            offer.send(sdp=(await answer.wait("sdp", mark))["sdp"])

            async def flowing() -> bool:
                a, o = await answer.call("frames"), await offer.call("frames")
                return bool(a["remote"] > 15 and o["remote"] > 15)

            await until(flowing, "the bare endpoints receive each other's video")
            await asyncio.sleep(self.warmup)
            f0 = await answer.call("frames")
            async with self.recording("bare", answer.pid):
                cpu, l0, l1 = await window({"bare": [answer.pid], "far": [offer.pid]}, self.seconds)
            f1 = await answer.call("frames")
            self.loads += [l0, l1]
            return {"cpu": round(cpu["bare"], 3), "main_thread": round(cpu["bare_main"], 3),
                    "peer_cpu": round(cpu["far"], 3),
                    "fps_received": round((f1["remote"] - f0["remote"]) / self.seconds, 1)}
        finally:
            await offer.stop()
            await answer.stop()

    async def measure_mesh(self) -> dict[str, Any]:
        from tests.integration.guest_browser import chromium, enter_lobby, new_page, wait_browser_frames

        await allow_outside_supervision(self.env)  # tanaka is Kitami's supervisor; the kiosk is Bihoro's
        sup = await self.start_console("tanaka")
        try:
            await self.kiosk_call()
            me = (await self.console.call("frames"))["me"]
            sessions = [e for e in self.kiosk.events if e["event"] == "call_started"]
            async with chromium() as browser:
                page = await new_page(browser)
                # the guest first: the console keeps the fourth place of the mesh for a supervisor
                mark = len(self.console.events)
                guest = await self.console.call("invite_guest")
                await enter_lobby(page, guest["link"])
                await self.console.first(lambda e: e["event"] == "guest_lobby" and guest["invitation_id"] in e["ids"],
                                         mark, WAIT_S, "the guest in the lobby")
                assert await self.console.call("admit", invitation_id=guest["invitation_id"])
                await wait_browser_frames(page, [self.kiosk_peer, me], 15)
                g_peer = f"guest:{guest['invitation_id']}"
                assert await sup.call("join", session_id=sessions[-1]["session_id"])

                async def all_flowing() -> bool:
                    k, c = await self.kiosk.call("frames"), await self.console.call("frames")
                    s = (await sup.call("frames"))["links"]
                    return bool(k["links"].get(g_peer, 0) > 15 and c["links"].get(g_peer, 0) > 15
                                and all(s.get(p, 0) > 15 for p in (self.kiosk_peer, me, g_peer)))

                await until(all_flowing, "the kiosk and the console receive the guest")
                await asyncio.sleep(self.warmup)
                ours = {self.kiosk.pid, self.console.pid, sup.pid}
                browser_pids = [p for p in descendants(os.getpid(), ours) if _is_chromium(p)]
                pids = {"kiosk": [self.kiosk.pid], "console": [self.console.pid], "supervisor": [sup.pid],
                        "browser_guest": browser_pids, "server_and_bench": [os.getpid()]}
                f0 = await self.kiosk.call("frames")
                cpu, l0, l1 = await window(pids, self.seconds)
                f1 = await self.kiosk.call("frames")
                self.loads += [l0, l1]
                await page.context.close()
            await sup.call("leave")
            await self.end_kiosk_call()
        finally:
            await sup.stop()
        endpoints = ("kiosk", "console", "supervisor", "browser_guest")
        return {"cpu": {k: round(v, 3) for k, v in cpu.items() if not k.endswith("_main")},
                "main_thread": {k[:-5]: round(v, 3) for k, v in cpu.items() if k.endswith("_main")},
                "endpoints_total": round(sum(cpu[k] for k in endpoints), 3),
                "kiosk_links": sorted(f1["links"]), "chromium_processes": len(browser_pids),
                "kiosk_fps_received": {p: round((n - f0["links"].get(p, 0)) / self.seconds, 1)
                                       for p, n in f1["links"].items()}}


def _is_chromium(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return "chrom" in Path(f"/proc/{pid}/comm").read_text()
    return False


def summary(rounds: list[dict[str, Any]], kind: str) -> float | None:
    values = [r[kind]["cpu"] for r in rounds if kind in r]
    return round(statistics.median(values), 3) if values else None


async def run(ns: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        (tmp / "home").mkdir()
        async with server_env(make_settings(tmp, "sqlite", offer_timeout_s=60.0)) as env:
            bench = Bench(tmp, env, ns.seconds, ns.warmup, ns.perf, ns.profile)
            rounds: list[dict[str, Any]] = []
            mesh: dict[str, Any] | None = None
            try:
                await bench.start(ns.baseline)
                await bench.kiosk_call()  # warm-up call: first imports, codecs, caches
                await bench.end_kiosk_call()
                if ns.baseline:
                    await bench.measure_kiosk(False, baseline=True)  # its warm-up
                for i in range(ns.rounds):
                    r: dict[str, Any] = {"kiosk": await bench.measure_kiosk(False), "bare": await bench.measure_bare(i)}
                    if ns.baseline:
                        r["kiosk_baseline"] = await bench.measure_kiosk(False, baseline=True)
                        r["ratio_baseline"] = round(r["kiosk_baseline"]["cpu"] / r["bare"]["cpu"], 2)
                    if not ns.no_doc:
                        r["kiosk_doc"] = await bench.measure_kiosk(True)
                        if ns.baseline:
                            r["kiosk_doc_baseline"] = await bench.measure_kiosk(True, baseline=True)
                    if ns.diagnose:  # what the parts cost: the same call with one part switched off
                        r["kiosk_no_paint"] = await bench.measure_kiosk(False, paint=False)
                        r["kiosk_no_speaker"] = await bench.measure_kiosk(False, speaker=False)
                        r["kiosk_neither"] = await bench.measure_kiosk(False, paint=False, speaker=False)
                        r["bare_qasync"] = await bench.measure_bare(i, qasync=True)
                    r["ratio"] = round(r["kiosk"]["cpu"] / r["bare"]["cpu"], 2)
                    if "kiosk_doc" in r:
                        r["ratio_doc"] = round(r["kiosk_doc"]["cpu"] / r["bare"]["cpu"], 2)
                    rounds.append(r)
                    print(json.dumps({"round": i, **r}), file=sys.stderr)
                if not ns.no_mesh:
                    mesh = await bench.measure_mesh()
            except Exception:
                for ep in (getattr(bench, "kiosk", None), getattr(bench, "console", None)):
                    if ep is not None:
                        print(f"--- {ep.name} events: {ep.events[-15:]}", file=sys.stderr)
                for name in ("kiosk", "takahashi", "tanaka"):
                    log = tmp / f"{name}.log"
                    if log.exists():
                        print(f"--- {name} log (tail)\n{log.read_text()[-3000:]}", file=sys.stderr)
                raise
            finally:
                await bench.stop()
    ratios = [r["ratio"] for r in rounds]
    out: dict[str, Any] = {
        "bench": "kiosk_cost", "measure": "CPU seconds per second of call (1.0 = one core), /proc utime+stime",
        "rounds": ns.rounds, "seconds": ns.seconds, "warmup_s": ns.warmup, "cores": os.cpu_count(),
        "loadavg_1min": [min(bench.loads), max(bench.loads)] if bench.loads else None,
        "median_cpu": {k: summary(rounds, k) for k in ("kiosk", "bare", "kiosk_doc", "kiosk_no_paint",
                                                        "kiosk_no_speaker", "kiosk_neither", "bare_qasync",
                                                        "kiosk_baseline", "kiosk_doc_baseline")
                       if summary(rounds, k)},
        "ratio_median": statistics.median(ratios) if ratios else None, "ratios": ratios, "goal_ratio": GOAL,
    }
    if ns.baseline and rounds:
        out["baseline"] = str(ns.baseline)
        out["ratio_baseline_median"] = statistics.median(r["ratio_baseline"] for r in rounds)
    if not ns.no_doc and rounds:
        out["ratio_doc_median"] = statistics.median(r["ratio_doc"] for r in rounds)
    out["per_round"] = rounds
    if mesh is not None:
        out["mesh"] = mesh
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window of each call")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of media before the window")
    parser.add_argument("--no-doc", action="store_true", help="skip the document-camera calls")
    parser.add_argument("--no-mesh", action="store_true", help="skip the four-endpoint mesh")
    parser.add_argument("--diagnose", action="store_true",
                        help="also the kiosk with its video painting, its speaker output, or both switched off")
    parser.add_argument("--baseline", type=Path, help="also run the kiosk program of this checkout (e.g. a "
                        "worktree of the commit before a change, with these two bench files copied in), same rounds")
    parser.add_argument("--perf", type=Path, help="diagnosis: `perf record -g` each measured process into this folder")
    parser.add_argument("--profile", type=Path, help="diagnosis: cProfile the kiosk's main thread into this folder")
    ns = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(asyncio.run(run(ns)), ensure_ascii=False))


if __name__ == "__main__":
    main()
