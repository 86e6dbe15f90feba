"""The call: the resident's video large, self-view and other participants small, chat and the note draft
beside it, controls below (what they are depends on my role: specialist, third party or supervisor). While the
resident shows a document, the document panel (:mod:`staff_console.ui.document_panel`) sits under the video:
zoom, stills, attaching one to the record; a still chosen there replaces the live video until 「ライブ映像」."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from signaling.protocol.models import Participant
from signaling.qt.video import VideoView
from staff_console.ui.case_box import CaseBox
from staff_console.ui.document_panel import DocumentPanel
from staff_console.ui.form_panel import FormPanel
from staff_console.ui.guest_dialog import GuestLobbyPanel
from staff_console.ui.note_form import NoteForm
from staff_console.ui.shared_doc_panel import SharedDocPanel
from staff_console.ui.text import Texts

RTT_WARN_MS, LOSS_WARN_PCT, FPS_WARN = 300.0, 3.0, 8.0
FORM_TAB = 3  # the side's tabs: chat, record, the PDF shown, the form to confirm


class CallView(QWidget):
    hang_up = Signal()
    mute_toggled = Signal(bool)
    camera_toggled = Signal(bool)
    whisper_toggled = Signal(bool)
    transfer_clicked = Signal()
    invite_clicked = Signal()
    guest_clicked = Signal()
    chat_sent = Signal(str)
    take_still = Signal()
    attach_still = Signal(object)
    share_clicked = Signal()

    def __init__(self, texts: Texts, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.texts = texts
        self.role = "specialist"
        self.me = ""
        self.call: Any = None
        self.participants: list[Participant] = []
        self.stats: Any = None
        self.media_state = "connecting"
        self.invited: dict[int, str] = {}
        self.whisper_on = False
        self.whisper_from: str | None = None

        # --- top: what, where, time, quality, who
        self.what = QLabel()
        self.what.setObjectName("title")
        self.what.setWordWrap(True)
        self.where = QLabel()
        self.where.setObjectName("sub")
        self.timer = QLabel("0:00")
        self.timer.setObjectName("timer")
        self.quality = QLabel()
        self.quality.setObjectName("quality")
        self.people = QLabel()
        self.people.setWordWrap(True)
        self.whisper_banner = QLabel()
        self.whisper_banner.setObjectName("whisper")
        self.whisper_banner.setWordWrap(True)
        self.whisper_banner.hide()
        self.needs_banner = QLabel()  # written conversation (筆談) asked for, or a required skill missing
        self.needs_banner.setObjectName("needs_banner")
        self.needs_banner.setWordWrap(True)
        self.needs_banner.hide()
        top = QHBoxLayout()
        info = QVBoxLayout()
        info.addWidget(self.what)
        info.addWidget(self.where)
        top.addLayout(info, 1)
        right = QVBoxLayout()
        right.addWidget(self.timer, 0, Qt.AlignmentFlag.AlignRight)
        right.addWidget(self.quality, 0, Qt.AlignmentFlag.AlignRight)
        top.addLayout(right)

        # --- videos
        self.remote = VideoView()
        self.remote.setMinimumSize(320, 240)
        self.self_view = VideoView()
        self.self_view.setFixedSize(200, 150)
        self.self_label = QLabel()
        self.self_label.setObjectName("hint")
        self.tiles_box = QVBoxLayout()
        self.tiles: dict[str, tuple[QLabel, VideoView]] = {}
        side_videos = QVBoxLayout()
        side_videos.addWidget(self.self_view)
        side_videos.addWidget(self.self_label)
        side_videos.addLayout(self.tiles_box)
        side_videos.addStretch(1)
        videos = QHBoxLayout()
        videos.addWidget(self.remote, 1)
        videos.addLayout(side_videos)
        self.documents = DocumentPanel(texts)
        self.documents.hide()
        self.documents.take_still.connect(self.take_still.emit)
        self.documents.attach.connect(self.attach_still.emit)
        self.documents.zoom_changed.connect(self.remote.set_zoom)
        self.documents.view_still.connect(self._view_still)
        self.remote.zoom_changed.connect(lambda z: self.documents.zoom.setValue(round(z * 100)))
        self.still_shown: Any = None  # a StillEntry shown instead of the live video
        video_col = QVBoxLayout()
        video_col.setContentsMargins(0, 0, 0, 0)
        video_col.addLayout(videos, 1)
        video_col.addWidget(self.documents)
        self.sharing = SharedDocPanel(texts)  # a PDF shown on the kiosk: a tab beside the chat (room to point)
        video_box = QWidget()
        video_box.setLayout(video_col)

        # --- side: chat / note
        self.chat_list = QListWidget()
        self.chat_list.setWordWrap(True)
        self.chat_input = QLineEdit()
        self.chat_input.returnPressed.connect(self._send_chat)
        self.send_btn = QPushButton()
        self.send_btn.clicked.connect(self._send_chat)
        self.chat_hint = QLabel()
        self.chat_hint.setObjectName("hint")
        self.chat_hint.setWordWrap(True)
        chat = QWidget()
        cl = QVBoxLayout(chat)
        cl.addWidget(self.chat_list, 1)
        row = QHBoxLayout()
        row.addWidget(self.chat_input, 1)
        row.addWidget(self.send_btn)
        cl.addLayout(row)
        cl.addWidget(self.chat_hint)
        self.note_form = NoteForm(texts, compact=True)
        note_page = QWidget()
        nl = QVBoxLayout(note_page)
        nl.addWidget(self.note_form)
        self.case_box = CaseBox(texts)
        self.case_box.can_print = True  # in the call: the card prints at the resident's branch
        nl.addWidget(self.case_box)
        nl.addStretch(1)
        self.side = QTabWidget()
        self.side.addTab(chat, "")
        note_scroll = QScrollArea()  # the record and the case box may be taller than the side panel
        note_scroll.setWidgetResizable(True)
        note_scroll.setFrameShape(QFrame.Shape.NoFrame)
        note_scroll.setWidget(note_page)
        self.side.addTab(note_scroll, "")
        self.side.addTab(self.sharing, "")
        self.side.setTabVisible(2, False)
        self.form_panel = FormPanel(texts)  # 確認票: a form the resident confirms on the kiosk (specialist only)
        self.side.addTab(self.form_panel, "")
        self.side.setTabVisible(FORM_TAB, False)
        self.side.setMinimumWidth(300)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(video_box)
        split.addWidget(self.side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)

        # --- controls
        self.mute_btn = QPushButton()
        self.mute_btn.setCheckable(True)
        self.mute_btn.toggled.connect(self._mute)
        self.camera_btn = QPushButton()
        self.camera_btn.setCheckable(True)
        self.camera_btn.toggled.connect(self._camera)
        self.whisper_btn = QPushButton()
        self.whisper_btn.setObjectName("whisperBtn")
        self.whisper_btn.setCheckable(True)
        self.whisper_btn.toggled.connect(self._whisper)
        self.transfer_btn = QPushButton()
        self.transfer_btn.clicked.connect(self.transfer_clicked.emit)
        self.invite_btn = QPushButton()
        self.invite_btn.clicked.connect(self.invite_clicked.emit)
        self.share_btn = QPushButton()
        self.share_btn.setObjectName("share_btn")
        self.share_btn.clicked.connect(self.share_clicked.emit)
        self.guest_btn = QPushButton()
        self.guest_btn.setObjectName("guest_btn")
        self.guest_btn.clicked.connect(self.guest_clicked.emit)
        self.guests = GuestLobbyPanel(texts)  # guests by link on their way in (lobby, resident's consent)
        self.guests.hide()
        self.end_btn = QPushButton()
        self.end_btn.setObjectName("danger")
        self.end_btn.clicked.connect(self.hang_up.emit)
        self.invite_state = QLabel()
        self.invite_state.setObjectName("hint")
        controls = QHBoxLayout()
        for b in (self.mute_btn, self.camera_btn, self.whisper_btn, self.transfer_btn, self.invite_btn,
                  self.guest_btn, self.share_btn):
            controls.addWidget(b)
        controls.addWidget(self.invite_state, 1)
        controls.addWidget(self.end_btn)
        bar = QFrame()
        bar.setLayout(controls)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 10, 12, 10)
        lay.addLayout(top)
        lay.addWidget(self.people)
        lay.addWidget(self.whisper_banner)
        lay.addWidget(self.needs_banner)
        lay.addWidget(self.guests)
        lay.addWidget(split, 1)
        lay.addWidget(bar)
        self.retranslate()

    # ------------------------------------------------------------ state in
    def start(self, call: Any, my_name: str = "") -> None:
        self.call, self.role, self.me = call, call.role, call.me
        self.participants = list(call.participants)
        self.stats, self.media_state, self.invited = None, "connecting", {}
        self.whisper_on, self.whisper_from = False, None
        for b in (self.mute_btn, self.camera_btn, self.whisper_btn):
            b.blockSignals(True)
            b.setChecked(False)
            b.blockSignals(False)
        self.chat_list.clear()
        for line in call.chat:
            self.add_chat(line.who, line.text, line.private)
        self.remote.clear()
        self.self_view.clear()
        self.still_shown = None
        self.remote.zoomable = False
        self.documents.can_take = call.role == "specialist"
        self.documents.reset()
        self.sharing.reset()
        self.side.setTabVisible(2, False)
        for label, view in self.tiles.values():
            label.deleteLater()
            view.deleteLater()
        self.tiles.clear()
        self.note_form.my_name = my_name
        self.case_box.set_case(getattr(call, "case_number", None))
        self.side.setTabVisible(1, self.role == "specialist")
        self.side.setTabVisible(FORM_TAB, self.role == "specialist")
        self.form_panel.set_forms([], {})
        self.side.setCurrentIndex(0)
        if getattr(call, "written", False):  # written conversation: the chat is where the call begins
            self.chat_input.setFocus()
        self._render()

    def set_participants(self, participants: list[Participant]) -> None:
        self.participants = list(participants)
        peers = {p.peer for p in participants}
        for peer in [p for p in self.tiles if p not in peers]:
            label, view = self.tiles.pop(peer)
            label.deleteLater()
            view.deleteLater()
        self._render()

    def set_quality(self, stats: Any) -> None:
        self.stats = stats
        self._render_quality()

    def set_media_state(self, state: str) -> None:
        self.media_state = state
        self._render_quality()

    def set_invited(self, invited: dict[int, str]) -> None:
        self.invited = dict(invited)
        self._render_invites()

    def set_whisper(self, on: bool, mine: bool, peer: str | None = None) -> None:
        if mine:
            self.whisper_on = on
            self.whisper_btn.blockSignals(True)
            self.whisper_btn.setChecked(on)
            self.whisper_btn.blockSignals(False)
            self.whisper_btn.setText(self.texts.t("call.whisper_stop") if on else self.texts.t("call.whisper"))
        else:
            self.whisper_from = peer if on else None
        self._render_whisper()

    def set_elapsed(self, seconds: float) -> None:
        self.timer.setText(self.texts.duration(seconds))

    def set_frames(self, frames: dict[str, Any], local: Any) -> None:
        primary = self._peer_of("resident")
        for peer, frame in frames.items():
            if frame is None:
                continue
            if peer == primary:
                if self.still_shown is None:
                    self.remote.set_frame(frame)
            elif self._role_of(peer) != "supervisor":
                self._tile(peer).set_frame(frame)
        if local is not None:
            self.self_view.set_frame(local)

    def set_document(self, showing: bool, size: tuple[int, int] | None) -> None:
        """The resident's video now carries the document camera (zoomable), or the face again."""
        self.documents.set_showing(showing, size)
        self.remote.zoomable = showing or self.still_shown is not None
        if not showing and self.still_shown is None:
            self.remote.set_zoom(1.0)

    def set_print(self, data: dict[str, Any]) -> None:
        """A print at the branch (``print``): its progress and result, on the document tab."""
        self.sharing.set_print(data)
        self.side.setTabVisible(2, self.sharing.active)
        self.side.setCurrentIndex(2)

    def set_shared(self, data: dict[str, Any], pdf: bytes | None) -> None:
        """The PDF shown on the kiosk (``shared_doc``): while it is, the resident's video gets smaller."""
        self.sharing.set_state(data, pdf)
        active = self.sharing.active
        self.side.setTabVisible(2, active)
        if active and data.get("state") in ("sending", "shown", "error"):
            self.side.setCurrentIndex(2)

    def _view_still(self, entry: Any) -> None:
        self.still_shown = entry
        if entry is not None:
            self.remote.set_image(QImage.fromData(entry.data))
        self.remote.zoomable = entry is not None or self.documents.showing
        self.remote.set_zoom(self.documents.zoom.value() / 100)

    def add_chat(self, who: str, text: str, private: bool = False) -> None:
        t = self.texts
        name = t.t("chat.me") if who == "me" else self._name(who)
        label = f"{name}{t.t('chat.private') if private else ''}: {text}"
        item = QListWidgetItem(label)
        if private:
            item.setForeground(Qt.GlobalColor.darkMagenta)
        elif who == "me":
            item.setForeground(Qt.GlobalColor.darkBlue)
        self.chat_list.addItem(item)
        self.chat_list.scrollToBottom()

    # ------------------------------------------------------------ render
    def _peer_of(self, role: str) -> str | None:
        return next((p.peer for p in self.participants if p.role == role), None)

    def _role_of(self, peer: str) -> str | None:
        return next((p.role for p in self.participants if p.peer == peer), None)

    def _name(self, peer: str) -> str:
        p = next((x for x in self.participants if x.peer == peer), None)
        if p is None:
            return peer
        if p.role == "resident":
            return self.texts.t("role.resident")
        if p.role == "guest" and p.guest_role:
            return self.texts.t("guest.who", name=p.display_name, role=self.texts.t(f"guest.role.{p.guest_role}"))
        return p.display_name or self.texts.role(p.role)

    def _tile(self, peer: str) -> VideoView:
        if peer not in self.tiles:
            label = QLabel(self._name(peer))
            label.setObjectName("hint")
            view = VideoView()
            view.setFixedSize(200, 150)
            self.tiles_box.addWidget(view)
            self.tiles_box.addWidget(label)
            self.tiles[peer] = (label, view)
        return self.tiles[peer][1]

    def _render(self) -> None:
        t, c = self.texts, self.call
        if c is None:
            return
        self.what.setText(t.service(c.service_code))
        needs = t.t("call.needs", needs=t.needs(c.needs)) if c.needs else ""
        lang = t.t("call.language", language=t.language_name(c.language)) if c.language != "ja" else ""
        self.where.setText("  ".join(x for x in (t.where(c.branch, c.municipality), needs, lang) if x))
        if c.unmet_needs:
            self.needs_banner.setText(t.t("call.unmet", needs=t.needs(c.unmet_needs)))
        elif c.written:
            self.needs_banner.setText(t.t("call.written"))
        self.needs_banner.setVisible(bool(c.unmet_needs) or c.written)
        parts = []
        for p in self.participants:
            if p.role == "resident":
                parts.append(t.t("role.resident"))
                continue
            key = "call.person_you" if p.peer == self.me else "call.person"
            role = t.t(f"guest.role.{p.guest_role}") if p.role == "guest" and p.guest_role else t.role(p.role)
            parts.append(t.t(key, name=p.display_name or role, role=role))
        self.people.setText(t.t("call.participants", people=t.t("sep").join(parts)))
        for peer, (tile_label, _view) in self.tiles.items():
            tile_label.setText(self._name(peer))
        specialist, supervisor = self.role == "specialist", self.role == "supervisor"
        self.mute_btn.setVisible(not supervisor)
        self.camera_btn.setVisible(not supervisor)
        self.whisper_btn.setVisible(supervisor)
        self.transfer_btn.setVisible(specialist)
        self.invite_btn.setVisible(specialist)
        self.guest_btn.setVisible(specialist)
        self.share_btn.setVisible(specialist)
        self.self_view.setVisible(not supervisor)
        self.self_label.setVisible(not supervisor)
        self.end_btn.setText(t.t("call.end") if specialist else t.t("call.leave"))
        self.chat_hint.setText(t.t("chat.hint_supervisor") if supervisor else t.t("chat.hint"))
        self._render_quality()
        self._render_invites()
        self._render_whisper()

    def _render_quality(self) -> None:
        t, s = self.texts, self.stats
        if self.media_state in ("reconnecting", "failed", "link_failed"):
            self.quality.setText(f"<span style='color:#b00020'>{t.t('call.media.' + self.media_state)}</span>")
            return
        if s is None:
            self.quality.setText(t.t("call.media.connecting") if self.media_state == "connecting" else "")
            return
        rtt = f"{s.rtt_ms:.0f} ms" if s.rtt_ms is not None else "–"
        loss = f"{s.loss_pct:.1f} %" if s.loss_pct is not None else "–"
        fps = f"{s.fps:.0f}" if s.fps is not None else "–"
        bad = ((s.rtt_ms or 0) > RTT_WARN_MS or (s.loss_pct or 0) > LOSS_WARN_PCT
               or (s.fps is not None and s.fps < FPS_WARN))
        dot = "#b35900" if bad else "#1b7f3b"
        self.quality.setText(f"<span style='color:{dot}'>●</span> "
                             + t.t("call.quality", rtt=rtt, loss=loss, fps=fps))

    def _render_invites(self) -> None:
        names = self.texts.t("sep").join(self.invited.values())
        self.invite_state.setText(self.texts.t("call.inviting", names=names) if self.invited else "")

    def _render_whisper(self) -> None:
        t = self.texts
        if self.role == "supervisor":
            self.whisper_banner.setText(t.t("call.whisper_on") if self.whisper_on else t.t("call.listening"))
            self.whisper_banner.show()
        elif self.whisper_from is not None:
            self.whisper_banner.setText(t.t("call.whisper_from", name=self._name(self.whisper_from)))
            self.whisper_banner.show()
        else:
            self.whisper_banner.hide()

    def retranslate(self) -> None:
        t = self.texts
        self.remote.placeholder = t.t("call.waiting_video")
        self.self_view.placeholder = t.t("call.self")
        self.self_label.setText(t.t("call.self"))
        self.send_btn.setText(t.t("chat.send"))
        self.chat_input.setPlaceholderText(t.t("chat.placeholder"))
        self.side.setTabText(0, t.t("call.tab_chat"))
        self.side.setTabText(1, t.t("call.tab_note"))
        self.side.setTabText(2, t.t("share.tab"))
        self.side.setTabText(FORM_TAB, t.t("forms.tab"))
        self.mute_btn.setText(t.t("call.unmute") if self.mute_btn.isChecked() else t.t("call.mute"))
        self.camera_btn.setText(t.t("call.camera_on") if self.camera_btn.isChecked() else t.t("call.camera_off"))
        self.whisper_btn.setText(t.t("call.whisper_stop") if self.whisper_btn.isChecked() else t.t("call.whisper"))
        self.transfer_btn.setText(t.t("call.transfer"))
        self.invite_btn.setText(t.t("call.invite"))
        self.guest_btn.setText(t.t("call.invite_guest"))
        self.share_btn.setText(t.t("share.button"))
        self.sharing.retranslate()
        self.form_panel.retranslate()
        self.guests.retranslate()
        self.documents.retranslate()
        self.note_form.retranslate()
        self.case_box.retranslate()
        self._render()

    # ------------------------------------------------------------ intents out
    def _send_chat(self) -> None:
        text = self.chat_input.text().strip()
        if text:
            self.chat_input.clear()
            self.chat_sent.emit(text)

    def _mute(self, on: bool) -> None:
        self.retranslate()
        self.mute_toggled.emit(on)

    def _camera(self, off: bool) -> None:
        self.retranslate()
        self.camera_toggled.emit(not off)

    def _whisper(self, on: bool) -> None:
        self.retranslate()
        self.whisper_toggled.emit(on)
