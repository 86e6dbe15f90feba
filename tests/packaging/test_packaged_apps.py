"""The packaged kiosk and console (PyInstaller, scripts/package.py) run as IT runs them, against a real server on
a real SQLite file: the kiosk is enrolled by its ``enroll`` command, starts offscreen, shows the welcome screen,
connects, and exits 0 on SIGTERM (what systemd sends); the console shows its sign-in screen and exits 0 the same
way. Select with ``-m packaging``."""

from __future__ import annotations

import asyncio
import json
import signal
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest

from kiosk.services import credentials
from kiosk.speech.texts import SPOKEN
from server.admin_ops import create_enrollment
from server.db.seed import DEMO_PASSWORD
from tests.packaging.bundles import app_env, read_env_file, start
from tests.support import WAIT_S, Env, eventually

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(2400)]


async def new_enrollment(env: Env, branch: str = "bihoro") -> tuple[int, str]:
    async with env.ctx.maker() as db, db.begin():
        return await create_enrollment(db, branch, "", "test")


async def run(exe: Path, args: list[str], env: dict[str, str]) -> Finished:
    """Run a packaged command to its end (the test's server keeps serving meanwhile: same loop)."""
    proc = await asyncio.create_subprocess_exec(str(exe), *args, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), max(WAIT_S, 120.0))
    assert proc.returncode is not None
    return Finished(proc.returncode, out.decode("utf-8", errors="replace"), err.decode("utf-8", errors="replace"))


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str


async def test_packaged_kiosk_enrolls_shows_welcome_connects_and_quits_cleanly(
        packaged: Path, sqlite_env: Env, tmp_path: Path) -> None:
    exe = packaged / "madoguchi-kiosk" / "madoguchi-kiosk"
    home = tmp_path / "home"
    env = app_env(home)
    kid, code = await new_enrollment(sqlite_env)

    wrong = await run(exe, ["enroll", "--server", sqlite_env.url, "--kiosk-id", str(kid), "--code", "00000000"], env)
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
    cred_file, env_file = home / ".config/madoguchi/kiosk.json", home / ".config/madoguchi/kiosk.env"
    assert not cred_file.exists() and not env_file.exists()  # nothing kept from a refused code

    done = await run(exe, ["enroll", "--server", sqlite_env.url, "--kiosk-id", str(kid), "--code", code], env)
    assert done.returncode == 0, done.stdout + done.stderr
    cred = credentials.load(cred_file)
    assert cred is not None and cred.kiosk_id == kid and cred.secret and cred.selfcheck_pin_hash
    assert stat.S_IMODE(cred_file.stat().st_mode) == 0o600 and stat.S_IMODE(env_file.stat().st_mode) == 0o600
    settings = read_env_file(env_file)
    assert settings["MADOGUCHI_KIOSK_SERVER_URL"] == sqlite_env.url
    again = await run(exe, ["enroll", "--server", sqlite_env.url, "--kiosk-id", str(kid), "--code", code], env)
    assert again.returncode == 1 and "--replace" in again.stderr  # a second enrollment never orphans the first

    # the spoken guidance ships with it: the Japanese voice and every catalog phrase, rendered at build time
    internal = packaged / "madoguchi-kiosk" / "_internal" / "kiosk" / "speech"
    assert (internal / "voices" / "mei_normal.htsvoice").is_file()
    assert len(list((internal / "prerendered").glob("*.wav"))) >= 2 * len(SPOKEN)  # ja and en

    hub = sqlite_env.ctx.delivery.hub
    kiosk = start(exe, ["--windowed"], {**env, **settings}, tmp_path / "kiosk.log")
    try:
        await kiosk.shows("welcome")
        assert "voice guidance on; speaks en (espeak-ng" in kiosk.output() and "ja (open_jtalk" in kiosk.output()
        await eventually(lambda: hub.is_connected(f"kiosk:{kid}"), what="the packaged kiosk connected")
        kiosk.proc.send_signal(signal.SIGTERM)
        assert await kiosk.exit_code() == 0, kiosk.output()[-3000:]
    finally:
        kiosk.kill()
    await eventually(lambda: not hub.is_connected(f"kiosk:{kid}"), what="the kiosk signed off")
    assert "Traceback" not in kiosk.output(), kiosk.output()


