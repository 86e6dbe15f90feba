"""The introduction-effect report against a small hand-built data set with hand-computed figures.

Data set (report period 2026-10-01 .. 2026-11-30 JST; bihoro 25 km, tsubetsu 32 km, oketo 45 km one way;
50 km/h and 0.15 kg CO2/km set for this test). "wrap" is the wrap-up after the call (ended → wrap-up done):

    T1  10-05 bihoro   employment   wait  60  talk  600 wrap 120   fb 5 saved yes
    T2  10-12 bihoro   employment   wait 120  talk  900 wrap 180   fb 4 saved yes   (second kiosk)
    T3  11-02 bihoro   disability   wait 300  talk 1200 wrap 300   fb 3 saved no
    T4  11-03 bihoro   employment   wait  30  talk 200 wrap 40 → transferred → disability after 100 s,
                                    talk 400 wrap 80 (one consultation: wait 30, talk 600;
                                    fb 5 on the second leg, saved unanswered)
    T5  11-04 bihoro   employment   abandoned      T6  11-05 bihoro employment cancelled
    T7  11-06 bihoro   disability   no specialist
    T8  10-20 oketo    disability   wait 600  talk 1800 wrap 600   fb 4 saved yes
    T9  11-10 oketo    disability   cancelled
    T12 10-01 00:00:00 JST bihoro employment wait 90 talk 300 wrap 60, no feedback (first second of the period)
    T13 11-12 tsubetsu guardianship wait 240  talk 1500 wrap 300   fb 2 saved yes   (fourth kiosk)
    T14 11-13 tsubetsu disability   wait 150  talk  450, wrap-up not finished, no feedback
    T10 09-30 23:59:59 JST and T11 12-01 00:00:00 JST: outside the period

    consultations 8, tickets 12, queued 11 (T7 never queued), kiosks 4
    waits  [30, 60, 90, 120, 150, 240, 300, 600]   p50 = 120 + .5·30 = 135   p90 = 300 + .3·300 = 390
    talks  [300, 450, 600, 600, 900, 1200, 1500, 1800]                         p50 = 600 + .5·300 = 750
    abandonment (1 abandoned + 2 cancelled) / 11 = 0.2727
    satisfaction (5+4+3+5+4+2)/6 = 3.83; distribution 0/1/1/2/2

    saved a trip, per consultation: yes T1 T2 T8 T13 = 4, no T3 = 1, unanswered T4 T12 T14 = 3
    km (yes only)  bihoro 2 × 2 × 25 = 100, oketo 2 × 45 = 90, tsubetsu 2 × 32 = 64  → 254 km,
                   254/50 = 5.08 h, 254 × .15 = 38.1 kg   (T3's "no" would have added 50 km: not counted)
    unanswered     T4 50 + T12 50 + T14 64 = 164 km; observed yes rate 4 / (4 + 1) = 0.8
    estimate 推計   164 × .8 = 131.2 km, 2.624 h, 19.68 kg   (never in the headline)
                   bihoro 100 × .8 = 80 km, tsubetsu 64 × .8 = 51.2 km, oketo 0

    specialist minutes (talk + wrap-up, by the resident's municipality and the service of each call):
      bihoro   employment T1 T2 T4a T12: talk 2000 s = 33.3, wrap 400 s = 6.7, 40.0 min, 4 calls
               disability T3 T4b:        talk 1600 s = 26.7, wrap 380 s = 6.3, 33.0 min, 2 calls
               → 73.0 min, 6 calls
      oketo    disability T8: 30.0 + 10.0 = 40.0 min
      tsubetsu guardianship T13: 25.0 + 5.0 = 30.0; disability T14: 7.5 + 0 (wrap-up not finished) = 7.5
               → 37.5 min
      total 150.5 min (talk 122.5, wrap-up 28.0), 9 calls; shares 73/150.5 = 48.50 %, 40/150.5 = 26.58 %,
      37.5/150.5 = 24.92 %; kitami and kunneppu 0 %

Set MADOGUCHI_SCREENSHOTS=docs/screenshots to also write report.png and report_pdf_p1.png (from seeded
history).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from PIL import Image
from playwright.async_api import async_playwright
from sqlalchemy import func, select
from typer.testing import CliRunner

from server.db.models import Branch, CallSession, Feedback, Kiosk, Municipality, Service, Staff, Ticket
from server.db.session import make_engine, make_sessionmaker
from server.history_seed import seed_history
from server.migrate import upgrade_async
from server.reports import ReportError, ReportUnavailable, build_report
from server.reports.cli import report_command
from server.reports.data import BranchInfo, MunicipalityInfo, ServiceInfo, TicketFact
from server.reports.render import CSV_COLUMNS
from server.settings import Settings, get_settings
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support import Env, make_settings, server_env

JST = timezone(timedelta(hours=9))
PERIOD = ("2026-10-01", "2026-11-30")


def jst(month: int, day: int, hour: int = 10, minute: int = 0, second: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=JST)


async def build_dataset(env: Env) -> dict[str, int]:
    async with env.ctx.maker() as db, db.begin():
        branch = {b.code: b for b in (await db.execute(select(Branch))).scalars().unique()}
        service = {s.code: s for s in (await db.execute(select(Service))).scalars()}
        staff = {s.username: s for s in (await db.execute(select(Staff))).scalars().unique()}
        branch["bihoro"].distance_km, branch["oketo"].distance_km = 25.0, 45.0
        branch["tsubetsu"].distance_km = 32.0
        k1, k2 = Kiosk(branch_id=branch["bihoro"].id, name="k1"), Kiosk(branch_id=branch["bihoro"].id, name="k2")
        k3 = Kiosk(branch_id=branch["oketo"].id, name="k3")
        k4 = Kiosk(branch_id=branch["tsubetsu"].id, name="k4")
        db.add_all([k1, k2, k3, k4])
        await db.flush()
        at_branch = {k1.id: "bihoro", k2.id: "bihoro", k3.id: "oketo", k4.id: "tsubetsu"}

        def ticket(at: datetime, kiosk: Kiosk, svc: str, state: str = "done") -> Ticket:
            b = branch[at_branch[kiosk.id]]
            t = Ticket(kiosk_id=kiosk.id, branch_id=b.id, municipality_id=b.municipality_id,
                       service_id=service[svc].id, state=state, arrival_at=at, created_at=at, needs=[],
                       declined_by=[], ended_at=at + timedelta(hours=1))
            db.add(t)
            return t

        await db.flush()
        calls: list[tuple[Ticket, str, int, int, int | None]] = []  # ticket, service, wait, talk, wrap-up

        def consult(at: datetime, kiosk: Kiosk, svc: str, wait: int, talk: int, wrap: int | None = 0) -> Ticket:
            t = ticket(at, kiosk, svc)
            calls.append((t, svc, wait, talk, wrap))
            return t

        t1 = consult(jst(10, 5), k1, "employment", 60, 600, 120)
        t2 = consult(jst(10, 12), k2, "employment", 120, 900, 180)
        t3 = consult(jst(11, 2, 11), k1, "disability", 300, 1200, 300)
        t4 = ticket(jst(11, 3, 11), k1, "employment")
        ticket(jst(11, 4), k2, "employment", "abandoned")
        ticket(jst(11, 5), k2, "employment", "cancelled")
        ticket(jst(11, 6), k2, "disability", "no_specialist")
        t8 = consult(jst(10, 20, 14), k3, "disability", 600, 1800, 600)
        ticket(jst(11, 10), k3, "disability", "cancelled")
        consult(jst(9, 30, 23, 59, 59), k1, "employment", 10, 100)  # T10: the evening before the period
        consult(jst(12, 1, 0, 0, 0), k1, "employment", 10, 100)  # T11: the first second after it
        consult(jst(10, 1, 0, 0, 0), k1, "employment", 90, 300, 60)  # T12: the first second of the period
        t13 = consult(jst(11, 12, 13), k4, "guardianship", 240, 1500, 300)
        consult(jst(11, 13, 15), k4, "disability", 150, 450, None)  # T14: wrap-up not finished
        await db.flush()

        def session(t: Ticket, svc: str, accepted: datetime, talk: int, reason: str, wrap: int | None
                    ) -> CallSession:
            ended = accepted + timedelta(seconds=talk)
            s = CallSession(ticket_id=t.id, kiosk_id=t.kiosk_id, staff_id=staff["takahashi"].id,
                            branch_id=t.branch_id, municipality_id=t.municipality_id, service_id=service[svc].id,
                            ticket_created_at=t.arrival_at, offered_at=accepted - timedelta(seconds=5),
                            accepted_at=accepted, media_connected_at=accepted + timedelta(seconds=1),
                            ended_at=ended, end_reason=reason, quality={}, participants=[],
                            wrapup_done_at=None if wrap is None else ended + timedelta(seconds=wrap))
            db.add(s)
            return s

        by_ticket: dict[int, CallSession] = {}
        for t, svc, wait, talk, wrap in calls:
            by_ticket[t.id] = session(t, svc, t.arrival_at + timedelta(seconds=wait), talk, "staff_hangup", wrap)
        leg_a = session(t4, "employment", t4.arrival_at + timedelta(seconds=30), 200, "transferred", 40)
        assert leg_a.ended_at is not None
        leg_b = session(t4, "disability", leg_a.ended_at + timedelta(seconds=100), 400, "staff_hangup", 80)
        t4.transfer_count = 1
        await db.flush()
        for sess, kiosk, rating, saved in ((by_ticket[t1.id], k1, 5, True), (by_ticket[t2.id], k2, 4, True),
                                           (by_ticket[t3.id], k1, 3, False), (leg_b, k1, 5, None),
                                           (by_ticket[t8.id], k3, 4, True), (by_ticket[t13.id], k4, 2, True)):
            db.add(Feedback(session_id=sess.id, kiosk_id=kiosk.id, rating=rating, saved_trip=saved))
    return {"k1": k1.id, "k2": k2.id, "k3": k3.id, "k4": k4.id}


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
        "consultations": 8, "unique_kiosks": 4, "tickets": 12, "queued_tickets": 11,
        "wait_p50_s": 135.0, "wait_p90_s": 390.0, "talk_p50_s": 750.0,
        "abandoned": 1, "cancelled": 2, "abandonment_rate": 0.2727, "transfers": 1, "no_specialist": 1,
        "feedback_count": 6, "satisfaction_mean": 3.83,
        "satisfaction_distribution": {"1": 0, "2": 1, "3": 1, "4": 2, "5": 2},
        "saved_trip_yes": 4, "saved_trip_no": 1, "saved_trip_unanswered": 3,
        "round_trip_km_saved": 254.0, "hours_saved": 5.1, "co2_kg_avoided": 38.1,
        "unanswered_round_trip_km": 164.0, "estimate_round_trip_km_saved": 131.2, "estimate_hours_saved": 2.6,
        "estimate_co2_kg_avoided": 19.7,
    }
    assert data["estimate"] == {
        "label_ja": "推計", "label_en": "estimate", "included_in_headline": False, "yes_rate": 0.8,
        "basis": "unanswered consultations' round-trip km × yes / (yes + no) of the whole report"}
    bihoro = fig(data["by_municipality"], "municipality_code", "bihoro")
    assert (bihoro["consultations"], bihoro["wait_p50_s"], bihoro["wait_p90_s"]) == (5, 90.0, 228.0)
    assert (bihoro["abandonment_rate"], bihoro["satisfaction_mean"]) == (0.2857, 4.25)
    assert (bihoro["saved_trip_yes"], bihoro["saved_trip_no"], bihoro["saved_trip_unanswered"]) == (2, 1, 2)
    assert (bihoro["round_trip_km_saved"], bihoro["hours_saved"], bihoro["co2_kg_avoided"]) == (100.0, 2.0, 15.0)
    assert (bihoro["unanswered_round_trip_km"], bihoro["estimate_round_trip_km_saved"],
            bihoro["estimate_hours_saved"], bihoro["estimate_co2_kg_avoided"]) == (100.0, 80.0, 1.6, 12.0)
    oketo = fig(data["by_municipality"], "municipality_code", "oketo")
    assert (oketo["consultations"], oketo["wait_p50_s"], oketo["wait_p90_s"], oketo["abandonment_rate"]) == (
        1, 600.0, 600.0, 0.5)
    assert (oketo["round_trip_km_saved"], oketo["hours_saved"], oketo["co2_kg_avoided"]) == (90.0, 1.8, 13.5)
    assert (oketo["saved_trip_unanswered"], oketo["estimate_round_trip_km_saved"]) == (0, 0.0)
    tsubetsu = fig(data["by_municipality"], "municipality_code", "tsubetsu")
    assert (tsubetsu["consultations"], tsubetsu["tickets"], tsubetsu["wait_p50_s"], tsubetsu["wait_p90_s"],
            tsubetsu["abandonment_rate"], tsubetsu["satisfaction_mean"]) == (2, 2, 195.0, 231.0, 0.0, 2.0)
    assert (tsubetsu["saved_trip_yes"], tsubetsu["saved_trip_no"], tsubetsu["saved_trip_unanswered"]) == (1, 0, 1)
    assert (tsubetsu["round_trip_km_saved"], tsubetsu["hours_saved"], tsubetsu["co2_kg_avoided"]) == (
        64.0, 1.3, 9.6)
    assert (tsubetsu["estimate_round_trip_km_saved"], tsubetsu["estimate_hours_saved"],
            tsubetsu["estimate_co2_kg_avoided"]) == (51.2, 1.0, 7.7)
    kitami = fig(data["by_municipality"], "municipality_code", "kitami")
    assert (kitami["consultations"], kitami["wait_p50_s"], kitami["abandonment_rate"]) == (0, None, None)
    assert (kitami["round_trip_km_saved"], kitami["estimate_round_trip_km_saved"]) == (0.0, 0.0)
    assert [m["municipality_code"] for m in data["by_municipality"]] == [
        "kitami", "bihoro", "tsubetsu", "kunneppu", "oketo"]
    assert sum(m["round_trip_km_saved"] for m in data["by_municipality"]) == totals["round_trip_km_saved"]

    assert fig(data["by_branch"], "branch_code", "bihoro")["one_way_km"] == 25.0
    assert fig(data["by_branch"], "branch_code", "tsubetsu")["one_way_km"] == 32.0
    october, november = fig(data["by_month"], "month", "2026-10"), fig(data["by_month"], "month", "2026-11")
    assert (october["consultations"], october["tickets"], october["round_trip_km_saved"]) == (4, 4, 190.0)
    assert (october["saved_trip_yes"], october["saved_trip_unanswered"]) == (3, 1)
    assert (november["consultations"], november["tickets"], november["abandonment_rate"]) == (4, 8, 0.4286)
    assert (november["round_trip_km_saved"], november["saved_trip_no"]) == (64.0, 1)
    employment = fig(data["by_service"], "service_code", "employment")  # T4 counts for what was asked for
    disability = fig(data["by_service"], "service_code", "disability")
    guardianship = fig(data["by_service"], "service_code", "guardianship")
    assert (employment["consultations"], employment["tickets"], employment["transfers"]) == (4, 6, 1)
    assert (disability["consultations"], disability["tickets"], disability["no_specialist"]) == (3, 5, 1)
    assert (guardianship["consultations"], guardianship["round_trip_km_saved"]) == (1, 64.0)
    detail = [(r["month"], r["branch_code"], r["service_code"], r["consultations"]) for r in data["detail"]]
    assert detail == [("2026-10", "bihoro", "employment", 3), ("2026-10", "oketo", "disability", 1),
                      ("2026-11", "bihoro", "disability", 1), ("2026-11", "bihoro", "employment", 1),
                      ("2026-11", "tsubetsu", "disability", 1), ("2026-11", "tsubetsu", "guardianship", 1),
                      ("2026-11", "oketo", "disability", 0)]

    cost = data["cost_share"]
    assert cost["total"] == {"sessions": 9, "talk_minutes": 122.5, "wrapup_minutes": 28.0,
                             "specialist_minutes": 150.5}
    shares = {m["municipality_code"]: (m["sessions"], m["talk_minutes"], m["wrapup_minutes"],
                                       m["specialist_minutes"], m["share"], m["share_pct"])
              for m in cost["municipalities"]}
    assert shares == {"kitami": (0, 0.0, 0.0, 0.0, 0.0, 0.0), "bihoro": (6, 60.0, 13.0, 73.0, 0.48505, 48.5),
                      "tsubetsu": (2, 32.5, 5.0, 37.5, 0.249169, 24.92),
                      "kunneppu": (0, 0.0, 0.0, 0.0, 0.0, 0.0), "oketo": (1, 30.0, 10.0, 40.0, 0.265781, 26.58)}
    by_service = {(m["municipality_code"], s["service_code"]): (s["sessions"], s["talk_minutes"],
                                                                s["wrapup_minutes"], s["specialist_minutes"])
                  for m in cost["municipalities"] for s in m["services"]}
    assert by_service == {("bihoro", "disability"): (2, 26.7, 6.3, 33.0),  # T3 and T4's second leg
                          ("bihoro", "employment"): (4, 33.3, 6.7, 40.0),
                          ("tsubetsu", "disability"): (1, 7.5, 0.0, 7.5),  # wrap-up not finished: 0
                          ("tsubetsu", "guardianship"): (1, 25.0, 5.0, 30.0),
                          ("oketo", "disability"): (1, 30.0, 10.0, 40.0)}
    assert list(by_service)[:2] == [("bihoro", "disability"), ("bihoro", "employment")]  # service order

    only = json.loads(str(await build_report(env.ctx.maker, env.settings, *PERIOD, "oketo", "json")))
    assert only["municipality"] == "oketo" and [m["municipality_code"] for m in only["by_municipality"]] == ["oketo"]
    assert (only["totals"]["consultations"], only["totals"]["tickets"], only["totals"]["round_trip_km_saved"]) == (
        1, 2, 90.0)
    assert only["estimate"]["yes_rate"] == 1.0  # oketo's own answers: one yes
    assert [(m["municipality_code"], m["specialist_minutes"], m["share_pct"])
            for m in only["cost_share"]["municipalities"]] == [("oketo", 40.0, 100.0)]
    answered = json.loads(str(await build_report(env.ctx.maker, env.settings, "2026-10-01", "2026-10-01",
                                                 fmt="json")))  # T12 only: unanswered, nobody said yes or no
    assert answered["estimate"]["yes_rate"] is None
    assert (answered["totals"]["saved_trip_unanswered"], answered["totals"]["round_trip_km_saved"],
            answered["totals"]["unanswered_round_trip_km"], answered["totals"]["estimate_round_trip_km_saved"]) == (
        1, 0.0, 50.0, None)
    with pytest.raises(ReportError):
        await build_report(env.ctx.maker, env.settings, "2026-11-30", "2026-10-01", fmt="json")
    with pytest.raises(ReportError):
        await build_report(env.ctx.maker, env.settings, *PERIOD, "atlantis", "json")


def test_a_consultations_answer_is_the_last_one_given() -> None:
    """A transfer can ask twice: the last yes or no counts; a later skipped question does not erase it."""
    town = MunicipalityInfo(1, "bihoro", "美幌町", "Bihoro Town")
    fact = TicketFact(1, "2026-10", BranchInfo(1, "bihoro", "美幌", "Bihoro", 25.0, town),
                      ServiceInfo(1, "employment", "就労", "Employment"), "done", 1, consulted=True)
    for answers, expected in (([], None), ([None], None), ([True], True), ([False, True], True),
                              ([True, False], False), ([False, None], False), ([None, True, None], True)):
        fact.saved_trip = list(answers)
        assert fact.trip_answer is expected, answers


async def test_csv_is_what_a_spreadsheet_expects(report_env: Env) -> None:
    body = await build_report(report_env.ctx.maker, report_env.settings, *PERIOD, fmt="csv")
    assert isinstance(body, bytes) and body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert rows[0] == [h for h, _ in CSV_COLUMNS]
    assert rows[0][:3] == ["集計単位 (level)", "月 (month)", "市町コード (municipality_code)"]
    assert "相談件数 (consultations)" in rows[0] and "削減往復距離 km「はい」のみ (round_trip_km_saved)" in rows[0]
    assert all(len(r) == len(rows[0]) for r in rows)
    total = dict(zip(rows[0], rows[1], strict=True))
    assert total["集計単位 (level)"] == "total"
    assert (total["相談件数 (consultations)"], total["待ち時間 中央値 秒 (wait_p50_s)"],
            total["待ち時間 90% 秒 (wait_p90_s)"]) == ("8", "135.0", "390.0")
    assert (total["来庁不要 はい (saved_trip_yes)"], total["来庁不要 いいえ (saved_trip_no)"],
            total["来庁不要 無回答 (saved_trip_unanswered)"]) == ("4", "1", "3")
    assert (total["削減往復距離 km「はい」のみ (round_trip_km_saved)"],
            total["削減移動時間 h「はい」のみ (hours_saved)"],
            total["CO2削減 kg「はい」のみ (co2_kg_avoided)"]) == ("254.0", "5.1", "38.1")
    assert (total["無回答分の往復距離 km (unanswered_round_trip_km)"],
            total["推計 無回答分の削減距離 km (estimate_round_trip_km_saved)"],
            total["推計 無回答分の削減時間 h (estimate_hours_saved)"],
            total["推計 無回答分のCO2削減 kg (estimate_co2_kg_avoided)"]) == ("164.0", "131.2", "2.6", "19.7")
    assert (total["想定平均速度 km/h (speed_kmh)"], total["CO2係数 kg/km (co2_kg_per_km)"],
            total["推計に用いた「はい」の割合 (estimate_yes_rate)"]) == ("50.0", "0.15", "0.8")
    assert total["専門職対応時間 分 (specialist_minutes)"] == ""  # minutes live in the cost-share rows only
    levels = [r[0] for r in rows[1:]]
    assert levels == ["total"] + ["municipality"] * 5 + ["branch"] * 5 + ["service"] * 4 + ["month"] * 2 + [
        "detail"] * 7 + ["cost_share_municipality"] * 5 + ["cost_share_detail"] * 5
    cost = [dict(zip(rows[0], r, strict=True)) for r in rows[1:] if r[0].startswith("cost_share")]
    assert [(c["市町コード (municipality_code)"], c["相談種別コード (service_code)"], c["専門職対応 通話数 (sessions)"],
             c["通話時間 分 (talk_minutes)"], c["後処理時間 分 (wrapup_minutes)"],
             c["専門職対応時間 分 (specialist_minutes)"], c["按分比率 % (share_pct)"]) for c in cost] == [
        ("kitami", "", "0", "0.0", "0.0", "0.0", "0.0"), ("bihoro", "", "6", "60.0", "13.0", "73.0", "48.5"),
        ("tsubetsu", "", "2", "32.5", "5.0", "37.5", "24.92"), ("kunneppu", "", "0", "0.0", "0.0", "0.0", "0.0"),
        ("oketo", "", "1", "30.0", "10.0", "40.0", "26.58"),
        ("bihoro", "disability", "2", "26.7", "6.3", "33.0", ""),
        ("bihoro", "employment", "4", "33.3", "6.7", "40.0", ""),
        ("tsubetsu", "disability", "1", "7.5", "0.0", "7.5", ""),
        ("tsubetsu", "guardianship", "1", "25.0", "5.0", "30.0", ""),
        ("oketo", "disability", "1", "30.0", "10.0", "40.0", ""),
    ]
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
            kpi_text = await page.inner_text("#kpis")
            estimate_text = (await page.inner_text("#estimate")).replace("\n", " ")
            cost_rows = await page.eval_on_selector_all(
                "#cost-share tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText).join('\\t'))")
            images = await page.evaluate(
                "[...document.images].map(i => [i.complete, i.naturalWidth, i.src.slice(0, 26)])")
        finally:
            await browser.close()
    assert errors == []
    assert all(not u.startswith("http") for u in requests)  # self-contained: nothing fetched
    assert len(images) == 4 and all(ok and w > 100 and src == "data:image/svg+xml;base64," for ok, w, src in images)
    flat = text.replace("\n", "")
    for expected in ("導入効果レポート", "8件", "254km", "5.1時間", "38.1kg", "3.83", "2:15 / 6:30", "27.3%",
                     "4 / 1 / 3", "50.0 km/h", "0.15 kg-CO2/km", "2026-10-01 〜 2026-11-30",
                     "「来庁せずに済んだ」と回答した相談のみ"):
        assert expected in flat, expected
    assert "美幌町" in text and "Oketo Town" in text and "用語の定義" in text
    kpis = kpi_text
    assert "254" in kpis and "131" not in kpis and "推計" not in kpis  # the estimate is never in the headline
    assert "推計" in estimate_text and "約 131 km" in estimate_text and "2.6 時間" in estimate_text
    assert "19.7 kg" in estimate_text and "80.0%" in estimate_text and "参考値" in estimate_text
    assert "見出しの数値には含めていません" in estimate_text
    assert [r.split("\t")[0] for r in cost_rows] == [
        "合計\nTotal", "北見市\nKitami City", "美幌町\nBihoro Town", "障がい福祉の相談\nDisability life support",
        "就労の相談\nEmployment support", "津別町\nTsubetsu Town", "障がい福祉の相談\nDisability life support",
        "成年後見の相談\nAdult guardianship", "訓子府町\nKunneppu Town", "置戸町\nOketo Town",
        "障がい福祉の相談\nDisability life support"]
    assert cost_rows[0].split("\t")[1:] == ["9", "122.5", "28.0", "150.5", "100.0%"]
    assert cost_rows[2].split("\t")[1:] == ["6", "60.0", "13.0", "73.0", "48.5%"]
    assert [r.split("\t")[-1] for r in cost_rows if r.split("\t")[-1].endswith("%")] == [
        "100.0%", "0.0%", "48.5%", "24.9%", "0.0%", "26.6%"]


def poppler(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=120).stdout


def render_pages(pdf: Path, dpi: int, prefix: Path) -> list[Path]:
    """Every page as a PNG, by poppler's pdftoppm (page-1.png, page-2.png, ...)."""
    poppler("pdftoppm", "-r", str(dpi), "-png", str(pdf), str(prefix))
    return sorted(prefix.parent.glob(f"{prefix.name}-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))


def ink(image: Image.Image) -> float:
    """Share of pixels that are not (near) white."""
    grey = image.convert("L")
    hist = grey.histogram()
    return 1 - sum(hist[245:]) / (grey.width * grey.height)


async def test_pdf_prints_a4_with_fonts_embedded(report_env: Env, tmp_path: Path) -> None:
    """The PDF, checked with poppler: A4 pages, every font embedded, the headline in its text, no blank page."""
    body = await build_report(report_env.ctx.maker, report_env.settings, *PERIOD, fmt="pdf")
    assert isinstance(body, bytes) and body.startswith(b"%PDF-")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(body)
    info = poppler("pdfinfo", "-f", "1", "-l", "99", str(pdf))
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))  # type: ignore[union-attr]
    assert 3 <= pages <= 10
    sizes = re.findall(r"^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts \(A4\)", info, re.M)
    assert len(sizes) == pages  # poppler names every page A4
    assert all(abs(float(w) - 841.89) < 1 and abs(float(h) - 595.28) < 1 for w, h in sizes)  # landscape

    fonts = poppler("pdffonts", str(pdf)).splitlines()[2:]
    assert fonts, "no fonts: the text would not be text"
    assert all(row.split()[-5] == "yes" and row.split()[-3] == "yes" for row in fonts)  # embedded, with Unicode

    text = poppler("pdftotext", "-layout", str(pdf), "-")
    first = poppler("pdftotext", "-layout", "-f", "1", "-l", "1", str(pdf), "-")
    assert "導入効果レポート" in first and re.search(r"254\s*km", first) and "5.1" in first and "38.1" in first
    assert "推計" in first and "131" in first and "参考値" in first
    assert "負担金按分" in text and "48.5%" in text and "用語の定義" in text
    assert re.search(rf"\b{pages}\s*/\s*{pages}\s*$", text.strip())  # the footer numbers the pages

    images = render_pages(pdf, 40, tmp_path / "page")
    assert len(images) == pages
    for path in images:
        with Image.open(path) as im:
            assert abs(im.width - 468) <= 2 and abs(im.height - 331) <= 2, (path, im.size)  # A4 at 40 dpi
            assert ink(im) > 0.01, path  # something printed on every page
    with Image.open(images[0]) as im:
        assert ink(im) > 0.05  # the first page carries the headline, the travel table and the estimate


