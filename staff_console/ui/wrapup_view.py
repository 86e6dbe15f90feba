"""After the call: the consultation record must be completed (a category at least) before the next offer."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from staff_console.ui.case_box import CaseBox
from staff_console.ui.note_form import NoteForm
from staff_console.ui.text import Texts


class WrapUpView(QWidget):
    finish = Signal()

    def __init__(self, texts: Texts, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.texts = texts
        self.wrapup: Any = None
        self.participant_names: dict[str, str] = {}
        self.heading = QLabel()
        self.heading.setObjectName("title")
        self.hint = QLabel()
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.form = NoteForm(texts)
        self.form_box = QGroupBox()
        fl = QVBoxLayout(self.form_box)
        fl.addWidget(self.form)
        self.case_box = CaseBox(texts)
        fl.addWidget(self.case_box)
        self.chat_box = QGroupBox()
        self.chat = QListWidget()
        self.chat.setWordWrap(True)
        cl = QVBoxLayout(self.chat_box)
        cl.addWidget(self.chat)
        self.finish_btn = QPushButton()
        self.finish_btn.setObjectName("primary")
        self.finish_btn.clicked.connect(self.finish.emit)
        self.after = QLabel()
        self.after.setObjectName("hint")

        body = QHBoxLayout()
        body.addWidget(self.form_box, 3)
        body.addWidget(self.chat_box, 2)
        inner = QWidget()
        lay = QVBoxLayout(inner)
        lay.setContentsMargins(16, 12, 16, 12)
        lay.addWidget(self.heading)
        lay.addWidget(self.hint)
        lay.addWidget(self.summary)
        lay.addLayout(body, 1)
        row = QHBoxLayout()
        row.addWidget(self.after, 1)
        row.addWidget(self.finish_btn)
        lay.addLayout(row)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.retranslate()

    def show_wrapup(self, wrapup: Any, draft: Any, names: dict[str, str], my_name: str = "") -> None:
        self.wrapup, self.participant_names = wrapup, dict(names)
        self.form.my_name = my_name
        self.form.load(draft)
        self.form.show_problems([])
        self.case_box.set_case(getattr(wrapup, "case_number", None))
        self._render()

    def set_away_after(self, reason: str | None) -> None:
        self.after.setText(self.texts.t("wrapup.then_away", reason=self.texts.reason(reason)) if reason
                           else self.texts.t("wrapup.then_available"))

    def _render(self) -> None:
        t, w = self.texts, self.wrapup
        if w is None:
            return
        self.summary.setText(t.t("wrapup.summary", service=t.service(w.service_code),
                                 where=t.where(w.branch, w.municipality), talk=t.duration(w.talk_s),
                                 reason=t.end_reason(w.end_reason, w.media_error)))
        self.chat.clear()
        for line in w.chat:
            who = t.t("chat.me") if line.who == "me" else self.participant_names.get(line.who, line.who)
            self.chat.addItem(f"{who}: {line.text}")
        self.chat_box.setVisible(bool(w.chat))

    def retranslate(self) -> None:
        t = self.texts
        self.heading.setText(t.t("wrapup.heading"))
        self.hint.setText(t.t("wrapup.hint"))
        self.form_box.setTitle(t.t("wrapup.record"))
        self.chat_box.setTitle(t.t("wrapup.chat"))
        self.finish_btn.setText(t.t("wrapup.finish"))
        self.form.retranslate()
        self.case_box.retranslate()
        self._render()
