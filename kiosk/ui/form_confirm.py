"""書かない窓口 on the kiosk (issue 11 item 4): what the specialist wrote, in large text, over the call screen —
each item's name and what was written — with 「この内容でよい」 and 「なおしてほしい」. 「なおしてほしい」 puts a
「ここがちがう」 toggle beside every item; 「職員に伝える」 sends the marked ones, or, with none marked,
「もう一度説明してほしい」. The logic (and the answer's content hash) is :mod:`kiosk.form_confirm`'s."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QScrollArea, QVBoxLayout, QWidget

from kiosk.ui.overlays import Overlay
from kiosk.ui.port import UiContext
from kiosk.ui.widgets import Button, Label, hbox


class FormRow(QFrame):
    def __init__(self, key: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.setProperty("role", "panel")
        self.setObjectName(f"form_row_{key}")
        lay = QHBoxLayout(self)  # the item's name, then what was written, large, on one line: more items fit
        lay.setContentsMargins(20, 8, 20, 8)
        lay.setSpacing(20)
        self.label = Label("lead")
        self.value = Label("")  # the kiosk's large body text, bold
        self.value.setStyleSheet("font-weight: bold;")
        self.value.setObjectName(f"form_value_{key}")
        self.value.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        lay.addWidget(self.label, 2)
        lay.addWidget(self.value, 5)
        self.wrong = Button(kind="small", checkable=True)
        self.wrong.setObjectName(f"form_wrong_{key}")
        lay.addWidget(self.wrong, 0, Qt.AlignmentFlag.AlignVCenter)


class FormConfirmOverlay(Overlay):
    def __init__(self, ctx: UiContext, parent: QWidget) -> None:
        super().__init__(ctx, parent)
        self.card.setMaximumWidth(1200)
        self.card.box.setContentsMargins(40, 28, 40, 28)
        self.card.box.setSpacing(16)
        self.title = Label("title")
        self.title.setObjectName("form_title")
        self.form_name = Label("lead")
        self.form_name.setObjectName("form_name")
        self.notice = Label("banner", center=True)
        self.notice.setObjectName("form_notice")
        self.scroller = QScrollArea()
        self.scroller.setWidgetResizable(True)
        self.scroller.setFrameShape(QFrame.Shape.NoFrame)
        self.rows_box = QWidget()
        self.rows_lay = QVBoxLayout(self.rows_box)
        self.rows_lay.setContentsMargins(0, 0, 0, 0)
        self.rows_lay.setSpacing(8)
        self.scroller.setWidget(self.rows_box)
        self.ok = Button(kind="primary")
        self.ok.setObjectName("form_ok")
        self.change = Button()
        self.change.setObjectName("form_change")
        self.send_changes = Button(kind="primary")
        self.send_changes.setObjectName("form_send_changes")
        self.back = Button()
        self.back.setObjectName("form_back")
        for w in (self.title, self.form_name, self.notice):
            self.card.box.addWidget(w)
        self.card.box.addWidget(self.scroller, 1)  # the items take what the words and buttons leave
        self.card.box.addLayout(hbox(self.ok, self.change, self.send_changes, self.back, stretch_ends=True))
        self.ok.clicked.connect(lambda: self._answer(True))
        self.change.clicked.connect(lambda: self.set_changing(True))
        self.back.clicked.connect(lambda: self.set_changing(False))
        self.send_changes.clicked.connect(lambda: self._answer(False))
        self.rows: list[FormRow] = []
        self.show_msg: Any = None
        self.changing = False
        self.state = "idle"
        self.notice_key: str | None = None

    # ------------------------------------------------------------ from the controller
    def update_form(self, data: dict[str, Any]) -> None:
        """A ``form`` event: show, re-show (a newer revision, a refusal), or put away."""
        state, show = data.get("state", "idle"), data.get("show")
        self.state = state
        if state in ("idle", "confirmed", "change_sent") or show is None:
            self.dismiss()
            return
        if self.show_msg is None or show.confirmation_id != self.show_msg.confirmation_id \
                or show.revision != self.show_msg.revision:
            self._build(show)
            self.changing = False
        notice = data.get("notice")
        self.notice_key = f"form.{notice}" if notice else ("form.sending" if state == "sending" else None)
        self.retranslate()
        if not self.isVisible():
            self.cover()
            self.ok.setFocus()

    def dismiss(self) -> None:
        self.show_msg = None
        self.changing = False
        self.notice_key = None
        self._clear_rows()
        self.hide()

    def set_changing(self, on: bool) -> None:
        self.changing = on
        if not on:
            for row in self.rows:
                row.wrong.setChecked(False)
        self.retranslate()

    def marked(self) -> list[str]:
        return [r.key for r in self.rows if r.wrong.isChecked()]

    def _answer(self, confirm: bool) -> None:
        self.ctx.run(self.ctx.port.forms.answer(confirm, [] if confirm else self.marked()))

    # ------------------------------------------------------------ layout
    def _clear_rows(self) -> None:
        for row in self.rows:
            self.rows_lay.removeWidget(row)
            row.deleteLater()
        self.rows = []

    def _build(self, show: Any) -> None:
        self._clear_rows()
        self.show_msg = show
        for f in show.content.fields:
            row = FormRow(f.key, self.rows_box)
            row.wrong.toggled.connect(lambda _on: self.retranslate())
            self.rows_lay.addWidget(row)
            self.rows.append(row)
        self.rows_lay.addStretch(1)

    def fit(self) -> None:
        """The card takes the window's whole height: as many items as fit, the rest one swipe away."""
        parent = self.parentWidget()
        if parent is not None:
            self.card.setFixedHeight(max(320, parent.height() - 32))

    def cover(self) -> None:
        self.fit()
        super().cover()

    def show_row(self, key: str) -> None:
        row = next((r for r in self.rows if r.key == key), None)
        if row is not None:  # after the layout has taken in what just changed (the toggles appearing)
            QTimer.singleShot(0, lambda: self.scroller.ensureWidgetVisible(row))

    def retranslate(self) -> None:
        t, en = self.ctx.t, self.ctx.language == "en"
        show = self.show_msg
        self.title.setText(t("form.title"))
        if show is not None:
            c = show.content
            self.form_name.setText(c.title_en if en else c.title_ja)
            for row, f in zip(self.rows, c.fields, strict=False):
                row.label.setText(f.label_en if en else f.label_ja)
                row.value.setText(f.shown_en if en else f.shown_ja)
                row.value.setAccessibleName(f"{row.label.text()}: {row.value.text()}")
                row.wrong.set_text(t("form.wrong_here"))
                row.wrong.setVisible(self.changing)
        sending = self.state == "sending"
        self.notice.setText(t(self.notice_key) if self.notice_key else "")
        self.notice.setVisible(self.notice_key is not None)
        self.notice.set_role("alert" if self.notice_key in ("form.offline", "form.error") else "banner")
        self.form_name.setVisible(not self.changing)
        if self.changing:
            self.form_name.setText(t("form.lead_change"))
            self.form_name.setVisible(True)
        self.ok.set_text(t("form.ok"))
        self.change.set_text(t("form.change"))
        self.send_changes.set_text(t("form.send_changes") if self.marked() else t("form.explain_again"))
        self.back.set_text(t("form.back"))
        for b in (self.ok, self.change):
            b.setVisible(not self.changing)
            b.setEnabled(not sending)
        for b in (self.send_changes, self.back):
            b.setVisible(self.changing)
            b.setEnabled(not sending)
