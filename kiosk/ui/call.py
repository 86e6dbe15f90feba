"""The call screen: the specialist large, the resident small, big controls, a text panel, who is listening.
While the resident shows a document (「書類を見せる」), the document is large and the specialist small."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QBoxLayout, QFrame, QGridLayout, QHBoxLayout, QLineEdit, QListWidget, QVBoxLayout, QWidget

from kiosk.ui.keyboard import TextKeyboard
from kiosk.ui.pages import Page
from kiosk.ui.port import UiContext
from kiosk.ui.theme import Metrics
from kiosk.ui.widgets import Button, Label
from signaling.protocol.models import Participant
from signaling.qt.pdf import PdfPageView
from signaling.qt.video import VideoView

QUICK = ["call.quick.yes", "call.quick.no", "call.quick.again", "call.quick.slowly", "call.quick.write",
         "call.quick.understood"]
ANNOUNCED_ROLES = ("supervisor", "third_party", "guest")
BANNER_S = 8
FRAME_TICK_MS = 66  # the views take the latest frames 15 times a second (the call's video rate)
SELF_VIEW_FPS = 5  # the resident's own small picture (bench/kiosk_cost.py: each frame of it costs a repaint)
SELF_VIEW_EVERY = max(1, round(1000 / FRAME_TICK_MS / SELF_VIEW_FPS))  # ticks per self-view frame


def quality_level(stats: Any) -> str:
    """good / fair / poor from the primary link's stats (loss %, round trip ms, received fps)."""
    if stats is None:
        return "unknown"
    loss = getattr(stats, "loss_pct", None) or 0.0
    rtt = getattr(stats, "rtt_ms", None) or 0.0
    fps = getattr(stats, "fps", None)
    if loss > 8 or rtt > 800 or (fps is not None and fps < 5):
        return "poor"
    if loss > 2 or rtt > 300 or (fps is not None and fps < 10):
        return "fair"
    return "good"