async def test_packaged_console_shows_sign_in_signs_in_and_quits_cleanly(packaged: Path, sqlite_env: Env,
                                                                         tmp_path: Path) -> None:
    """Signed in at once (``--user`` and the password in MADOGUCHI_CONSOLE_PASSWORD, as ``make demo`` does): the
    sign-in screen shows first, then the console window, connected as the specialist."""
    exe = packaged / "madoguchi-console" / "madoguchi-console"
    env = app_env(tmp_path / "home", MADOGUCHI_CONSOLE_SERVER_URL=sqlite_env.url,
                  MADOGUCHI_CONSOLE_PASSWORD=DEMO_PASSWORD)
    staff_id = await staff_id_of(sqlite_env, "takahashi")
    hub = sqlite_env.ctx.delivery.hub
    console = start(exe, ["--user", "takahashi"], env, tmp_path / "console.log")
    try:
        await console.shows("login")
        await console.shows("console")
        await eventually(lambda: hub.is_connected(f"staff:{staff_id}"), what="the packaged console connected")
        console.proc.send_signal(signal.SIGTERM)
        assert await console.exit_code() == 0, console.output()[-3000:]
    finally:
        console.kill()
    await eventually(lambda: not hub.is_connected(f"staff:{staff_id}"), what="the console signed off")
    assert "Traceback" not in console.output(), console.output()


async def staff_id_of(env: Env, username: str) -> int:
    from sqlalchemy import select

    from server.db.models import Staff

    async with env.ctx.maker() as db:
        return int((await db.execute(select(Staff.id).where(Staff.username == username))).scalar_one())


async def test_packaged_kiosk_and_console_talk_with_real_media(packaged: Path, sqlite_env: Env,
                                                              tmp_path: Path) -> None:
    """Both bundles headless, each in its own process: the console serves one resident, the kiosk (enrolled on
    first start with --kiosk-id/--enroll-code) asks for the service and talks for 3 s. Video (VP8) and audio (Opus)
    frames arrive at both ends: aiortc, PyAV and their native libraries work inside the bundles."""
    kid, code = await new_enrollment(sqlite_env)
    staff_id = await staff_id_of(sqlite_env, "takahashi")
    hub = sqlite_env.ctx.delivery.hub
    console_env = app_env(tmp_path / "console-home", MADOGUCHI_CONSOLE_SERVER_URL=sqlite_env.url,
                          MADOGUCHI_CONSOLE_PASSWORD=DEMO_PASSWORD)
    console = asyncio.ensure_future(run(packaged / "madoguchi-console" / "madoguchi-console",
                                        ["--headless", "--user", "takahashi", "--calls", "1"], console_env))
    await eventually(lambda: console.done() or hub.is_connected(f"staff:{staff_id}"), what="the console connected")
    kiosk_env = app_env(tmp_path / "kiosk-home", MADOGUCHI_KIOSK_SERVER_URL=sqlite_env.url)
    kiosk = await run(packaged / "madoguchi-kiosk" / "madoguchi-kiosk",
                      ["--headless", "--kiosk-id", str(kid), "--enroll-code", code, "--service", "employment",
                       "--call-seconds", "3"], kiosk_env)
    served = await console
    assert kiosk.returncode == 0, kiosk.stdout + kiosk.stderr[-3000:]
    assert served.returncode == 0, served.stdout + served.stderr[-3000:]
    visit = json.loads(kiosk.stdout.strip().splitlines()[-1])["kiosk"]
    (call,) = json.loads(served.stdout.strip().splitlines()[-1])["console"]
    assert call["session_id"] == visit["session_id"] and visit["end_reason"] == call["end_reason"]
    assert visit["frames_received"]["video"] > 0 and visit["frames_received"]["audio"] > 0, visit
    assert call["frames_received"]["video"] > 0 and call["frames_received"]["audio"] > 0, call