async def test_pdf_without_chromium_is_a_clear_error(report_env: Env, tmp_path: Path) -> None:
    settings = report_env.settings.model_copy(update={"report_chromium": str(tmp_path / "no-chromium")})
    with pytest.raises(ReportUnavailable, match="MADOGUCHI_REPORT_CHROMIUM"):
        await build_report(report_env.ctx.maker, settings, *PERIOD, fmt="pdf")


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
            assert r.status_code == 200 and r.json()["totals"]["consultations"] == 8, user
        csv_r = await http.get("/api/reports/effect", params={**params, "format": "csv", "municipality": "oketo"},
                               headers=auth)
        assert csv_r.status_code == 200 and csv_r.content.startswith(b"\xef\xbb\xbf")
        assert csv_r.headers["content-type"].startswith("text/csv")
        assert 'filename="madoguchi-effect-2026-10-01_2026-11-30-oketo.csv"' in csv_r.headers["content-disposition"]
        pdf_r = await http.get("/api/reports/effect.pdf", params=params, headers=auth)
        assert pdf_r.status_code == 200 and pdf_r.headers["content-type"] == "application/pdf"
        assert pdf_r.content.startswith(b"%PDF-")
        assert 'filename="madoguchi-effect-2026-10-01_2026-11-30.pdf"' in pdf_r.headers["content-disposition"]
        it = {"Authorization": f"Bearer {await env.staff_token('it')}"}
        assert (await http.get("/api/reports/effect.pdf", params=params, headers=it)).status_code == 403
        assert (await http.get("/api/reports/effect.pdf", params=params)).status_code == 401
        assert (await http.get("/api/reports/effect.pdf", params={"from": PERIOD[1], "to": PERIOD[0]},
                               headers=auth)).status_code == 422
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
        pdf = tmp_path / "out" / "r.pdf"
        result = CliRunner().invoke(app, ["--from", "2026-05-01", "--to", "2026-11-30", "--format", "pdf",
                                          "--out", str(pdf)])
        assert result.exit_code == 0, result.output
        assert pdf.read_bytes().startswith(b"%PDF-")
        result = CliRunner().invoke(app, ["--from", "2026-05-01", "--to", "2026-11-30", "--format", "xlsx"])
        assert result.exit_code != 0 and "html, csv, json, pdf" in result.output
        result = CliRunner().invoke(app, ["--from", "2026-13-01", "--to", "2026-11-30"])
        assert result.exit_code != 0 and "YYYY-MM-DD" in result.output
    finally:
        get_settings.cache_clear()


