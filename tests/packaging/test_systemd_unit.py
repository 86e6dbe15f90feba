"""deploy/systemd/madoguchi-kiosk.service under a real systemd user manager (tests/packaging/user_systemd.py): the
unit installed as shipped, the packaged kiosk enrolled by its ``enroll`` command, enabled and started; killed with
SIGKILL it comes back (a new main PID, NRestarts >= 1) and connects to the server again; stopped, it exits 0.

Only the test's own drop-in differs from production: the bundle's path in ExecStart (the unit says /opt/...),
Qt's offscreen platform (a PC has a display), and the kiosk's output appended to a file (no journald here)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.packaging.bundles import ROOT, app_env
from tests.packaging.test_packaged_apps import new_enrollment, run
from tests.packaging.user_systemd import UserManager, unavailable
from tests.support import Env, eventually

UNIT = ROOT / "deploy" / "systemd" / "madoguchi-kiosk.service"
WHY_NOT = unavailable()
pytestmark = [pytest.mark.packaging, pytest.mark.timeout(2400),
              pytest.mark.skipif(WHY_NOT is not None, reason=f"no systemd user manager here: {WHY_NOT}")]


async def test_kiosk_unit_starts_comes_back_after_kill_9_and_stops_cleanly(
        packaged: Path, sqlite_env: Env, tmp_path: Path) -> None:
    exe = packaged / "madoguchi-kiosk" / "madoguchi-kiosk"
    mgr = UserManager(tmp_path)
    kid, code = await new_enrollment(sqlite_env)
    enrolled = await run(exe, ["enroll", "--server", sqlite_env.url, "--kiosk-id", str(kid), "--code", code],
                   app_env(mgr.home))
    assert enrolled.returncode == 0, enrolled.stdout + enrolled.stderr

    unit_text = UNIT.read_text("utf-8")
    assert "EnvironmentFile=%h/.config/madoguchi/kiosk.env" in unit_text  # where `enroll` wrote the server URL
    (mgr.unit_dir / UNIT.name).write_text(unit_text, "utf-8")
    kiosk_log, exits = tmp_path / "kiosk.log", tmp_path / "exits.txt"
    dropin = mgr.unit_dir / f"{UNIT.name}.d"
    dropin.mkdir()
    (dropin / "test.conf").write_text(
        f"[Service]\nExecStart=\nExecStart={exe}\nEnvironment=QT_QPA_PLATFORM=offscreen\n"
        f"StandardOutput=append:{kiosk_log}\nStandardError=inherit\n"
        # how each run ended, as systemd saw it: "<result> <exited|killed|dumped> <code or signal>"
        f"ExecStopPost=/bin/sh -c 'echo \"$$SERVICE_RESULT $$EXIT_CODE $$EXIT_STATUS\" >> {exits}'\n", "utf-8")

    hub, peer = sqlite_env.ctx.delivery.hub, f"kiosk:{kid}"
    await mgr.start()
    try:
        await mgr.systemctl("daemon-reload")
        await mgr.systemctl("enable", "madoguchi-kiosk")  # WantedBy=graphical-session.target: starts at login
        assert (mgr.unit_dir / "graphical-session.target.wants" / UNIT.name).is_symlink()
        await mgr.systemctl("start", "madoguchi-kiosk")

        first = await eventually(lambda: hub.connections.get(peer), what="the kiosk under systemd connected")
        state = await mgr.show("madoguchi-kiosk", "MainPID", "NRestarts", "ActiveState")
        pid = int(state["MainPID"])
        assert pid > 0 and state["ActiveState"] == "active" and state["NRestarts"] == "0", state
        assert "screen shown: welcome" in kiosk_log.read_text("utf-8")

        os.kill(pid, signal.SIGKILL)  # a crash: no goodbye to the server, no clean exit

        async def restarted() -> dict[str, str] | None:
            now = await mgr.show("madoguchi-kiosk", "MainPID", "NRestarts", "ActiveState")
            back = now["ActiveState"] == "active" and int(now["MainPID"]) not in (0, pid)
            return now if back and int(now["NRestarts"]) >= 1 else None

        await eventually(restarted, timeout=120.0, step=0.2, what="systemd restarted the kiosk")
        second = await eventually(lambda: (c := hub.connections.get(peer)) is not None and c is not first,
                                  what="the restarted kiosk connected again")
        assert second
        await eventually(lambda: kiosk_log.read_text("utf-8").count("screen shown: welcome") >= 2,
                         what="the restarted kiosk shows the welcome screen")

        await mgr.systemctl("stop", "madoguchi-kiosk")  # SIGTERM: signs off and exits 0
        stopped = await mgr.show("madoguchi-kiosk", "ActiveState", "Result")
        assert (stopped["ActiveState"], stopped["Result"]) == ("inactive", "success"), stopped
        assert exits.read_text("utf-8").splitlines() == ["signal killed KILL", "success exited 0"], (
            exits.read_text("utf-8"), kiosk_log.read_text("utf-8")[-3000:])
        await eventually(lambda: not hub.is_connected(peer), what="the stopped kiosk signed off")
    finally:
        await mgr.stop()
    assert "Traceback" not in kiosk_log.read_text("utf-8")
