"""The callback list (折り返し電話): the tasks of this account's municipality and services, earliest band first,
with the number to call. A specialist claims one (one console wins), calls, and records how it went; an
unanswered call puts the task back for another try. The panel only emits what was asked (``claim_requested``,
``outcome_requested``); the window hands it to the controller."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from signaling.protocol.models import CallbackItem
from staff_console.callbacks import OUTCOMES
from staff_console.ui.models import CallbackModel
from staff_console.ui.queue_panel import _table
from staff_console.ui.text import Texts

NOTE_MAX = 200


class CallbackPanel(QWidget):
    claim_requested = Signal(int)             # callback id
    outcome_requested = Signal(int, str, str)  # callback id, outcome, note

    def __init__(self, texts: Texts, model: CallbackModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.texts, self.model = texts, model
        self.title = QLabel()
        self.title.setObjectName("title")
        self.hint = QLabel()
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        self.view = _table(model)
        self.view.setObjectName("callback_table")
        self.empty = QLabel()
        self.empty.setObjectName("hint")
        self.claim_btn = QPushButton()
        self.claim_btn.setObjectName("primary")
        self.claim_btn.clicked.connect(self._claim)
        self.outcome_label = QLabel()
        self.outcome_box = QComboBox()
        self.outcome_box.setObjectName("callback_outcome")
        for outcome in OUTCOMES:
            self.outcome_box.addItem("", outcome)
        self.note = QLineEdit()
        self.note.setObjectName("callback_note")
        self.note.setMaxLength(NOTE_MAX)
        self.record_btn = QPushButton()
        self.record_btn.setObjectName("callback_record")
        self.record_btn.clicked.connect(self._record)
        self.outcome_row = QWidget()
        orow = QHBoxLayout(self.outcome_row)
        orow.setContentsMargins(0, 0, 0, 0)
        orow.addWidget(self.outcome_label)
        orow.addWidget(self.outcome_box)
        orow.addWidget(self.note, 1)
        orow.addWidget(self.record_btn)
        self._kept: int | None = None
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._update())
        model.modelAboutToBeReset.connect(self._keep)
        model.modelReset.connect(self._restore)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 12, 12, 12)
        lay.addWidget(self.title)
        lay.addWidget(self.hint)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.empty)
        row = QHBoxLayout()
        row.addWidget(self.claim_btn)
        row.addStretch(1)
        lay.addLayout(row)
        lay.addWidget(self.outcome_row)
        self.retranslate()

    def selected(self) -> CallbackItem | None:
        rows = self.view.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.model.items):
            return None
        return self.model.items[rows[0].row()]

    def select(self, callback_id: int) -> bool:
        for row, it in enumerate(self.model.items):
            if it.callback_id == callback_id:
                self.view.selectRow(row)
                return True
        return False

    def _keep(self) -> None:
        sel = self.selected()
        self._kept = sel.callback_id if sel is not None else None

    def _restore(self) -> None:
        if self._kept is not None:
            self.select(self._kept)
        self._update()
        self._render_counts()

    def _update(self) -> None:
        sel = self.selected()
        mine = sel is not None and sel.state == "claimed" and sel.claimed_by == self.model.my_id()
        self.claim_btn.setEnabled(sel is not None and sel.state == "open")
        self.outcome_row.setEnabled(mine)

    def _claim(self) -> None:
        sel = self.selected()
        if sel is not None:
            self.claim_requested.emit(sel.callback_id)

    def _record(self) -> None:
        sel = self.selected()
        outcome = self.outcome_box.currentData()
        if sel is not None and outcome is not None:
            self.outcome_requested.emit(sel.callback_id, str(outcome), self.note.text())
            self.note.clear()

    def _render_counts(self) -> None:
        n = self.model.rowCount()
        self.title.setText(self.texts.t("callback.title", n=n))
        self.empty.setText(self.texts.t("callback.empty") if n == 0 else "")
        self.empty.setVisible(n == 0)

    def retranslate(self) -> None:
        t = self.texts
        self.hint.setText(t.t("callback.hint"))
        self.claim_btn.setText(t.t("callback.claim"))
        self.outcome_label.setText(t.t("callback.outcome_label"))
        for i in range(self.outcome_box.count()):
            self.outcome_box.setItemText(i, t.t(f"callback.outcome.{self.outcome_box.itemData(i)}"))
        self.note.setPlaceholderText(t.t("callback.note_placeholder"))
        self.record_btn.setText(t.t("callback.record"))
        self.model.retranslate()
        self._render_counts()
        self._update()
