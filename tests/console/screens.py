"""Render every console view offscreen from made-up state (no server, no media), Japanese and English.

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m tests.console.screens docs/screenshots

writes ``console_<view>_<lang>.png``. The same code runs in the test suite (into a temp folder), so a
view that cannot render in some language fails a test.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop
from PySide6.QtWidgets import QApplication, QWidget

from signaling.document_camera import DocumentCamera, SyntheticDocumentTrack
from signaling.media import SyntheticVideoTrack
from signaling.protocol.messages import InviteIncoming, Offer
from signaling.protocol.models import CallStats, Participant, QueueItem, ServiceInfo, StaffState
from staff_console.controller import ChatLine, CurrentCall, NoteDraft, StaffController, WrapUp
from staff_console.documents import StillEntry
from staff_console.guests import GuestEntry, qr_png
from staff_console.settings import ConsoleSettings
from staff_console.ui import style
from staff_console.ui.guest_dialog import GuestInviteDialog
from staff_console.ui.login import LoginDialog
from staff_console.ui.offer_dialog import InviteDialog, OfferDialog
from staff_console.ui.pickers import TransferDialog
from staff_console.ui.text import Texts
from staff_console.ui.window import ConsoleWindow
from tests.pdfs import make_pdf
from tests.support import ManualClock

VIEWS = ("login", "queue", "offer", "offer_unmet", "offer_case", "call", "wrapup", "history", "supervisor", "coaching",
         "transfer", "invite", "guest_invite", "guest_lobby", "document", "document_still", "shared_doc",
         "shared_doc_refused", "print_printing", "print_done", "print_paper_out")
DOC_SIZE = (2592, 1944)  # the synthetic document camera's default: 5 MP
GUEST_LINK = "https://madoguchi.city.kitami.local/g/3q2xJd0pZrj5u4Vb9Kc1TnE7wYhLm8aQ6sDf2GtRyUo"
SERVICES = [
    ServiceInfo(code="disability", name_ja="障がい福祉の相談", name_en="Disability life support"),
    ServiceInfo(code="guardianship", name_ja="成年後見の相談", name_en="Adult guardianship"),
    ServiceInfo(code="employment", name_ja="就労の相談", name_en="Employment support"),
    ServiceInfo(code="general", name_ja="よくわからない・その他", name_en="Not sure / other"),
]
STAFF = {"id": 3, "username": "takahashi", "display_name": "高橋 美咲", "role": "specialist",
         "municipality": "美幌町", "municipality_id": 2, "skills": ["employment", "disability"]}
SUPERVISOR = {"id": 4, "username": "tanaka", "display_name": "田中 誠", "role": "supervisor",
              "municipality": "北見市", "municipality_id": 1,
              "skills": ["disability", "guardianship", "employment", "general"]}
QUEUE = [  # in the server's order: priority, then arrival
    QueueItem(ticket_id=43, service_code="disability", branch="津別町役場 窓口", municipality="津別町",
              needs=["sign_language", "supporter"], priority=1, waited_s=128, state="waiting", tier="shared"),
    QueueItem(ticket_id=41, service_code="employment", branch="美幌町役場 窓口", municipality="美幌町",
              needs=["written"], waited_s=412, state="waiting"),
    QueueItem(ticket_id=44, service_code="disability", branch="美幌町役場 窓口", municipality="美幌町",
              needs=[], language="en", waited_s=35, state="offered"),
]
ALL_QUEUE = [*QUEUE,
             QueueItem(ticket_id=45, service_code="guardianship", branch="常呂総合支所", municipality="北見市",
                       needs=["large_text"], waited_s=702, state="waiting"),
             QueueItem(ticket_id=46, service_code="general", branch="置戸町役場 窓口", municipality="置戸町",
                       needs=[], waited_s=64, state="waiting")]
TEAM = [StaffState(staff_id=1, name="佐藤 花子", status="in_call"),
        StaffState(staff_id=2, name="鈴木 一郎", status="wrap_up"),
        StaffState(staff_id=3, name="高橋 美咲", status="available"),
        StaffState(staff_id=5, name="伊藤 健", status="away", reason="meeting"),
        StaffState(staff_id=4, name="田中 誠", status="away", reason="coaching")]
COLLEAGUES = [
    {"id": 1, "display_name": "佐藤 花子", "municipality": "北見市", "role": "specialist", "status": "available",
     "skills": ["disability", "general"]},
    {"id": 2, "display_name": "鈴木 一郎", "municipality": "北見市", "role": "specialist", "status": "in_call",
     "skills": ["guardianship", "general"]},
]
KIOSK, ME, THIRD, SUP = "kiosk:7", "staff:3", "staff:1", "staff:4"


def _now(minutes_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()


HISTORY = [
    {"id": 12, "ticket_id": 40, "service_code": "employment", "branch": "美幌町役場 窓口", "branch_code": "bihoro",
     "municipality_id": 2, "staff_id": 3, "staff_name": "高橋 美咲", "accepted_at": _now(95),
     "media_connected_at": _now(95), "ended_at": _now(77), "end_reason": "resident_hangup", "wait_s": 140.0,
     "talk_s": 1083.0,
     "note": {"session_id": 12, "author_id": 3, "category": "consultation",
              "summary": "一般就労を希望。週3日・短時間から。\n次回: 就労移行支援事業所の見学日程を調整する。",
              "follow_up": True, "follow_up_by": "高橋（本人）", "referral_org": "障害者就業・生活支援センター",
              "shared": False, "updated_at": _now(70)}},
    {"id": 10, "ticket_id": 37, "service_code": "disability", "branch": "津別町役場 窓口", "branch_code": "tsubetsu",
     "municipality_id": 3, "staff_id": 3, "staff_name": "高橋 美咲", "accepted_at": _now(60 * 26),
     "media_connected_at": _now(60 * 26), "ended_at": _now(60 * 26 - 9), "end_reason": "staff_hangup",
     "wait_s": 65.0, "talk_s": 540.0,
     "note": {"session_id": 10, "author_id": 3, "category": "information",
              "summary": "日常生活用具の給付について説明。",
              "follow_up": False, "follow_up_by": "", "referral_org": "", "shared": False, "updated_at": _now(1500)}},
    {"id": 7, "ticket_id": 30, "service_code": "disability", "branch": "美幌町役場 窓口", "branch_code": "bihoro",
     "municipality_id": 2, "staff_id": 3, "staff_name": "高橋 美咲", "accepted_at": _now(60 * 50),
     "media_connected_at": _now(60 * 50), "ended_at": _now(60 * 50 - 4), "end_reason": "transferred",
     "wait_s": 30.0, "talk_s": 250.0,
     "note": {"session_id": 7, "author_id": 3, "category": "referral", "summary": "成年後見の相談へ転送。",
              "follow_up": False, "follow_up_by": "", "referral_org": "", "shared": False, "updated_at": _now(2990)}},
]


def pump(ms: int = 50) -> None:
    deadline = time.monotonic() + ms / 1000
    while time.monotonic() < deadline:
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)


def _controller(staff: dict[str, Any]) -> StaffController:
    ctl = StaffController(ConsoleSettings(server_url="http://127.0.0.1:9"), clock=ManualClock())
    ctl.api.staff = dict(staff)
    ctl.services = list(SERVICES)
    ctl.connection = "online"
    return ctl


def _window(ctl: StaffController, texts: Texts, status: str = "available", reason: str = "") -> ConsoleWindow:
    win = ConsoleWindow(ctl, texts)
    win.resize(1360, 820)
    ctl.emit("profile", {"staff": ctl.me, "services": ctl.services})
    ctl.emit("connection", {"state": "online"})
    ctl.status, ctl.status_reason = status, reason
    ctl.emit("status", {"status": status, "reason": reason, "away_after": None})
    return win


def _call(ctl: StaffController, role: str, participants: list[Participant], chat: list[ChatLine]) -> CurrentCall:
    return CurrentCall(session_id=12, ticket_id=41, service_code="employment", branch="美幌町役場 窓口",
                       municipality="美幌町", role=role, participants=participants,
                       me=SUP if role == "supervisor" else ME, needs=["sign_language"],
                       unmet_needs=["sign_language"] if role == "specialist" else [], written=True,
                       started_at=ctl.clock() - 754, chat=chat)


def _frames(view: Any, peers: dict[str, int], local: int | None) -> None:
    track = SyntheticVideoTrack(640, 480, 15)
    frames = {peer: track.render(i) for peer, i in peers.items()}
    view.set_frames(frames, track.render(local) if local is not None else None)


def render(view: str, language: str) -> QWidget:
    texts = Texts(language)
    if view == "login":
        dlg = LoginDialog(texts, "https://madoguchi.city.kitami.local", "takahashi")
        dlg.resize(480, 300)
        return dlg
    sup = view in ("supervisor", "coaching")
    ctl = _controller(SUPERVISOR if sup else STAFF)
    status = {"call": "in_call", "guest_lobby": "in_call", "document": "in_call", "document_still": "in_call",
              "shared_doc": "in_call", "shared_doc_refused": "in_call", "print_printing": "in_call",
              "print_done": "in_call", "print_paper_out": "in_call",
              "coaching": "away", "wrapup": "wrap_up",
              "offer": "offered"}.get(view, "available")
    win = _window(ctl, texts, status, "coaching" if view == "coaching" else "")
    ctl.queue = ALL_QUEUE if sup else QUEUE
    ctl.emit("queue", {"items": ctl.queue, "staff": TEAM if sup else []})
    win.show()
    if view in ("queue", "supervisor"):
        if sup:
            win.queue_panel.team_view.selectRow(0)
        else:
            win.queue_panel.select_ticket(43)  # the priority control acts on the selected resident
        return win
    if view == "offer_unmet":
        offer = Offer(ticket_id=47, service_code="guardianship", branch="常呂総合支所", municipality="北見市",
                      needs=["sign_language"], unmet_needs=["sign_language"], written=True, waited_s=12,
                      expires_in_s=20)
        ctl.offer, ctl.offer_deadline = offer, ctl.clock() + 17.0
        win.offer_dialog.show_offer(offer)
        return win.offer_dialog
    if view == "offer_case":  # the resident typed their case number; this is the case's last specialist
        offer = Offer(ticket_id=48, service_code="employment", branch="美幌町役場 窓口", municipality="美幌町",
                      waited_s=4, expires_in_s=20, case_number="BIH-2026-0012")
        ctl.offer, ctl.offer_deadline = offer, ctl.clock() + 18.0
        win.offer_dialog.show_offer(offer)
        return win.offer_dialog
    if view == "offer":
        offer = Offer(ticket_id=44, service_code="disability", branch="美幌町役場 窓口", municipality="美幌町",
                      needs=["written", "large_text"], waited_s=95, expires_in_s=20, transferred=True)
        ctl.offer, ctl.offer_deadline = offer, ctl.clock() + 14.2
        win.offer_dialog.show_offer(offer)
        return win.offer_dialog
    if view == "guest_invite":
        dlg = GuestInviteDialog(texts, win)
        dlg.role.setCurrentIndex(dlg.role.findData("sign_interpreter"))
        dlg.name.setText("山田 花子")
        entry = GuestEntry(17, 12, "山田 花子", "sign_interpreter", link=GUEST_LINK, expires_in_s=900)
        dlg.show_link(entry, qr_png(GUEST_LINK))
        dlg.show()
        return dlg
    if view == "guest_lobby":
        parts = [Participant(peer=KIOSK, role="resident"),
                 Participant(peer=ME, role="specialist", display_name="高橋 美咲"),
                 Participant(peer="guest:16", role="guest", display_name="佐々木 一郎", guest_role="guardian")]
        call = _call(ctl, "specialist", parts, [ChatLine("guest:16", "後見人の佐々木です。よろしくお願いします。")])
        ctl.call = call
        ctl.emit("call_started", {"session_id": 12, "call": call})
        ctl.guests.entries = {17: GuestEntry(17, 12, "山田 花子", "sign_interpreter", state="lobby"),
                              18: GuestEntry(18, 12, "北 一美", "family", state="awaiting_consent")}
        ctl.emit("guest_lobby", {"entries": ctl.guests.lobby()})
        cv = win.call_view
        cv.set_elapsed(312)
        cv.set_quality(CallStats(rtt_ms=18.0, loss_pct=0.0, fps=15.0, bitrate_kbps=820.0))
        _frames(cv, {KIOSK: 40, "guest:16": 90}, 10)
        return win
    if view in ("shared_doc", "shared_doc_refused") or view.startswith("print_"):
        parts = [Participant(peer=KIOSK, role="resident"),
                 Participant(peer=ME, role="specialist", display_name="高橋 美咲")]
        call = _call(ctl, "specialist", parts, [ChatLine("me", "申請書の2ページ目をご覧ください。")])
        ctl.call = call
        ctl.emit("call_started", {"session_id": 12, "call": call})
        cv = win.call_view
        cv.set_elapsed(515)
        cv.set_quality(CallStats(rtt_ms=18.0, loss_pct=0.0, fps=15.0, bitrate_kbps=820.0))
        _frames(cv, {KIOSK: 40}, 10)
        name = "利用申請書" if language == "ja" else "Application form"
        ctl.sharing.data, ctl.sharing.name, ctl.sharing.pages, ctl.sharing.shown = make_pdf(3, name), name, 3, True
        ctl.emit("shared_doc", {"state": "shown", "pages": 3, "page": 0, "name": name})
        ctl.sharing.page = 1
        ctl.emit("shared_doc", {"state": "page", "page": 1, "pages": 3})
        cv.sharing.view.set_pointer((0.3, 0.42))
        if view == "shared_doc_refused":  # a second PDF the kiosk could not open: the first stays shown
            ctl.emit("shared_doc", {"state": "error", "code": "unreadable"})
        if view.startswith("print_"):  # 「支所で印刷」 pressed: the kiosk's answers (kiosk/printing.py)
            state = view.removeprefix("print_")
            reason = "media-empty-error" if state == "paper_out" else ""
            ctl.emit("print", {"request_id": 1, "name": name, "state": state, "pages": 3, "reason": reason,
                               "shown": True})
        return win
    if view in ("document", "document_still"):
        parts = [Participant(peer=KIOSK, role="resident"),
                 Participant(peer=ME, role="specialist", display_name="高橋 美咲")]
        call = _call(ctl, "specialist", parts, [ChatLine(KIOSK, "役場から届いた受給者証です。")])
        ctl.call = call
        ctl.emit("call_started", {"session_id": 12, "call": call})
        cv = win.call_view
        cv.set_elapsed(402)
        cv.set_quality(CallStats(rtt_ms=18.0, loss_pct=0.0, fps=10.0, bitrate_kbps=1400.0))
        ctl.emit("document", {"showing": True, "width": DOC_SIZE[0], "height": DOC_SIZE[1]})
        page = SyntheticDocumentTrack(*DOC_SIZE, 10)
        full = page.render(5)
        cv.set_frames({KIOSK: full.reformat(width=1280, height=960)}, SyntheticVideoTrack(640, 480).render(10))
        camera = DocumentCamera(page)
        camera.latest = full
        still = asyncio.run(camera.capture_still())
        for i in range(2):
            entry = StillEntry(i + 1, still.data, still.sha256, still.mime, still.width, still.height,
                               ctl.clock() - 0.4)
            entry.received_at = entry.requested_at + 0.38
            if i == 0:
                entry.attachment_id = 3
            ctl.emit("still", {"entry": entry})
        if view == "document_still":  # the first still, attached, zoomed in on the text: 10.5 pt is readable
            cv.documents.stills.setCurrentRow(0)
            cv.documents.zoom.setValue(300)
        else:
            cv.documents._live()
        return win
    if view in ("call", "coaching"):
        parts = [Participant(peer=KIOSK, role="resident"),
                 Participant(peer=ME, role="specialist", display_name="高橋 美咲")]
        if view == "call":
            parts += [Participant(peer=THIRD, role="third_party", display_name="佐藤 花子"),
                      Participant(peer=SUP, role="supervisor", display_name="田中 誠")]
            chat = [ChatLine(KIOSK, "耳が聞こえにくいので、文字でもお願いします。"),
                    ChatLine("me", "はい、大事なことは文字でもお伝えしますね。"),
                    ChatLine(SUP, "求職登録の有無を先に確認しましょう", private=True)]
        else:
            parts.append(Participant(peer=SUP, role="supervisor", display_name="田中 誠"))
            chat = [ChatLine(KIOSK, "耳が聞こえにくいので、文字でもお願いします。"),
                    ChatLine(ME, "はい、大事なことは文字でもお伝えしますね。")]
        call = _call(ctl, "supervisor" if view == "coaching" else "specialist", parts, chat)
        ctl.call = call
        ctl.note = NoteDraft(category="consultation", summary="一般就労を希望。週3日から。")
        ctl.emit("call_started", {"session_id": 12, "call": call})
        cv = win.call_view
        cv.set_elapsed(754)
        cv.set_quality(CallStats(rtt_ms=18.0, loss_pct=0.0, fps=15.0, bitrate_kbps=820.0))
        if view == "call":
            cv.set_whisper(True, False, SUP)
            _frames(cv, {KIOSK: 40, THIRD: 90}, 10)
        else:
            cv.set_whisper(True, True)
            _frames(cv, {KIOSK: 40, ME: 130}, None)
        return win
    if view == "wrapup":
        ctl.call = _call(ctl, "specialist", [Participant(peer=KIOSK, role="resident"),
                                        Participant(peer=ME, role="specialist", display_name="高橋 美咲")],
                         [ChatLine(KIOSK, "耳が聞こえにくいので、文字でもお願いします。"),
                          ChatLine("me", "来週、見学の日程をお知らせします。")])
        ctl.note = NoteDraft(summary="一般就労を希望。週3日・短時間から。", follow_up=True)
        ctl.wrapup = WrapUp(session_id=12, service_code="employment", branch="美幌町役場 窓口", municipality="美幌町",
                            talk_s=1083, end_reason="resident_hangup", chat=list(ctl.call.chat))
        ctl.emit("call_ended", {"session_id": 12, "reason": "resident_hangup", "wrap_up": True})
        ctl.emit("wrapup", {"wrapup": ctl.wrapup})
        ctl.emit("error", {"code": "note_incomplete", "request": "wrapup.done",
                           "details": {"missing": ctl.note_problems()}})
        return win
    if view == "history":
        win.tabs.blockSignals(True)
        win.tabs.setCurrentIndex(1)
        win.tabs.blockSignals(False)
        ctl.history_branches = {r["branch_code"]: r["branch"] for r in HISTORY}
        ctl.emit("history", {"rows": HISTORY})
        return win
    if view == "transfer":
        dlg = TransferDialog(texts, [s.code for s in SERVICES], COLLEAGUES, "employment", win)
        dlg.to_staff.setChecked(True)
        dlg.show()
        return dlg
    if view == "invite":
        win.invite_dialog.show_invite(InviteIncoming(session_id=12, from_name="高橋 美咲", service_code="employment"),
                                      busy=False)
        return win.invite_dialog
    raise ValueError(view)


def render_all(out: Path, languages: tuple[str, ...] = ("ja", "en"),
               on_each: Callable[[str, str, Path], None] | None = None) -> list[Path]:
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    style.apply(app)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for language in languages:
        for view in VIEWS:
            widget = render(view, language)
            widget.show()
            pump(100)
            path = out / f"console_{view}_{language}.png"
            dialogs = ("offer", "offer_unmet", "offer_case", "transfer", "invite", "login", "guest_invite")
            target = widget.window() if view not in dialogs else widget
            assert target.grab().save(str(path)), path
            written.append(path)
            if on_each is not None:
                on_each(view, language, path)
            for w in QApplication.topLevelWidgets():
                if isinstance(w, OfferDialog):
                    w.close_offer()  # closing a ringing dialog means "decline": not here
                if isinstance(w, InviteDialog):
                    w.invite = None
                w.close()
                w.deleteLater()
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
            gc.collect()  # in this thread: see tests/qt_loop.delete_widgets
    return written


if __name__ == "__main__":
    for p in render_all(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")):
        print(p)
