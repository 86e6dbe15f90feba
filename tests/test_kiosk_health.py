"""Kiosk health (issue 13): the kiosk's report, the monitor's health alerts, and their delivery by webhook and
e-mail — with a real server, a real kiosk controller on synthetic media (and a camera that never delivers a
frame), a real webhook receiver (uvicorn) and a real SMTP catcher (aiosmtpd), and the rules' time on injected
clocks (the kiosk's :class:`tests.support.ManualClock`, the server's :class:`server.queue.clock.ManualClock`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from aiosmtpd.controller import Controller
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from kiosk.controller import KioskController
from kiosk.health_reporter import HealthReporter
from kiosk.services.health import printer_state
from kiosk.settings import KioskSettings
from server.monitor.alert_watch import AlertWatch
from server.monitor.health import HealthRules, health_alerts
from server.monitor.snapshot import build_snapshot
from server.queue.clock import ManualClock as ServerClock
from signaling.client import RequestFailed, SignalingClient
from signaling.protocol.messages import KioskHealthReport, client_adapter
from signaling.protocol.models import DeviceHealth
from signaling.protocol.monitor import DeviceStatus, HealthView, KioskRow, Place, Snapshot
from tests.integration.calls import kiosk_controller
from tests.server_process import free_port
from tests.support import Env, ManualClock, eventually, make_settings, server_env

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
PLACE = Place(municipality_ja="美幌町", municipality_en="Bihoro Town", branch_ja="美幌町役場 窓口",
              branch_en="Bihoro Town Hall window")
SECRET = "webhook-test-secret-7d1f"


def _dev(device: str, state: str, detail: str = "") -> DeviceHealth:
    return DeviceHealth(device=device, state=state, detail=detail)  # type: ignore[arg-type]


def _report(*devices: DeviceHealth, version: str = "kiosk/0.1.0", rtt: float | None = 4.0) -> KioskHealthReport:
    return KioskHealthReport(devices=list(devices), rtt_ms=rtt, app_version=version)


ALL_OK = (_dev("camera", "ok", "synthetic 320x240"), _dev("microphone", "ok", "synthetic, -9 dBFS"),
          _dev("document_camera", "not_installed"), _dev("speaker", "ok", "default"),
          _dev("printer", "not_installed"))


def _row(kid: int, state: str = "online", *, reported: datetime | None = None, version: str = "kiosk/0.1.0",
         devices: dict[str, str] | None = None) -> KioskRow:
    health = None
    if reported is not None:
        health = HealthView(reported_at=reported, age_s=0, rtt_ms=3.0, app_version=version, devices=[
            DeviceStatus(device=d, state=s, detail="") for d, s in (devices or {}).items()])
    return KioskRow(id=kid, name=f"k{kid}", place=PLACE, state=state, last_seen_at=None,  # type: ignore[arg-type]
                    offline_s=None, app_version=version, screen="idle", ticket_state=None, health=health)


# ------------------------------------------------------------------ the wire shape
def test_health_message_is_validated() -> None:
    ok = client_adapter.validate_python({"type": "kiosk.health", "id": "h1", "app_version": "kiosk/0.1.0",
                                         "rtt_ms": 2.5, "devices": [d.model_dump() for d in ALL_OK]})
    assert isinstance(ok, KioskHealthReport) and len(ok.devices) == 5
    bad: list[dict[str, Any]] = [
        {"devices": [{"device": "camera", "state": "ok"}] * 2},  # a device twice
        {"devices": [{"device": "scanner", "state": "ok"}]},  # unknown device
        {"devices": [{"device": "camera", "state": "on_fire"}]},  # unknown state
        {"devices": [{"device": "camera", "state": "ok", "detail": "x" * 161}]},  # over-long detail
        {"devices": [{"device": "camera", "state": "ok", "image": "..."}]},  # no extra fields (no content)
        {"devices": [], "rtt_ms": -1},
        {"devices": [], "app_version": ""},
    ]
    for over in bad:
        with pytest.raises(ValidationError):
            client_adapter.validate_python({"type": "kiosk.health", "id": "h2", "app_version": "kiosk/0.1.0",
                                            **over})


# ------------------------------------------------------------------ the rules, on explicit times
def test_health_alert_rules() -> None:
    rules = HealthRules(stale_alert_s=900.0, min_version="0.1.0")
    enrolled = {1: T0, 2: T0, 3: T0, 4: T0, 5: T0}
    now = T0 + timedelta(seconds=600)
    kiosks = [
        _row(1, reported=now, devices={"camera": "no_frames", "microphone": "ok", "speaker": "ok",
                                       "document_camera": "missing", "printer": "paper_out"}),
        _row(2, reported=now, version="kiosk/0.2.0", devices={"camera": "ok", "printer": "jam"}),
        _row(3),  # online, never reported: stale only after health_stale_alert_s from its enrollment
        _row(4, state="offline", reported=now, version="kiosk/0.0.9"),
        _row(5, state="not_enrolled"),
    ]
    got = {a.key: a for a in health_alerts(rules, kiosks, enrolled, now)}
    assert set(got) == {"device:1:camera:no_frames", "device:1:document_camera:missing", "printer:1:paper_out",
                        "printer:2:jam", "version_newest:1", "version_min:4"}
    assert got["device:1:camera:no_frames"].severity == "critical"
    assert got["device:1:document_camera:missing"].severity == "warning"  # an extra device: a warning
    assert (got["version_newest:1"].expected, got["version_newest:1"].severity) == ("kiosk/0.2.0", "warning")
    assert (got["version_min:4"].version, got["version_min:4"].severity) == ("kiosk/0.0.9", "critical")

    # time passes: kiosk 3 (online, silent since enrollment) and kiosk 2 (last report 900 s ago) go stale at
    # the threshold, not before; an offline kiosk never does (it has its own alert)
    at_limit = T0 + timedelta(seconds=900)
    assert "health_stale:3" not in {a.key for a in health_alerts(rules, kiosks, enrolled, at_limit)}
    later = now + timedelta(seconds=900.1)
    stale = {a.key: a for a in health_alerts(rules, kiosks, enrolled, later) if a.kind == "health_stale"}
    assert set(stale) == {"health_stale:1", "health_stale:2", "health_stale:3"}
    assert stale["health_stale:3"].value == pytest.approx(1500.1)

    # the conditions end: every alert of kiosk 1 clears
    kiosks[0] = _row(1, reported=later, version="kiosk/0.2.0", devices={"camera": "ok", "printer": "ok"})
    assert not [a for a in health_alerts(rules, kiosks, enrolled, later) if a.kiosk_id == 1]


@pytest.mark.parametrize(("code", "output", "state"), [
    (0, "printer slip is idle.  enabled since Fri Dec  4 09:00:00 2026\n\tAlerts: none\n", "ok"),
    (0, "printer slip is idle.  enabled since Fri Dec  4 09:00:00 2026\n\tAlerts: media-empty-error\n",
     "paper_out"),
    (0, "printer slip is idle.  enabled since Fri Dec  4 09:00:00 2026\n\tAlerts: media-needed media-jam-error\n",
     "jam"),
    (0, "printer slip disabled since Fri Dec  4 09:00:00 2026 -\n\tPaused\n\tAlerts: none\n", "offline"),
    (0, "printer slip now printing slip-12.\n\tAlerts: offline-report\n", "offline"),
    (0, "printer slip is idle.\n\tAlerts: toner-empty-error\n", "error"),
    (1, "lpstat: Invalid destination name in list \"slip\".\n", "missing"),
])
def test_printer_state_from_lpstat(code: int, output: str, state: str) -> None:
    assert printer_state("slip", code, output).state == state


async def test_a_due_report_is_claimed_once() -> None:
    """Bug found in a loaded CI run: the controller's tick and another caller in the same loop iteration both
    saw the report due (it marked itself running only once it had started) and two reports went out."""
    clock = ManualClock()
    reporter = HealthReporter(KioskSettings(), SignalingClient("ws://127.0.0.1:9/ws", lambda: "x"), clock,
                              speaker=lambda: None, in_call=lambda: False)
    assert not reporter.claim(False)                  # offline: never
    assert reporter.claim(True) and not reporter.claim(True)
    reporter.running, reporter.next_at = False, clock() + 300.0  # (what a sent report leaves)
    assert not reporter.claim(True)
    clock.advance(300.0)
    assert reporter.claim(True) and not reporter.claim(True)


# ------------------------------------------------------------------ a real server and a real kiosk
def _manual_server_clock(env: Env) -> ServerClock:
    clock = ServerClock(datetime.now(UTC))
    env.ctx.clock = clock  # type: ignore[misc]
    env.ctx.engine.clock = clock
    return clock


async def _snapshot(env: Env) -> Snapshot:
    return await build_snapshot(env.ctx)


async def test_kiosk_reports_health_and_the_monitor_alerts(tmp_path: Path, backend: str) -> None:
    """A kiosk whose camera opens but never sends a frame: its report at start says so, the monitor shows it
    and raises the device alert; the camera fixed, the next report (one interval later on the kiosk's clock)
    clears it. A kiosk that stops reporting goes stale on the server's clock. A newer kiosk elsewhere puts
    this one behind."""
    settings = make_settings(tmp_path, backend, health_stale_alert_s=900.0)
    async with server_env(settings) as env:
        server_clock = _manual_server_clock(env)
        kclock = ManualClock()
        kiosk: KioskController = await kiosk_controller(
            env, tmp_path, "bihoro", clock=kclock, media_source="synthetic-stalled", health_probe_timeout_s=0.5,
            health_interval_s=300.0)
        try:
            kid = kiosk.credential.kiosk_id
            await eventually(lambda: kiosk.health.sent == 1, what="the report at start")
            snap = await _snapshot(env)
            row = next(k for k in snap.kiosks if k.id == kid)
            assert row.health is not None and row.health.app_version.startswith("kiosk/")
            states = {d.device: d.state for d in row.health.devices}
            assert states == {"camera": "no_frames", "microphone": "ok", "document_camera": "not_installed",
                              "speaker": "not_installed", "printer": "not_installed"}
            assert row.health.rtt_ms is not None and row.health.rtt_ms >= 0
            alert = next(a for a in snap.alerts if a.kiosk_id == kid)
            assert (alert.key, alert.kind, alert.severity) == (f"device:{kid}:camera:no_frames", "device", "critical")

            # not due before the interval on the kiosk's clock, due after it
            kclock.advance(299.0)
            assert not kiosk.health.due(True)
            kiosk.check_health()
            assert kiosk.health.sent == 1 and not kiosk.health.running
            kiosk.settings.media_source = "synthetic"  # the camera is plugged back in
            kclock.advance(1.0)
            kiosk.check_health()
            kiosk.check_health()  # (as the controller's tick may, in the same loop iteration): one report only
            await eventually(lambda: kiosk.health.sent == 2, what="the report one interval later")
            snap = await _snapshot(env)
            assert not [a for a in snap.alerts if a.kiosk_id == kid]
            assert {d.device: d.state for d in next(k for k in snap.kiosks if k.id == kid).health.devices  # type: ignore[union-attr]
                    }["camera"] == "ok"

            # silence: stale at the threshold on the server's clock, cleared by the next report
            server_clock.advance(900.5)
            snap = await _snapshot(env)
            stale = [a for a in snap.alerts if a.key == f"health_stale:{kid}"]
            assert stale and stale[0].value == pytest.approx(900.5, abs=1.0)
            kclock.advance(300.0)
            kiosk.check_health()
            await eventually(lambda: kiosk.health.sent == 3, what="the next report")
            assert not [a for a in (await _snapshot(env)).alerts if a.kiosk_id == kid]

            # a kiosk elsewhere reports a newer version: this one is behind the newest seen
            other, _ = await env.kiosk_client("oketo")
            await other.request(_report(*ALL_OK, version="kiosk/0.2.0"))
            behind = [a for a in (await _snapshot(env)).alerts if a.kiosk_id == kid]
            assert [(a.kind, a.expected) for a in behind] == [("version_behind", "kiosk/0.2.0")]

            # the server refuses a malformed report (and keeps the last good one), and a staff client's
            with pytest.raises(RequestFailed) as bad:
                await other.request(KioskHealthReport.model_construct(  # sent unvalidated: the server checks
                    devices=[ALL_OK[0], ALL_OK[0]], rtt_ms=None, app_version="kiosk/0.1.0"))
            assert bad.value.code == "invalid_message"
            staff, _ = await env.staff_client("it")
            with pytest.raises(RequestFailed) as forbidden:
                await staff.request(_report(*ALL_OK))
            assert forbidden.value.code in ("forbidden", "role_forbidden")
        finally:
            await kiosk.stop()


# ------------------------------------------------------------------ delivery: webhook and e-mail
class Receiver:
    """A real webhook endpoint (uvicorn): records every POST; answers 503 to the first ``fail_first``."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.posts: list[tuple[dict[str, str], bytes, int]] = []
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> JSONResponse:
        body = await request.body()
        status = 503 if len(self.posts) < self.fail_first else 200
        self.posts.append((dict(request.headers), body, status))
        return JSONResponse({"ok": status == 200}, status_code=status)

    def accepted(self, key: str) -> list[dict[str, Any]]:
        return [json.loads(b) for _, b, status in self.posts if status == 200 and json.loads(b)["alert"]["key"] == key]


@asynccontextmanager
async def webhook_receiver(receiver: Receiver) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(receiver.app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started, what="webhook receiver up")
    try:
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        server.should_exit = True
        await task


class MailCatcher:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def about(self, key: str) -> list[Message]:
        return [m for m in self.messages if str(m["X-Madoguchi-Alert"]).endswith(f" {key}")]


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_alerts_go_out_by_webhook_and_email_once_per_raise_and_clear(tmp_path: Path) -> None:
    receiver = Receiver(fail_first=2)  # the first delivery fails twice: retried with backoff, logged once
    catcher = MailCatcher()
    smtp_port = free_port()
    smtp = Controller(catcher, hostname="127.0.0.1", port=smtp_port)
    await asyncio.to_thread(smtp.start)
    log = Captured()
    logging.getLogger("madoguchi.alerts").addHandler(log)
    try:
        async with webhook_receiver(receiver) as url:
            settings = make_settings(
                tmp_path, alert_webhook_url=url, alert_webhook_secret=SECRET, alert_smtp_host="127.0.0.1",
                alert_smtp_port=smtp_port, alert_smtp_starttls=False, alert_mail_from="madoguchi@example.jp",
                alert_mail_to=["it@example.jp"], alert_check_s=0.05, alert_retry_base_s=0.05,
                alert_retry_max_s=0.2)
            async with server_env(settings) as env:
                watch: AlertWatch = env.app.state.alert_watch
                kiosk, _ = await env.kiosk_client("bihoro")
                kid = kiosk.welcome.principal_id  # type: ignore[union-attr]
                key = f"printer:{kid}:paper_out"
                paper_out = _report(*ALL_OK[:4], _dev("printer", "paper_out", "slip: media-empty"))
                for _ in range(3):  # reported again and again: still one raise
                    await kiosk.request(paper_out)
                await eventually(lambda: receiver.accepted(key) and catcher.about(key), what="raise delivered")
                for _ in range(3):  # more evaluations of the same state: nothing new
                    assert not [e for e in await watch.evaluate() if e.alert.key == key]

                await kiosk.request(_report(*ALL_OK))  # paper loaded
                await eventually(lambda: len(receiver.accepted(key)) == 2 and len(catcher.about(key)) == 2,
                                 what="clear delivered")
                for _ in range(3):
                    assert not [e for e in await watch.evaluate() if e.alert.key == key]
                await eventually(lambda: all(o.queue.empty() for o in watch.outlets), what="outlets idle")

                # webhook: one raise, one clear, each signed over timestamp and body
                hooks = receiver.accepted(key)
                assert [h["event"] for h in hooks] == ["raised", "cleared"]
                assert hooks[0]["alert"]["kind"] == "printer" and hooks[0]["alert"]["state"] == "paper_out"
                for headers, body, _status in receiver.posts:
                    expected = "sha256=" + hmac.new(SECRET.encode(), headers["x-madoguchi-timestamp"].encode()
                                                    + b"." + body, hashlib.sha256).hexdigest()
                    assert hmac.compare_digest(headers["x-madoguchi-signature"], expected)
                    assert headers["x-madoguchi-event"] == json.loads(body)["event"]
                # the two failed attempts were the same event as the delivered one (same delivery id)
                first = receiver.posts[:3]
                assert [s for _, _, s in first] == [503, 503, 200]
                assert len({h["x-madoguchi-delivery"] for h, _, _ in first}) == 1
                failures = [r for r in log.records if r.levelno == logging.WARNING and "failed" in r.getMessage()]
                assert len(failures) == 1, [r.getMessage() for r in failures]

                # e-mail: one per raise and clear, Japanese subject, both languages in the body
                mails = catcher.about(key)
                subjects = [str(make_header(decode_header(str(m["Subject"])))) for m in mails]
                assert subjects[0].startswith("[窓口] 警報: プリンターの異常")
                assert subjects[1].startswith("[窓口] 解除: プリンターの異常")
                body = mails[0].get_payload(decode=True).decode()  # type: ignore[union-attr]
                assert "プリンター: 用紙切れ" in body and "Printer: out of paper" in body
                assert mails[0]["To"] == "it@example.jp"
    finally:
        logging.getLogger("madoguchi.alerts").removeHandler(log)
        await asyncio.to_thread(smtp.stop)


# ------------------------------------------------------------------ the page, in real headless Chromium
async def test_monitor_page_shows_kiosk_health_and_alerts(tmp_path: Path) -> None:
    """Set MADOGUCHI_SCREENSHOTS=docs/screenshots to also write monitor_health_ja.png and monitor_health_en.png."""
    from playwright.async_api import expect

    from tests.test_monitor import chromium, kiosk_row, login, watch

    shots = os.environ.get("MADOGUCHI_SCREENSHOTS")
    async with server_env(make_settings(tmp_path)) as env, chromium() as browser:
        page = await browser.new_page(viewport={"width": 1920, "height": 1080})
        errors, _, _ = watch(page)
        await login(page, env)
        kclock = ManualClock()
        kiosk = await kiosk_controller(env, tmp_path, "bihoro", clock=kclock, media_source="synthetic-stalled",
                                       health_probe_timeout_s=0.5)
        try:
            kid = kiosk.credential.kiosk_id
            other, _ = await env.kiosk_client("oketo")
            oid = other.welcome.principal_id  # type: ignore[union-attr]
            await other.request(_report(*ALL_OK[:4], _dev("printer", "paper_out", "slip: media-empty")))

            row = kiosk_row(page, kid)
            await expect(row.locator('td.health .dev[data-device="camera"]')).to_have_text("カメラ: 映像が来ない")
            await expect(row.locator('td.health .dev[data-device="microphone"]')).to_have_text("マイク ✓")
            await expect(row.locator("td.health")).to_contain_text("RTT")
            await expect(kiosk_row(page, oid).locator('td.health .dev[data-device="printer"]')).to_have_text(
                "プリンター: 用紙切れ")
            cam = page.locator(f'li.alert[data-key="device:{kid}:camera:no_frames"]')
            await expect(cam).to_contain_text("機器の異常")
            await expect(cam).to_contain_text("カメラ: 映像が来ない")
            printer = page.locator(f'li.alert[data-key="printer:{oid}:paper_out"]')
            await expect(printer).to_contain_text("プリンターの異常")
            if shots:
                await page.screenshot(path=str(Path(shots) / "monitor_health_ja.png"))
            await page.click("#board .lang-toggle")
            await expect(cam).to_contain_text("Device fault")
            await expect(cam).to_contain_text("Camera: no frames")
            await expect(printer).to_contain_text("Printer: out of paper")
            if shots:
                await page.screenshot(path=str(Path(shots) / "monitor_health_en.png"))
            await page.click("#board .lang-toggle")

            # fixed: the next report clears the alert on the page
            kiosk.settings.media_source = "synthetic"
            kclock.advance(kiosk.settings.health_interval_s)
            kiosk.check_health()
            await expect(cam).to_have_count(0)
            await expect(row.locator('td.health .dev[data-device="camera"]')).to_have_text("カメラ ✓")
            assert errors == []
        finally:
            await kiosk.stop()


async def test_two_nodes_send_each_alert_once(tmp_path: Path, backend: str) -> None:
    """Both nodes of a region (PostgreSQL + Redis) have the webhook configured: only the holder of the cluster
    lease sends, so the receiver gets one raise and one clear."""
    if backend != "pg":
        pytest.skip("several nodes share PostgreSQL (SQLite is the one-node embedded default)")
    from tests.test_two_nodes import two_nodes

    receiver = Receiver()
    async with webhook_receiver(receiver) as url, two_nodes(
            tmp_path, alert_webhook_url=url, alert_webhook_secret=SECRET, alert_check_s=0.05) as (a, b):
        watches: list[AlertWatch] = [a.app.state.alert_watch, b.app.state.alert_watch]
        kiosk, _ = await a.kiosk_client("bihoro")
        kid = kiosk.welcome.principal_id  # type: ignore[union-attr]
        key = f"printer:{kid}:jam"
        await kiosk.request(_report(*ALL_OK[:4], _dev("printer", "jam", "slip: media-jam")))
        await eventually(lambda: receiver.accepted(key), what="raise delivered")
        await kiosk.request(_report(*ALL_OK))
        await eventually(lambda: len(receiver.accepted(key)) == 2, what="clear delivered")
        await eventually(lambda: all(o.queue.empty() for w in watches for o in w.outlets), what="outlets idle")
        assert [h["event"] for h in receiver.accepted(key)] == ["raised", "cleared"]
        assert sorted(w.leading for w in watches) == [False, True]
