"""A real systemd *user* manager for a test, in a private mount namespace.

The container has no systemd as PID 1, but ``systemd --user`` runs when ``/run/systemd/system`` exists (what
``sd_booted()`` checks): ``unshare -m`` gives the manager a mount namespace of its own with a tmpfs on
``/run/systemd``, so nothing outside changes. Its runtime directory, configuration (units) and HOME are the
test's temporary folders; ``systemctl --user`` reaches it through ``nsenter`` into that namespace."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

from tests.support import WAIT_S, eventually

SYSTEMD = Path("/usr/lib/systemd/systemd")
_SCRIPT = "mount -t tmpfs tmpfs /run/systemd && mkdir -p /run/systemd/system && exec {systemd} --user"


def unavailable() -> str | None:
    """Why a user manager cannot run here (None: it can)."""
    for tool in ("unshare", "nsenter", "systemctl"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not SYSTEMD.exists():
        return f"{SYSTEMD} is missing (Debian package systemd)"
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"no private mount namespace here (unshare -m: {probe.stderr.strip()})"
    return None


class UserManager:
    def __init__(self, root: Path) -> None:
        self.runtime, self.config, self.home = root / "xdg-runtime", root / "xdg-config", root / "home"
        for d in (self.runtime, self.config / "systemd" / "user", self.home):
            d.mkdir(parents=True, exist_ok=True)
        self.runtime.chmod(0o700)
        self.unit_dir = self.config / "systemd" / "user"
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.home),
                    "XDG_RUNTIME_DIR": str(self.runtime), "XDG_CONFIG_HOME": str(self.config)}
        self.log = root / "systemd-user.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def _launch(self) -> None:
        with open(self.log, "wb") as out:  # the manager keeps its own descriptor
            self.proc = subprocess.Popen(
                ["unshare", "-m", "--propagation", "private", "sh", "-c", _SCRIPT.format(systemd=SYSTEMD)],
                env=self.env, stdout=out, stderr=subprocess.STDOUT)

    async def start(self) -> None:
        self._launch()

        async def running() -> bool:
            assert self.proc is not None and self.proc.poll() is None, f"systemd --user exited: {self.log_text()}"
            return (await self.systemctl("is-system-running", check=False)).strip() in ("running", "degraded")

        await eventually(running, timeout=max(WAIT_S, 60.0), step=0.1, what="systemd --user running")

    def log_text(self) -> str:
        return self.log.read_text("utf-8", errors="replace")[-3000:]

    async def systemctl(self, *args: str, check: bool = True) -> str:
        assert self.proc is not None
        proc = await asyncio.create_subprocess_exec(
            "nsenter", "-t", str(self.proc.pid), "-m", "systemctl", "--user", *args, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(), WAIT_S)
        text = out.decode("utf-8", errors="replace")
        if check and proc.returncode != 0:
            raise AssertionError(f"systemctl --user {' '.join(args)} failed ({proc.returncode}): {text}")
        return text

    async def show(self, unit: str, *props: str) -> dict[str, str]:
        out = await self.systemctl("show", unit, *(f"--property={p}" for p in props))
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    async def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        await self.systemctl("exit", check=False)  # stops every unit (SIGTERM), then the manager
        try:
            await eventually(lambda: self.proc is not None and self.proc.poll() is not None, timeout=WAIT_S,
                             step=0.1, what="systemd --user exited")
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
