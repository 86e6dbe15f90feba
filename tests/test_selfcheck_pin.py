"""Issue 10: the kiosk self-check PIN is set at enrollment (given by the administrator, or generated and shown
once), stored as an argon2 hash only, handed to the kiosk as that hash, and checked by the kiosk against it;
there is no default PIN (0000 opens nothing)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import select

from kiosk.controller import KioskController
from kiosk.services import credentials
from kiosk.services.server_api import enroll
from kiosk.settings import KioskSettings
from server.db.models import Kiosk
from server.db.seed import DEMO_PASSWORD
from tests.support import WAIT_S, Env

ROOT = Path(__file__).resolve().parents[1]


async def admin_token(env: Env) -> str:
    async with httpx.AsyncClient(base_url=env.url, timeout=WAIT_S) as http:
        r = await http.post("/api/auth/login", json={"username": "admin", "password": DEMO_PASSWORD})
        return str(r.json()["access_token"])


async def new_kiosk(env: Env, **body: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=env.url, timeout=WAIT_S) as http:
        return await http.post("/api/admin/kiosks", json={"branch_code": "oketo", **body},
                               headers={"Authorization": f"Bearer {await admin_token(env)}"})


async def test_pin_set_at_enrollment_is_checked_by_the_kiosk(env: Env, tmp_path: Path) -> None:
    generated = await new_kiosk(env)
    assert generated.status_code == 200
    pin = generated.json()["selfcheck_pin"]
    assert pin.isdigit() and len(pin) == 6
    given = await new_kiosk(env, selfcheck_pin="731904")
    assert given.status_code == 200 and given.json()["selfcheck_pin"] is None  # the admin knows it
    for weak in ("0000", "000000", "123456", "12ab56"):
        assert (await new_kiosk(env, selfcheck_pin=weak)).status_code == 422, weak
    async with env.ctx.maker() as db:
        rows = {k.id: k.selfcheck_pin_hash for k in (await db.execute(select(Kiosk))).scalars()}
    assert all(h and h.startswith("$argon2") for h in rows.values())
    assert pin not in str(rows) and "731904" not in str(rows)

    for body, right in ((generated.json(), pin), (given.json(), "731904")):
        cred = await enroll(env.url, body["kiosk_id"], body["code"])
        assert cred.selfcheck_pin_hash == rows[body["kiosk_id"]]
        settings = KioskSettings(server_url=env.url, credential_file=tmp_path / f"k{cred.kiosk_id}.json")  # type: ignore[arg-type]
        credentials.save(settings.credential_file, cred)
        kept = credentials.load(settings.credential_file)
        assert kept == cred
        ctl = KioskController(settings, kept)
        assert not ctl.unlock_selfcheck("0000") and ctl.screen == "idle"
        assert ctl.unlock_selfcheck(right) and ctl.screen == "selfcheck"


def test_a_kiosk_without_a_pin_hash_never_opens_the_self_check(tmp_path: Path) -> None:
    settings = KioskSettings(server_url="http://127.0.0.1:9", credential_file=tmp_path / "k.json")  # type: ignore[arg-type]
    ctl = KioskController(settings, credentials.KioskCredential(1, "s" * 43, "", ""))
    assert not any(ctl.unlock_selfcheck(p) for p in ("0000", "", "1234"))
    assert "selfcheck_pin" not in KioskSettings.model_fields


def test_cli_enroll_kiosk_shows_a_generated_pin_once(tmp_path: Path) -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MADOGUCHI_")},
           "MADOGUCHI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'pin.db'}", "PYTHONPATH": str(ROOT),
           "MADOGUCHI_SEED_PASSWORD": "a long seed password"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", "from server.cli import main; main()", *args], cwd=tmp_path,
                              capture_output=True, text=True, env=env, timeout=120)

    assert run("db", "seed").returncode == 0
    r = run("admin", "enroll-kiosk", "--branch", "oketo")
    assert r.returncode == 0 and "self-check PIN: " in r.stdout
    given = run("admin", "enroll-kiosk", "--branch", "oketo", "--selfcheck-pin", "904217")
    assert given.returncode == 0 and "self-check PIN" not in given.stdout
    weak = run("admin", "enroll-kiosk", "--branch", "oketo", "--selfcheck-pin", "0000")
    assert weak.returncode != 0 and "6 to 12 digits" in weak.stderr


def test_an_old_kiosk_gets_its_pin_on_the_pc(tmp_path: Path) -> None:
    """A kiosk enrolled before PINs were set at enrollment (no hash: self-check locked) gets one from IT at the
    branch: ``madoguchi-kiosk set-pin`` asks twice, refuses weak PINs and mismatches, keeps only the argon2 hash
    (the credential file stays 0600), and will not silently replace an existing PIN."""
    path = tmp_path / "kiosk.json"
    credentials.save(path, credentials.KioskCredential(7, "s" * 43, "oketo", ""))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MADOGUCHI_")}, "PYTHONPATH": str(ROOT)}

    def set_pin(typed: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kiosk", "set-pin", "--credential-file", str(path), *extra],
                              input=typed, capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)

    weak = set_pin("111111\n111111\n")
    assert weak.returncode == 2 and "repeated digit" in weak.stderr
    mismatch = set_pin("482915\n482916\n")
    assert mismatch.returncode != 0
    assert credentials.load(path).selfcheck_pin_hash == ""  # type: ignore[union-attr]
    done = set_pin("482915\n482915\n")
    assert done.returncode == 0, done.stderr
    assert "482915" not in done.stdout + path.read_text("utf-8") and (path.stat().st_mode & 0o777) == 0o600
    cred = credentials.load(path)
    assert cred is not None and cred.selfcheck_pin_hash.startswith("$argon2") and cred.secret == "s" * 43
    ctl = KioskController(KioskSettings(server_url="http://127.0.0.1:9", credential_file=path), cred)  # type: ignore[arg-type]
    assert ctl.unlock_selfcheck("482915") and ctl.screen == "selfcheck"
    again = set_pin("739201\n739201\n")
    assert again.returncode == 1 and "--replace" in again.stderr
    assert set_pin("739201\n739201\n", "--replace").returncode == 0
    assert credentials.pin_matches(credentials.load(path).selfcheck_pin_hash, "739201")  # type: ignore[union-attr]

