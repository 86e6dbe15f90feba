"""The packaged kiosk and console (scripts/package.py), built once per test session, and how a test runs them.

A bundle in ``dist/`` (``make package``) is used when it is newer than every source it is built from; otherwise
the session builds both into ``build/test-dist/`` (kept for the next run, rebuilt when a source changes)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tests.support import WAIT_S, eventually

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("kiosk", "staff_console", "signaling", "scripts/package.py", "pyproject.toml")
APPS = {"kiosk": "madoguchi-kiosk", "console": "madoguchi-console"}
BUILD_TIMEOUT_S = 1800.0  # two PyInstaller builds on a loaded 2-core machine


def newest_source() -> float:
    newest = 0.0
    for name in SOURCES:
        path = ROOT / name
        files: Iterable[Path] = path.rglob("*") if path.is_dir() else [path]
        newest = max([newest, *(f.stat().st_mtime for f in files if f.is_file() and "__pycache__" not in f.parts)])
    return newest


def fresh(dist: Path) -> bool:
    exes = [dist / name / name for name in APPS.values()]
    return all(exe.exists() for exe in exes) and min(exe.stat().st_mtime for exe in exes) > newest_source()


def packaged_dist() -> Path:
    """A folder holding both fresh bundles: ``dist/`` if fresh, else ``build/test-dist`` (built if needed)."""
    for dist in (ROOT / "dist", ROOT / "build" / "test-dist"):
        if fresh(dist):
            return dist
    dist = ROOT / "build" / "test-dist"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "package.py"), "--dist", str(dist),
                    "--work", str(ROOT / "build" / "test-work")], check=True, timeout=BUILD_TIMEOUT_S, cwd=ROOT)
    assert fresh(dist), f"the build left no fresh bundles in {dist}"
    return dist


def app_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment a packaged app gets in a test: its own HOME (credential, settings), offscreen Qt, and none
    of the test run's MADOGUCHI_* or Python settings (a bundle must not depend on the developer's venv)."""
    keep = ("PATH", "LANG", "LC_ALL", "TZ", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(HOME=str(home), QT_QPA_PLATFORM="offscreen", **extra)
    return env


def read_env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text("utf-8").splitlines() if "=" in line)


@dataclass
class Running:
    """A packaged app started by a test, its output (stdout and stderr) in a file."""

    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text("utf-8", errors="replace")

    async def shows(self, screen: str) -> None:
        """Wait for the app's own ``screen shown: <screen>`` line (signaling.qt.loop.log_screen_shown)."""
        def shown() -> bool:
            assert self.proc.poll() is None, f"the app exited ({self.proc.returncode}):\n{self.output()[-3000:]}"
            return f"screen shown: {screen}" in self.output()

        await eventually(shown, timeout=max(WAIT_S, 120.0), step=0.1, what=f"screen shown: {screen}")

    async def exit_code(self) -> int:
        try:
            await eventually(lambda: self.proc.poll() is not None, timeout=WAIT_S, step=0.05, what="the app exited")
        except AssertionError:  # say where it hangs: its tasks and threads into its log (signaling.qt.loop)
            self.proc.send_signal(signal.SIGUSR1)
            with contextlib.suppress(AssertionError):
                await eventually(lambda: "most recent call first" in self.output(), timeout=WAIT_S, step=0.1,
                                 what="the app's state dump")
            raise AssertionError(f"the app did not exit within {WAIT_S:g} s:\n{self.output()[-8000:]}") from None
        return int(self.proc.returncode)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def start(exe: Path, args: list[str], env: dict[str, str], log: Path) -> Running:
    with open(log, "wb") as out:  # the child keeps its own descriptor
        proc = subprocess.Popen([str(exe), *args], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)
    return Running(proc, log)