class RemoteVideo(VideoView):
    """The specialist's video with the resident's own small picture in its lower right corner."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.self_view = VideoView("", self)
        self.self_view.setMinimumSize(120, 90)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        w = max(160, self.width() // 4)
        h = w * 3 // 4
        self.self_view.setGeometry(self.width() - w - 12, self.height() - h - 12, w, h)


class CallPage(Page):
    name = "call"
    guest_out_requested = Signal(object)  # a guest Participant the resident wants out of the call

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.box.setContentsMargins(16, 16, 16, 16)
        self.banner = Label("banner", center=True)
        self.banner.setObjectName("call_banner")
        self.banner.hide()
        self.written_note = Label("banner", center=True)  # the call is a written conversation (筆談)
        self.written_note.setObjectName("call_written")
        self.written_note.hide()
        self.video = RemoteVideo()
        self.video.setObjectName("remote_video")
        self.self_view = self.video.self_view
        self.self_view.setObjectName("self_view")

        side = QFrame()
        side.setProperty("role", "panel")
        side_box = QVBoxLayout(side)
        side_box.setContentsMargins(6, 6, 6, 6)
        self.people = Label("small")
        self.people.setObjectName("call_people")
        self.quality = Label("small")
        self.quality.setObjectName("call_quality")
        self.chat_title = Label("", wrap=True)
        self.chat_title.setStyleSheet("font-weight: bold;")
        self.chat = QListWidget()
        self.chat.setObjectName("chat_log")
        self.chat.setWordWrap(True)
        self.chat.setMinimumHeight(60)  # with the keyboard open the log shrinks to a few lines
        self.quick = [Button(kind="phrase") for _ in QUICK]
        quick_grid = QGridLayout()
        for i, b in enumerate(self.quick):
            b.setObjectName(f"quick_{i}")
            b.clicked.connect(lambda _=False, key=QUICK[i]: self._send(self.ctx.t(key)))
            quick_grid.addWidget(b, i // 2, i % 2)
        self.entry = QLineEdit()
        self.entry.setObjectName("chat_entry")
        self.entry.returnPressed.connect(self._send_entry)
        self.send = Button(kind="small")
        self.send.clicked.connect(self._send_entry)
        # the on-screen keyboard (a touch-only kiosk has no other): opens under the call, the picture stays
        self.keyboard = TextKeyboard(self.entry, "chat_kb")
        self.keyboard.setObjectName("chat_keyboard")
        self.keyboard.hide()
        self.keyboard_toggle = Button(kind="small")  # 「文字を打つ」 / 「キーボードを閉じる」
        self.keyboard_toggle.setObjectName("chat_keyboard_toggle")
        self.keyboard_open: bool = False
        self.keyboard_toggle.clicked.connect(lambda: self._show_keyboard(not self.keyboard_open))
        entry_row = QHBoxLayout()
        entry_row.addWidget(self.entry, 1)
        entry_row.addWidget(self.send)
        self.guest_buttons: dict[str, Button] = {}  # guest peer -> 「○○さんに退出してもらう」
        self.guest_box = QVBoxLayout()
        for w in (self.people, self.quality, self.chat_title):
            side_box.addWidget(w)
            if w is self.people:
                side_box.addLayout(self.guest_box)
        side_box.addWidget(self.chat, 1)
        self.quick_area = QWidget()
        self.quick_area.setLayout(quick_grid)
        side_box.addWidget(self.quick_area)
        side_box.addLayout(entry_row)
        self.side = side

        middle = QHBoxLayout()
        self.video_column = QVBoxLayout()
        self.shared = PdfPageView()  # a PDF the specialist shows (hidden until one comes); a tap enlarges it
        self.shared.setObjectName("shared_doc_view")
        self.shared.hide()
        self.shared.tapped.connect(self._toggle_large)
        self.shared_caption = Label("small", center=True)
        self.shared_caption.setObjectName("shared_doc_caption")
        self.shared_caption.hide()
        self.shared_large = False
        self.shared_state: dict[str, Any] = {"open": False}
        self.video_column.addWidget(self.shared_caption)
        self.video_column.addWidget(self.shared, 3)
        self.video_column.addWidget(self.video, 1)
        middle.addLayout(self.video_column, 6)
        middle.addWidget(side, 5)

        self.mute = Button(checkable=True)
        self.mute.setObjectName("call_mute")
        self.camera = Button(checkable=True)
        self.camera.setObjectName("call_camera")
        self.document = Button(kind="primary")  # 「書類を見せる」 / 「カメラに戻す」: the document camera on the call
        self.document.setObjectName("call_document")
        self.document.clicked.connect(self._document)
        self.video_column.addWidget(self.document)  # under the picture it changes, full width
        self.document_note = Label("banner", center=True)  # while the document is shown: where to put the paper
        self.document_note.setObjectName("call_document_note")
        self.document_note.hide()
        self.showing_document = False
        self.document_error = False
        self._shared_data: bytes | None = None
        self.muted_note = Label("bad")
        self.end = Button(kind="danger")
        self.end.setObjectName("call_end")
        self.confirm = Label("title")
        self.end_yes = Button(kind="danger")
        self.end_yes.setObjectName("call_end_yes")
        self.end_no = Button(kind="primary")
        self.mute.toggled.connect(self._mute)
        self.camera.toggled.connect(self._camera)
        self.end.clicked.connect(lambda: self._confirming(True))
        self.end_no.clicked.connect(lambda: self._confirming(False))
        self.end_yes.clicked.connect(self._hang_up)
        # the controls: a row under the call; with the keyboard open, a column beside it (the keyboard takes
        # the height the row had, so the call keeps its banners and the chat)
        bar = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self.bar = bar
        bar.addWidget(self.keyboard_toggle)
        bar.addWidget(self.mute)
        bar.addWidget(self.camera)
        bar.addWidget(self.muted_note)
        bar.addStretch(1)
        bar.addWidget(self.confirm)
        for b in (self.end_no, self.end_yes, self.end):
            bar.addWidget(b)

        self.box.addWidget(self.banner)
        self.box.addWidget(self.written_note)
        self.box.addWidget(self.document_note)
        self.box.addLayout(middle, 1)
        self.lower_box = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self.lower_box.addWidget(self.keyboard, 1)
        self.lower_box.addLayout(bar)
        self.box.addLayout(self.lower_box)

        self._lines: list[tuple[str, str]] = []
        self.participants: list[Participant] = []
        self.level = "unknown"
        self._status_key: str | None = None
        self._frames = QTimer(self)
        self._frames.setInterval(FRAME_TICK_MS)
        self._ticks = 0
        self._frames.timeout.connect(self._paint)
        self._banner_timer = QTimer(self)
        self._banner_timer.setSingleShot(True)
        self._banner_timer.timeout.connect(self._banner_done)
        self._banner_text: tuple[str, dict[str, Any]] | None = None
        self.signal_lost = False
        self.written = False
        self.unmet_needs: list[str] = []
        self._confirming(False)

    # ------------------------------------------------------------ call lifecycle
    def start(self, participants: list[Participant], *, written: bool = False,
              unmet_needs: list[str] | None = None) -> None:
        """``written``: the call opens as a written conversation (asked for, or no signer free): the on-screen
        keyboard is there at once, the cursor in the text box."""
        self.participants = list(participants)
        self.written, self.unmet_needs = written, list(unmet_needs or [])
        self._status_key = "call.connecting"
        self._frames.start()
        if written:
            self._show_keyboard(True)
            self.entry.setFocus()
        else:
            self.retranslate()

    def stop(self) -> None:
        self._frames.stop()
        self.video.clear()
        self.self_view.clear()

    def _paint(self) -> None:
        """Every frame tick (15 a second): the latest frames into the views. The resident's own small picture
        changes at :data:`SELF_VIEW_FPS` (enough to see oneself framed; each of its frames repaints that corner);
        the specialist's video, and the document while it is shown large, at every tick."""
        remote, local = self.ctx.port.remote_frame(), self.ctx.port.local_frame()
        self._ticks += 1
        if self.showing_document:  # the resident sees the paper large, to place it; the specialist in the corner
            self.video.set_frame(local)
            self.self_view.set_frame(remote)
            return
        self.video.set_frame(remote)
        if self._ticks % SELF_VIEW_EVERY == 0 or not self.self_view.has_picture:
            self.self_view.set_frame(local)

    # ------------------------------------------------------------ intents
    def _send(self, text: str) -> None:
        self.ctx.port.send_chat(text)

    def _send_entry(self) -> None:
        text = self.entry.text().strip()
        if text and self.ctx.port.send_chat(text):
            self.entry.clear()

    def _show_keyboard(self, on: bool) -> None:
        """The keyboard takes the lower part of the screen, the controls stand in a column beside it (close
        the keyboard, end the call); what it displaces comes back when it closes: the phrases, who is in the
        call, the connection, the chat's heading, the document button, mute and camera."""
        self.ctx.port.touch()
        self.keyboard_open = on
        if not on:
            self.keyboard.hide()
        self.quick_area.setVisible(not on)
        for w in (self.mute, self.camera):  # back with the row; the muted note says so meanwhile
            w.setVisible(not on)
        self.lower_box.setDirection(QBoxLayout.Direction.LeftToRight if on else QBoxLayout.Direction.TopToBottom)
        self.bar.setDirection(QBoxLayout.Direction.TopToBottom if on else QBoxLayout.Direction.LeftToRight)
        self.retranslate()  # what makes room is hidden before the keyboard shows: the screen never outgrows itself
        if on:
            self.keyboard.show()
        if on:
            self.entry.setFocus()

    def _mute(self, muted: bool) -> None:
        self.ctx.port.set_muted(muted)
        self.retranslate()

    def _camera(self, off: bool) -> None:
        self.ctx.port.set_camera(not off)
        self.retranslate()

    def _document(self) -> None:
        """The button asks; the controller's ``document`` event (:meth:`set_document`) says what happened."""
        self.document.setEnabled(False)
        coro = self.ctx.port.stop_document() if self.showing_document else self.ctx.port.show_document()
        self.ctx.run(coro, lambda _r: self.document.setEnabled(True))

    # ------------------------------------------------------------ a PDF the specialist shows
    def set_shared(self, state: dict[str, Any], data: bytes | None) -> None:
        """``shared_doc`` from the controller: open (a new PDF or another page) or closed."""
        opened = bool(state.get("open"))
        if opened and (not self.shared_state.get("open") or state.get("pages") != self.shared_state.get("pages")
                       or self.shared.pdf is None or data is not self._shared_data):
            self.shared.load(data)
            self._shared_data = data
        if not opened:
            self.shared.load(None)
            self._shared_data = None
            self.shared_large = False
        self.shared_state = dict(state)
        self.shared.set_page(int(state.get("page", 0)))
        self._layout_shared()
        self.retranslate()

    def set_shared_pointer(self, data: dict[str, Any]) -> None:
        x, y = data.get("x"), data.get("y")
        if int(data.get("page", -1)) == self.shared.page:
            self.shared.set_pointer((float(x), float(y)) if x is not None and y is not None else None)

    def _toggle_large(self) -> None:
        self.ctx.port.touch()
        self.shared_large = not self.shared_large
        self._layout_shared()
        self.retranslate()

    def _layout_shared(self) -> None:
        opened = bool(self.shared_state.get("open"))
        self.shared.setVisible(opened)
        self.shared_caption.setVisible(opened)
        self.video.setMaximumHeight(220 if opened else 16_777_215)  # the specialist stays in view, small
        self.video.setVisible(not (opened and self.shared_large))
        self.shared.set_fit_width(opened and self.shared_large)
        self.side.setVisible(not (opened and self.shared_large))
        self.document.setVisible(self.ctx.port.document_available and not (opened and self.shared_large))

    def set_document(self, showing: bool, error: str | None = None) -> None:
        self.showing_document = showing
        self.document_error = bool(error) and not showing
        self.document.setEnabled(True)
        self.retranslate()

    def _confirming(self, on: bool) -> None:
        self.ctx.port.touch()
        self.end.setVisible(not on)
        for w in (self.confirm, self.end_yes, self.end_no):
            w.setVisible(on)
        (self.end_no if on else self.end).setFocus()

    def _hang_up(self) -> None:
        self.end_yes.setEnabled(False)
        self.ctx.run(self.ctx.port.hang_up(), lambda _r: self.end_yes.setEnabled(True))

    # ------------------------------------------------------------ events
    def add_chat(self, who: str, text: str) -> None:
        self._lines.append((who, text))
        self._render_chat()

    def _render_chat(self) -> None:
        self.chat.clear()
        for who, text in self._lines:
            label = self.ctx.t("call.chat_me") if who == "me" else self.ctx.t("call.chat_staff")
            self.chat.addItem(f"{label}：{text}" if self.ctx.japanese else f"{label}: {text}")
        self.chat.scrollToBottom()

    def set_participants(self, data: dict[str, Any]) -> None:
        self.participants = list(data.get("participants", []))
        joined: Participant | None = data.get("joined")
        if joined is not None and joined.role in ANNOUNCED_ROLES:
            self.announce("call.joined", who=self._who(joined))
        left = data.get("left")
        if left is not None:
            self.announce("call.left", who=self.ctx.t("call.role.third_party"))
        self.retranslate()

    def set_quality(self, stats: Any) -> None:
        self.level = quality_level(stats)
        self.retranslate()

    def set_status(self, status: str) -> None:
        key = {"connected": "call.connected", "reconnecting": "call.reconnecting", "link_failed": "call.reconnecting",
               "failed": "call.failed"}.get(status)
        if key is None:
            return
        if key == "call.connected":
            self.announce(key)
        else:
            self._status_key = key
            self.retranslate()

    def set_signal_lost(self, lost: bool) -> None:
        self.signal_lost = lost
        self.retranslate()

    def announce(self, key: str, **params: Any) -> None:
        """A transient banner (8 s), then back to any lasting status."""
        self._status_key = None
        self._banner_text = (key, params)
        self._banner_timer.start(BANNER_S * 1000)
        self.retranslate()

    def _banner_done(self) -> None:
        self._banner_text = None
        self.retranslate()

    def _guest_buttons(self, guests: list[Participant]) -> None:
        """One 「○○さんに退出してもらう」 per guest in the call: the resident may take the consent back."""
        for peer in [p for p in self.guest_buttons if p not in {g.peer for g in guests}]:
            self.guest_buttons.pop(peer).deleteLater()
        for g in guests:
            b = self.guest_buttons.get(g.peer)
            if b is None:
                b = Button(kind="small")
                b.setObjectName("call_guest_out")
                b.clicked.connect(lambda _=False, who=g: self.guest_out_requested.emit(who))
                self.guest_buttons[g.peer] = b
                self.guest_box.addWidget(b)
            b.set_text(self.ctx.t("call.guest_out", who=self._who(g)))

    def _who(self, p: Participant) -> str:
        role = self.ctx.t(f"guest.role.{p.guest_role}" if p.role == "guest" else f"call.role.{p.role}")
        return self.ctx.t("call.name_role", role=role, name=p.display_name) if p.display_name else role

    # ------------------------------------------------------------ text
    def retranslate(self) -> None:
        t = self.ctx.t
        others = [p for p in self.participants if p.role != "resident"]
        self.people.setText(t("call.participants", people="、".join(self._who(p) for p in others)
                              if self.ctx.japanese else ", ".join(self._who(p) for p in others)))
        keyboard_open = self.keyboard_open
        self.people.setVisible(bool(others) and not keyboard_open)
        self._guest_buttons([p for p in others if p.role == "guest"])
        for b in self.guest_buttons.values():  # with the people line: back when the keyboard closes
            b.setVisible(not keyboard_open)
        self.quality.setVisible(not keyboard_open)
        self.chat_title.setVisible(not keyboard_open)
        self.quality.setText(t("call.quality", level=t(f"call.quality.{self.level}")))
        self.quality.set_role({"good": "ok", "poor": "bad"}.get(self.level, "small"))
        self.chat_title.setText(t("call.chat_title"))
        self.chat.setAccessibleName(t("call.chat_log"))
        for key, b in zip(QUICK, self.quick, strict=True):
            b.set_text(t(key))
        self.entry.setPlaceholderText(t("call.chat_placeholder"))
        self.entry.setAccessibleName(t("call.chat_placeholder"))
        self.send.set_text(t("call.chat_send"))
        self.keyboard_toggle.set_text(t("call.keyboard_close" if keyboard_open else "call.keyboard_open"))
        self.keyboard.set_layout(self.ctx.keyboard_layout())
        self.keyboard.retranslate(t)
        self.mute.set_text(t("call.unmute") if self.mute.isChecked() else t("call.mute"))
        self.camera.set_text(t("call.camera_on") if self.camera.isChecked() else t("call.camera_off"))
        self.document.set_text(t("call.document_stop") if self.showing_document else t("call.document_show"))
        self.document.setVisible(self.ctx.port.document_available and not keyboard_open
                                 and not (self.shared_state.get("open") and self.shared_large))
        if self.shared_state.get("open"):
            key = "call.shared_caption_large" if self.shared_large else "call.shared_caption"
            self.shared_caption.setText(t(key, page=int(self.shared_state.get("page", 0)) + 1,
                                          pages=int(self.shared_state.get("pages", 0)),
                                          name=self.shared_state.get("name") or t("call.shared_untitled")))
            self.shared.setAccessibleName(self.shared_caption.text())
        self.document_note.setText(t("call.document_error") if self.document_error else t("call.document_note"))
        self.document_note.set_role("alert" if self.document_error else "banner")
        self.document_note.setVisible(self.showing_document or self.document_error)
        self.muted_note.setText(t("call.muted_note"))
        self.muted_note.setVisible(self.mute.isChecked())
        self.end.set_text(t("call.end"))
        self.confirm.setText(t("call.end_confirm"))
        self.end_yes.set_text(t("call.end_yes"))
        self.end_no.set_text(t("call.end_no"))
        self.written_note.setText(t("call.written_unmet" if "sign_language" in self.unmet_needs else "call.written"))
        self.written_note.setVisible(self.written)
        self.video.placeholder = t("call.remote_placeholder")
        self.video.setAccessibleName(t("call.remote_name"))
        self.self_view.placeholder = t("call.self_placeholder")
        self.self_view.setAccessibleName(t("call.self_placeholder"))
        self._render_chat()
        if self._banner_text is not None:
            key, params = self._banner_text
            text, role = t(key, **params), "banner"
        elif self.signal_lost:
            text, role = t("call.signal_lost"), "alert"
        elif self._status_key in ("call.reconnecting", "call.failed"):
            text, role = t(self._status_key), "alert"
        elif self._status_key is not None:
            text, role = t(self._status_key), "banner"
        else:
            text, role = "", "banner"
        self.banner.setText(text)
        self.banner.set_role(role)
        self.banner.setVisible(bool(text))

    def clear(self) -> None:
        self.stop()
        self._lines.clear()
        self.entry.clear()
        self.keyboard.clear()
        self._show_keyboard(False)
        self.participants = []
        self.level = "unknown"
        self._status_key = None
        self._banner_text = None
        self._banner_timer.stop()
        self.signal_lost = False
        self.written, self.unmet_needs = False, []
        self.showing_document = self.document_error = False
        self.set_shared({"open": False}, None)
        self.document.setEnabled(True)
        for b in (self.mute, self.camera):
            b.blockSignals(True)
            b.setChecked(False)
            b.blockSignals(False)
        self.end_yes.setEnabled(True)
        self._confirming(False)
        self.retranslate()

    def apply_metrics(self, m: Metrics) -> None:
        super().apply_metrics(m)
        self.box.setContentsMargins(m.mm(3), m.mm(3), m.mm(3), m.mm(3))

    def focus_order(self) -> list[QWidget]:
        return [self.end, self.end_no, self.end_yes, self.mute, self.camera, self.document, *self.quick, self.entry,
                self.keyboard_toggle, self.send, self.chat]
