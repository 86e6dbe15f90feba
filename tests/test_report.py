"""The introduction-effect report against a small hand-built data set with hand-computed figures.

Data set (report period 2026-10-01 .. 2026-11-30 JST; bihoro 25 km, oketo 45 km one way;
50 km/h and 0.15 kg CO2/km set for this test):

    T1  10-05 bihoro  employment  wait  60  talk  600   fb 5 saved yes
    T2  10-12 bihoro  employment  wait 120  talk  900   fb 4 saved yes   (second kiosk)
    T3  11-02 bihoro  disability  wait 300  talk 1200   fb 3 saved no
    T4  11-03 bihoro  employment  wait  30  talk 200 → transferred → disability after 100 s, talk 400
                                  (one consultation: wait 30, talk 600; fb 5 on the second leg, saved unanswered)
    T5  11-04 bihoro  employment  abandoned      T6  11-05 bihoro employment cancelled
    T7  11-06 bihoro  disability  no specialist
    T8  10-20 oketo   disability  wait 600  talk 1800   fb 4 saved yes
    T9  11-10 oketo   disability  cancelled
    T12 10-01 00:00:00 JST bihoro employment wait 90 talk 300 (first second of the period: in)
    T10 09-30 23:59:59 JST and T11 12-01 00:00:00 JST: outside the period

    waits  [30, 60, 90, 120, 300, 600]   p50 = 90 + .5·30 = 105   p90 = 300 + .5·300 = 450
    talks  [300, 600, 600, 900, 1200, 1800]                        p50 = 600 + .5·300 = 750
    km     bihoro 5 × 2 × 25 = 250, oketo 1 × 2 × 45 = 90  → 340 km, 340/50 = 6.8 h, 340 × .15 = 51.0 kg
    abandonment (1 abandoned + 2 cancelled) / 9 queued (T7 never queued) = 0.3333
    satisfaction (5+4+3+5+4)/5 = 4.2; distribution 0/0/1/2/2; saved a trip yes 3, no 1

Set MADOGUCHI_SCREENSHOTS=docs/screenshots to also write report.png (from seeded history).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from playwright.async_api import async_playwright
from sqlalchemy import func, select
from typer.testing import CliRunner

from server.db.models import Branch, CallSession, Feedback, Kiosk, Municipality, Service, Staff, Ticket
from server.db.session import make_engine, make_sessionmaker
from server.history_seed import seed_history
from server.migrate import upgrade_async
from server.reports import ReportError, build_report
from server.reports.cli import report_command
from server.reports.render import CSV_COLUMNS
from server.settings import Settings, get_settings
from tests.support import Env, make_settings, server_env

JST = timezone(timedelta(hours=9))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
PERIOD = ("2026-10-01", "2026-11-30")


def jst(month: int, day: int, hour: int = 10, minute: int = 0, second: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=JST)


async def build_dataset(env: Env) -> dict[str, int]:
    async with env.ctx.maker() as db, db.begin():
        branch = {b.code: b for b in (await db.execute(select(Branch))).scalars().unique()}
        service = {s.code: s for s in (await db.execute(select(Service))).scalars()}
        staff = {s.username: s for s in (await db.execute(select(Staff))).scalars().unique()}
        branch["bihoro"].distance_km, branch["oketo"].distance_km = 25.0, 45.0
        k1, k2 = Kiosk(branch_id=branch["bihoro"].id, name="k1"), Kiosk(branch_id=branch["bihoro"].id, name="k2")
        k3 = Kiosk(branch_id=branch["oketo"].id, name="k3")
        db.add_all([k1, k2, k3])
        await db.flush()

        def ticket(at: datetime, kiosk: Kiosk, svc: str, state: str = "done") -> Ticket:
            b = branch["bihoro"] if kiosk in (k1, k2) else branch["oketo"]
            t = Ticket(kiosk_id=kiosk.id, branch_id=b.id, municipality_id=b.municipality_id,
                       service_id=service[svc].id, state=state, arrival_at=at, created_at=at, needs=[],
                       declined_by=[], ended_at=at + timedelta(hours=1))
            db.add(t)
            return t

        await db.flush()
        calls: list[tuple[Ticket, str, int, int, str]] = []  # ticket, service, wait or gap, talk, end reason

        def consult(at: datetime, kiosk: Kiosk, svc: str, wait: int, talk: int) -> Ticket:
            t = ticket(at, kiosk, svc)
            calls.append((t, svc, wait, talk, "staff_hangup"))
            return t

        t1 = consult(jst(10, 5), k1, "employment", 60, 600)
        t2 = consult(jst(10, 12), k2, "employment", 120, 900)
        t3 = consult(jst(11, 2, 11), k1, "disability", 300, 1200)
        t4 = ticket(jst(11, 3, 11), k1, "employment")
        ticket(jst(11, 4), k2, "employment", "abandoned")
        ticket(jst(11, 5), k2, "employment", "cancelled")
        ticket(jst(11, 6), k2, "disability", "no_specialist")
        t8 = consult(jst(10, 20, 14), k3, "disability", 600, 1800)
        ticket(jst(11, 10), k3, "disability", "cancelled")
        consult(jst(9, 30, 23, 59, 59), k1, "employment", 10, 100)  # T10: the evening before the period
        consult(jst(12, 1, 0, 0, 0), k1, "employment", 10, 100)  # T11: the first second after it
        consult(jst(10, 1, 0, 0, 0), k1, "employment", 90, 300)  # T12: the first second of the period
        await db.flush()

        def session(t: Ticket, svc: str, accepted: datetime, talk: int, reason: str) -> CallSession:
            s = CallSession(ticket_id=t.id, kiosk_id=t.kiosk_id, staff_id=staff["takahashi"].id,
                            branch_id=t.branch_id, municipality_id=t.municipality_id, service_id=service[svc].id,
                            ticket_created_at=t.arrival_at, offered_at=accepted - timedelta(seconds=5),
                            accepted_at=accepted, media_connected_at=accepted + timedelta(seconds=1),
                            ended_at=accepted + timedelta(seconds=talk), end_reason=reason, quality={},
                            participants=[])
            db.add(s)
            return s

        by_ticket: dict[int, CallSession] = {}
        for t, svc, wait, talk, reason in calls:
            by_ticket[t.id] = session(t, svc, t.arrival_at + timedelta(seconds=wait), talk, reason)
        leg_a = session(t4, "employment", t4.arrival_at + timedelta(seconds=30), 200, "transferred")
        assert leg_a.ended_at is not None
        leg_b = session(t4, "disability", leg_a.ended_at + timedelta(seconds=100), 400, "staff_hangup")
        t4.transfer_count = 1
        await db.flush()
        for sess, kiosk, rating, saved in ((by_ticket[t1.id], k1, 5, True), (by_ticket[t2.id], k2, 4, True),
                                           (by_ticket[t3.id], k1, 3, False), (leg_b, k1, 5, None),
                                           (by_ticket[t8.id], k3, 4, True)):
            db.add(Feedback(session_id=sess.id, kiosk_id=kiosk.id, rating=rating, saved_trip=saved))
    return {"k1": k1.id, "k2": k2.id, "k3": k3.id}


@pytest.fixture
async def report_env(tmp_path: Path, backend: str) -> Any:
    settings = make_settings(tmp_path, backend, report_speed_kmh=50.0, report_co2_kg_per_km=0.15)
    async with server_env(settings) as env:
        await build_dataset(env)
        yield env


def fig(rows: list[dict[str, Any]], key: str, value: str) -> dict[str, Any]:
    return next(r for r in rows if r.get(key) == value)


async def test_figures_match_the_hand_computation(report_env: Env) -> None:
    env = report_env
    data = json.loads(str(await build_report(env.ctx.maker, env.settings, *PERIOD, fmt="json")))
    assert data["assumptions"]["speed_kmh"] == 50.0 and data["assumptions"]["co2_kg_per_km"] == 0.15
    totals = {k: v for k, v in data["totals"].items() if k != "level"}
    assert totals == {
        "consultations": 6, "unique_kiosks": 3, "tickets": 10, "queued_tickets": 9,
        "wait_p50_s": 105.0, "wait_p90_s": 450.0, "talk_p50_s": 750.0,
        "abandoned": 1, "cancelled": 2, "abandonment_rate": 0.3333, "transfers": 1, "no_specialist": 1,
        "feedback_count": 5, "satisfaction_mean": 4.2,
        "satisfaction_distribution": {"1": 0, "2": 0, "3": 1, "4": 2, "5": 2},
        "saved_trip_yes": 3, "saved_trip_no": 1,
        "round_trip_km_saved": 340.0, "hours_saved": 6.8, "co2_kg_avoided": 51.0,
    }
    bihoro = fig(data["by_municipality"], "municipality_code", "bihoro")
    assert (bihoro["consultations"], bihoro["wait_p50_s"], bihoro["wait_p90_s"]) == (5, 90.0, 228.0)
    assert (bihoro["abandonment_rate"], bihoro["satisfaction_mean"]) == (0.2857, 4.25)
    assert (bihoro["round_trip_km_saved"], bihoro["hours_saved"], bihoro["co2_kg_avoided"]) == (250.0, 5.0, 37.5)
    oketo = fig(data["by_municipality"], "municipality_code", "oketo")
    assert (oketo["consultations"], oketo["wait_p50_s"], oketo["wait_p90_s"], oketo["abandonment_rate"]) == (
        1, 600.0, 600.0, 0.5)
    assert (oketo["round_trip_km_saved"], oketo["co2_kg_avoided"]) == (90.0, 13.5)
    kitami = fig(data["by_municipality"], "municipality_code", "kitami")
    assert (kitami["consultations"], kitami["wait_p50_s"], kitami["abandonment_rate"]) == (0, None, None)
    assert [m["municipality_code"] for m in data["by_municipality"]] == [
        "kitami", "bihoro", "tsubetsu", "kunneppu", "oketo"]

    assert fig(data["by_branch"], "branch_code", "bihoro")["one_way_km"] == 25.0
    october, november = fig(data["by_month"], "month", "2026-10"), fig(data["by_month"], "month", "2026-11")
    assert (october["consultations"], october["tickets"], october["round_trip_km_saved"]) == (4, 4, 240.0)
    assert (november["consultations"], november["tickets"], november["abandonment_rate"]) == (2, 6, 0.6)
    employment = fig(data["by_service"], "service_code", "employment")  # T4 counts for what was asked for
    disability = fig(data["by_service"], "service_code", "disability")
    assert (employment["consultations"], employment["tickets"], employment["transfers"]) == (4, 6, 1)
    assert (disability["consultations"], disability["tickets"], disability["no_specialist"]) == (2, 4, 1)
    detail = [(r["month"], r["branch_code"], r["service_code"], r["consultations"]) for r in data["detail"]]
    assert detail == [("2026-10", "bihoro", "employment", 3), ("2026-10", "oketo", "disability", 1),
                      ("2026-11", "bihoro", "disability", 1), ("2026-11", "bihoro", "employment", 1),
                      ("2026-11", "oketo", "disability", 0)]

    only = json.loads(str(await build_report(env.ctx.maker, env.settings, *PERIOD, "oketo", "json")))
    assert only["municipality"] == "oketo" and [m["municipality_code"] for m in only["by_municipality"]] == ["oketo"]
    assert (only["totals"]["consultations"], only["totals"]["tickets"], only["totals"]["round_trip_km_saved"]) == (
        1, 2, 90.0)
    with pytest.raises(ReportError):
        await build_report(env.ctx.maker, env.settings, "2026-11-30", "2026-10-01", fmt="json")
    with pytest.raises(ReportError):
        await build_report(env.ctx.maker, env.settings, *PERIOD, "atlantis", "json")


async def test_csv_is_what_a_spreadsheet_expects(report_env: Env) -> None:
    body = await build_report(report_env.ctx.maker, report_env.settings, *PERIOD, fmt="csv")
    assert isinstance(body, bytes) and body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert rows[0] == [h for h, _ in CSV_COLUMNS]
    assert rows[0][:3] == ["集計単位 (level)", "月 (month)", "市町コード (municipality_code)"]
    assert "相談件数 (consultations)" in rows[0] and "削減往復距離 km (round_trip_km_saved)" in rows[0]
    assert all(len(r) == len(rows[0]) for r in rows)
    total = dict(zip(rows[0], rows[1], strict=True))
    assert total["集計単位 (level)"] == "total"
    assert (total["相談件数 (consultations)"], total["待ち時間 中央値 秒 (wait_p50_s)"],
            total["待ち時間 90% 秒 (wait_p90_s)"]) == ("6", "105.0", "450.0")
    assert (total["削減往復距離 km (round_trip_km_saved)"], total["削減移動時間 h (hours_saved)"],
            total["CO2削減 kg (co2_kg_avoided)"]) == ("340.0", "6.8", "51.0")
    assert (total["想定平均速度 km/h (speed_kmh)"], total["CO2係数 kg/km (co2_kg_per_km)"]) == ("50.0", "0.15")
    levels = [r[0] for r in rows[1:]]
    assert levels == ["total"] + ["municipality"] * 5 + ["branch"] * 5 + ["service"] * 4 + ["month"] * 2 + [
        "detail"] * 5
    assert b"\r\n" in body


async def test_html_renders_in_chromium(report_env: Env, tmp_path: Path) -> None:
    html = await build_report(report_env.ctx.maker, report_env.settings, *PERIOD, fmt="html")
    assert isinstance(html, str) and "<script" not in html and "http://" not in html and "https://" not in html
    path = tmp_path / "report.html"
    path.write_text(html, encoding="utf-8")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            requests: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            await page.goto(path.as_uri())
            text = await page.inner_text("body")
            images = await page.evaluate(
                "[...document.images].map(i => [i.complete, i.naturalWidth, i.src.slice(0, 26)])")
        finally:
            await browser.close()
    assert errors == []
    assert all(not u.startswith("http") for u in requests)  # self-contained: nothing fetched
    assert len(images) == 4 and all(ok and w > 100 and src == "data:image/svg+xml;base64," for ok, w, src in images)
    for expected in ("導入効果レポート", "6件", "340km", "6.8時間", "51.0kg", "4.20", "1:45 / 7:30", "33.3%",
                     "3 / 1", "50.0 km/h", "0.15 kg-CO2/km", "2026-10-01 〜 2026-11-30"):
        assert expected in text.replace("\n", ""), expected
    assert "美幌町" in text and "Oketo Town" in text and "用語の定義" in text


async def test_api_roles_and_formats(report_env: Env) -> None:
    env = report_env
    params = {"from": PERIOD[0], "to": PERIOD[1]}
    async with httpx.AsyncClient(base_url=env.url, timeout=30) as http:
        assert (await http.get("/api/reports/effect", params=params)).status_code == 401
        for user in ("takahashi", "it"):
            token = await env.staff_token(user)
            r = await http.get("/api/reports/effect", params=params, headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 403, user
        for user in ("tanaka", "admin"):
            auth = {"Authorization": f"Bearer {await env.staff_token(user)}"}
            r = await http.get("/api/reports/effect", params={**params, "format": "json"}, headers=auth)
            assert r.status_code == 200 and r.json()["totals"]["consultations"] == 6, user
        csv_r = await http.get("/api/reports/effect", params={**params, "format": "csv", "municipality": "oketo"},
                               headers=auth)
        assert csv_r.status_code == 200 and csv_r.content.startswith(b"\xef\xbb\xbf")
        assert csv_r.headers["content-type"].startswith("text/csv")
        assert 'filename="madoguchi-effect-2026-10-01_2026-11-30-oketo.csv"' in csv_r.headers["content-disposition"]
        html_r = await http.get("/api/reports/effect", params=params, headers=auth)
        assert html_r.status_code == 200 and html_r.headers["content-type"].startswith("text/html")
        assert "導入効果レポート" in html_r.text
        bad = await http.get("/api/reports/effect", params={"from": PERIOD[1], "to": PERIOD[0]}, headers=auth)
        assert bad.status_code == 422
        assert (await http.get("/api/reports/effect", params={**params, "municipality": "atlantis"},
                               headers=auth)).status_code == 404
        assert (await http.get("/api/reports/effect", params={**params, "format": "xlsx"},
                               headers=auth)).status_code == 422


async def _history_db(path: Path, n: int, seed: int, now: datetime) -> tuple[dict[str, int], str, Any]:
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade_async(url)
    engine = make_engine(url)
    maker = make_sessionmaker(engine)
    counts = await seed_history(maker, n, seed=seed, now=now)
    report = json.loads(str(await build_report(maker, Settings(database_url=url), "2026-01-01", "2026-12-31",
                                               fmt="json")))
    report.pop("generated_at")
    return counts, json.dumps(report, sort_keys=True), (engine, maker)


async def test_seed_history_is_realistic_and_deterministic(tmp_path: Path) -> None:
    now = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    counts, report_a, (engine, maker) = await _history_db(tmp_path / "a.db", 400, 7, now)
    _, report_b, (engine_b, _) = await _history_db(tmp_path / "b.db", 400, 7, now)
    await engine_b.dispose()
    try:
        assert report_a == report_b  # same seed and now: the same history
        assert counts["sessions"] == 400 and counts["transfers"] > 0
        assert counts["abandoned"] > 0 and counts["cancelled"] > 0 and counts["no_specialist"] > 0
        totals = json.loads(report_a)["totals"]
        assert 0.6 <= totals["feedback_count"] / totals["consultations"] <= 0.8
        assert totals["consultations"] == 400 - counts["transfers"]
        munis = json.loads(report_a)["by_municipality"]
        assert len(munis) == 5 and all(m["consultations"] > 20 for m in munis)
        async with maker() as db:
            sessions = (await db.execute(select(CallSession))).scalars().unique().all()
            assert len(sessions) == 400
            for s in sessions:
                assert s.ticket_created_at <= s.offered_at <= s.accepted_at <= s.media_connected_at  # type: ignore[operator]
                assert s.media_connected_at <= s.ended_at <= s.wrapup_done_at < now  # type: ignore[operator]
                assert now - s.ticket_created_at < timedelta(days=190)
                local = s.ticket_created_at.astimezone(JST)
                assert local.weekday() < 5 and 9 <= local.hour < 17
                assert set(s.quality) == {"kiosk", "staff"} and s.quality["kiosk"]["samples"] > 0
            assert sum(1 for s in sessions if s.end_reason == "transferred") == counts["transfers"]
            kiosk_branches = set((await db.execute(select(Kiosk.branch_id))).scalars())
            assert kiosk_branches == set((await db.execute(select(Branch.id))).scalars())
            assert (await db.execute(select(func.count()).select_from(Municipality))).scalar_one() == 5
        again = await seed_history(maker, 25, seed=8, now=now)  # on top: adds, never duplicates the demo data
        assert again["sessions"] == 25
        async with maker() as db:
            assert (await db.execute(select(func.count()).select_from(CallSession))).scalar_one() == 425
            assert (await db.execute(select(func.count()).select_from(Municipality))).scalar_one() == 5
    finally:
        await engine.dispose()


def test_cli_report_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "cli.db"

    async def prepare() -> None:
        _, _, (engine, _) = await _history_db(db, 60, 3, datetime(2026, 11, 27, 6, 0, tzinfo=UTC))
        await engine.dispose()

    asyncio.run(prepare())
    monkeypatch.setenv("MADOGUCHI_DATABASE_URL", f"sqlite+aiosqlite:///{db}")
    get_settings.cache_clear()
    try:
        app = typer.Typer()
        app.command()(report_command)
        out = tmp_path / "out" / "r.csv"
        result = CliRunner().invoke(app, ["--from", "2026-05-01", "--to", "2026-11-30", "--format", "csv",
                                          "--municipality", "bihoro", "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert out.read_bytes().startswith("\ufeff集計単位".encode())
        result = CliRunner().invoke(app, ["--from", "2026-05-01", "--to", "2026-11-30", "--format", "json"])
        assert result.exit_code == 0 and json.loads(result.stdout)["totals"]["consultations"] > 0
        result = CliRunner().invoke(app, ["--from", "2026-13-01", "--to", "2026-11-30"])
        assert result.exit_code != 0 and "YYYY-MM-DD" in result.output
    finally:
        get_settings.cache_clear()


@pytest.mark.skipif(not os.environ.get("MADOGUCHI_SCREENSHOTS"), reason="set MADOGUCHI_SCREENSHOTS=dir")
async def test_report_screenshot(tmp_path: Path) -> None:
    """docs/screenshots/report.png: six months of seeded history, the first screenful as printed."""
    now = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    async with server_env(make_settings(tmp_path)) as env:
        await seed_history(env.ctx.maker, 900, seed=1, now=now)
        html = await build_report(env.ctx.maker, env.settings, "2026-06-01", "2026-11-30", fmt="html")
    path = tmp_path / "report.html"
    path.write_text(str(html), encoding="utf-8")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 1600})
            await page.goto(path.as_uri())
            await page.screenshot(path=str(Path(os.environ["MADOGUCHI_SCREENSHOTS"]) / "report.png"))
        finally:
            await browser.close()