@pytest.mark.skipif(not os.environ.get("MADOGUCHI_SCREENSHOTS"), reason="set MADOGUCHI_SCREENSHOTS=dir")
async def test_report_screenshot(tmp_path: Path) -> None:
    """docs/screenshots/report.png (the HTML's first screenful) and report_pdf_p1.png (the PDF's first page):
    six months of seeded history."""
    now = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    out = Path(os.environ["MADOGUCHI_SCREENSHOTS"])
    async with server_env(make_settings(tmp_path)) as env:
        await seed_history(env.ctx.maker, 900, seed=1, now=now)
        html = await build_report(env.ctx.maker, env.settings, "2026-06-01", "2026-11-30", fmt="html")
        pdf = await build_report(env.ctx.maker, env.settings, "2026-06-01", "2026-11-30", fmt="pdf")
    assert isinstance(pdf, bytes)
    (tmp_path / "report.pdf").write_bytes(pdf)
    poppler("pdftoppm", "-r", "110", "-png", "-f", "1", "-l", "1", "-singlefile", str(tmp_path / "report.pdf"),
            str(out / "report_pdf_p1"))
    path = tmp_path / "report.html"
    path.write_text(str(html), encoding="utf-8")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 1600})
            await page.goto(path.as_uri())
            await page.screenshot(path=str(out / "report.png"))
        finally:
            await browser.close()
