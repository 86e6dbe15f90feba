"""The console's item models and words, without a window or a server."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from signaling.protocol.models import QueueItem, StaffState
from staff_console.ui.models import ID_ROLE, HistoryModel, QueueModel, TeamModel
from staff_console.ui.text import Texts

NAMES = {("employment", "ja"): "就労の相談", ("employment", "en"): "Employment support",
         ("disability", "ja"): "障がい福祉の相談", ("disability", "en"): "Disability life support"}


def texts(language: str = "ja") -> Texts:
    return Texts(language, lambda code, lang: NAMES.get((code, lang), code))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_queue_model_rows_and_live_wait(qapp: Any) -> None:
    clock = Clock()
    m = QueueModel(texts(), clock)
    changed: list[tuple[int, int]] = []
    m.dataChanged.connect(lambda a, b, *_: changed.append((a.column(), b.row())))
    m.set_items([
        QueueItem(ticket_id=7, service_code="employment", branch="美幌町役場 窓口", municipality="美幌町",
                  needs=["written", "sign_language"], waited_s=50, state="waiting"),
        QueueItem(ticket_id=9, service_code="disability", branch="津別町役場 窓口", municipality="津別町",
                  waited_s=590, state="offered", tier="shared", priority=2, language="en"),
    ])
    assert (m.rowCount(), m.columnCount()) == (2, 6)
    assert [m.headerData(c, Qt.Orientation.Horizontal) for c in range(6)] == [
        "待ち時間", "優先度", "相談", "窓口（市町）", "配慮", "状態"]
    assert [m.text(0, c) for c in range(6)] == [
        "50秒", "", "就労の相談", "美幌町役場 窓口（美幌町）", "筆談、手話", "待機中"]
    assert m.text(1, m.STATE) == "呼び出し中 · 広域" and m.text(1, m.NEEDS) == "言語: 英語"
    assert m.text(1, m.PRIORITY) == "至急"
    assert m.data(m.index(1, m.PRIORITY), Qt.ItemDataRole.ForegroundRole).color().name() == "#b00020"
    assert m.data(m.index(1, 0), ID_ROLE) == 9
    assert m.data(m.index(0, m.WAITED), Qt.ItemDataRole.ForegroundRole) is None

    clock.now += 75  # no new snapshot: the waits count on, and long waits turn red
    m.tick()
    assert changed == [(m.WAITED, 1)]
    assert (m.text(0, m.WAITED), m.text(1, m.WAITED)) == ("2分", "11分")
    assert m.data(m.index(1, m.WAITED), Qt.ItemDataRole.ForegroundRole).color().name() == "#b00020"

    m.texts.set_language("en")
    m.retranslate()
    assert m.text(0, m.SERVICE) == "Employment support" and m.text(0, m.NEEDS) == "writing, sign language"
    assert (m.text(1, m.PRIORITY), m.text(1, m.NEEDS)) == ("Urgent", "Language: English")
    assert m.headerData(0, Qt.Orientation.Horizontal) == "Waited" and m.text(0, m.WAITED) == "2 min"


def test_team_model_states_and_counts(qapp: Any) -> None:
    m = TeamModel(texts())
    m.set_staff([StaffState(staff_id=1, name="佐藤 花子", status="in_call"),
                 StaffState(staff_id=2, name="鈴木 一郎", status="away", reason="meeting"),
                 StaffState(staff_id=3, name="高橋 美咲", status="available")])
    assert [m.text(r, m.STATUS) for r in range(3)] == ["通話中", "離席中（会議）", "受付中"]
    assert m.counts() == {"in_call": 1, "away": 1, "available": 1}
    assert m.data(m.index(0, m.NAME), ID_ROLE) == 1


def test_history_model_shows_only_what_the_server_sent(qapp: Any) -> None:
    m = HistoryModel(texts())
    base = {"service_code": "employment", "branch": "美幌町役場 窓口", "branch_code": "bihoro",
            "accepted_at": "2026-11-28T01:02:00+00:00", "talk_s": 725.0}
    m.set_rows([
        {**base, "id": 1, "note": {"category": "consultation", "summary": "x", "follow_up": True,
                                   "follow_up_by": "高橋", "referral_org": "", "shared": False}},
        {**base, "id": 2, "note": {"category": "就労支援", "summary": "", "follow_up": False}},
        {**base, "id": 3, "note": None, "talk_s": None},
    ])
    assert [m.text(r, m.CATEGORY) for r in range(3)] == ["相談対応", "就労支援", "（記録なし）"]
    assert [m.text(r, m.FOLLOW_UP) for r in range(3)] == ["高橋", "", ""]
    assert m.text(0, m.TALK) == "12:05" and m.text(2, m.TALK) == "通話中"
    assert m.text(0, m.WHEN).startswith("2026-11-28")


def test_words() -> None:
    t = texts()
    assert t.status_line("away", "no_answer") == "離席中（着信に応答なし）"
    assert t.status_line("away", "something new") == "離席中（something new）"
    assert (t.duration(7), t.duration(725), t.duration(3723)) == ("0:07", "12:05", "1:02:03")
    assert (t.waited(45), t.waited(180), t.waited(3900)) == ("45秒", "3分", "1時間5分")
    assert t.needs([]) == "特になし" and t.category("") == ""
    en = texts("en")
    assert en.status_line("away", "break") == "Away (break)" and en.where("A", "B") == "A (B)"
    assert en.end_reason("transferred") == "transferred" and en.end_reason("weird") == "weird"
