"""The consultation record: category (required), summary, follow-up and by whom, referral, sharing.

Used twice with one draft: beside the video during the call, and as the wrap-up form after it.
Every edit is emitted (``changed``) so the controller holds the draft, not the widget.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from staff_console.ui.text import Texts
from staff_console.vocab import NOTE_CATEGORIES, REFERRAL_ORG_JA, REFERRAL_ORGS


class NoteForm(QWidget):
    changed = Signal(dict)

    def __init__(self, texts: Texts, parent: QWidget | None = None, compact: bool = False) -> None:
        super().__init__(parent)
        self.texts = texts
        self.my_name = ""
        self._loading = False
        self.category = QComboBox()
        self.category.setEditable(True)
        self.category.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.summary = QPlainTextEdit()
        self.summary.setMinimumHeight(80 if compact else 140)
        self.follow_up = QCheckBox()
        self.follow_up_by = QLineEdit()
        self.me_btn = QPushButton()
        self.referral = QComboBox()
        self.referral.setEditable(True)
        self.referral.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.shared = QCheckBox()
        self.shared_hint = QLabel()
        self.shared_hint.setObjectName("hint")
        self.shared_hint.setWordWrap(True)
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.hide()

        self.category_label, self.summary_label = QLabel(), QLabel()
        self.follow_label, self.referral_label = QLabel(), QLabel()
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow(self.category_label, self.category)
        form.addRow(self.summary_label, self.summary)
        fu = QHBoxLayout()
        fu.addWidget(self.follow_up)
        fu.addWidget(self.follow_up_by, 1)
        fu.addWidget(self.me_btn)
        form.addRow(self.follow_label, fu)
        form.addRow(self.referral_label, self.referral)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(form)
        lay.addWidget(self.shared)
        lay.addWidget(self.shared_hint)
        lay.addWidget(self.error)

        self.category.currentTextChanged.connect(self._emit)
        self.summary.textChanged.connect(self._emit)
        self.follow_up.toggled.connect(self._follow_toggled)
        self.follow_up_by.textChanged.connect(self._emit)
        self.me_btn.clicked.connect(lambda: self.follow_up_by.setText(self.my_name))
        self.referral.currentTextChanged.connect(self._emit)
        self.shared.toggled.connect(self._emit)
        self.retranslate()
        self._follow_toggled(False)

    # ------------------------------------------------------------ values
    def category_value(self) -> str:
        """A listed category is stored as its code; anything typed is stored as typed."""
        text = self.category.currentText().strip()
        idx = self.category.findText(text)
        return str(self.category.itemData(idx)) if idx >= 0 and self.category.itemData(idx) else text

    def referral_value(self) -> str:
        text = self.referral.currentText().strip()
        idx = self.referral.findText(text)
        return str(self.referral.itemData(idx)) if idx >= 0 and self.referral.itemData(idx) else text

    def values(self) -> dict[str, Any]:
        return {"category": self.category_value(), "summary": self.summary.toPlainText(),
                "follow_up": self.follow_up.isChecked(), "follow_up_by": self.follow_up_by.text(),
                "referral_org": self.referral_value(), "shared": self.shared.isChecked()}

    def load(self, draft: Any) -> None:
        """Show a draft (anything with the NoteDraft fields) without echoing it back."""
        self._loading = True
        try:
            self._set_combo(self.category, draft.category)
            if self.summary.toPlainText() != draft.summary:
                self.summary.setPlainText(draft.summary)
            self.follow_up.setChecked(bool(draft.follow_up))
            self.follow_up_by.setText(draft.follow_up_by)
            self._set_combo(self.referral, draft.referral_org)
            self.shared.setChecked(bool(draft.shared))
            self._follow_toggled(bool(draft.follow_up), emit=False)
        finally:
            self._loading = False

    @staticmethod
    def _set_combo(box: QComboBox, value: str) -> None:
        idx = box.findData(value) if value else -1
        if idx >= 0:
            box.setCurrentIndex(idx)
        else:
            box.setCurrentIndex(-1)
            box.setEditText(value)

    def show_problems(self, missing: list[str]) -> None:
        t = self.texts
        if not missing:
            self.error.hide()
            self.category.setStyleSheet("")
            self.follow_up_by.setStyleSheet("")
            return
        self.error.setText("\n".join(t.t(f"note.missing.{m}") for m in missing))
        self.error.show()
        red = "border: 2px solid #b00020; border-radius: 4px;"
        self.category.setStyleSheet(red if "category" in missing else "")
        self.follow_up_by.setStyleSheet(red if "follow_up_by" in missing else "")
        (self.category if "category" in missing else self.follow_up_by).setFocus()

    # ------------------------------------------------------------ events
    def _follow_toggled(self, on: bool, emit: bool = True) -> None:
        self.follow_up_by.setEnabled(on)
        self.me_btn.setEnabled(on)
        if emit:
            self._emit()

    def _emit(self, *_: Any) -> None:
        if not self._loading:
            if self.error.isVisible() and self.category_value():
                self.show_problems([])
            self.changed.emit(self.values())

    def retranslate(self) -> None:
        t = self.texts
        values = self.values()
        self._loading = True
        try:
            self.category.clear()
            for code in NOTE_CATEGORIES:
                self.category.addItem(t.category(code), code)
            edit = self.category.lineEdit()
            if edit is not None:
                edit.setPlaceholderText(t.t("note.category_placeholder"))
            self.referral.clear()
            for code in REFERRAL_ORGS:
                self.referral.addItem(t.referral(code), REFERRAL_ORG_JA[code])
            edit = self.referral.lineEdit()
            if edit is not None:
                edit.setPlaceholderText(t.t("note.referral_placeholder"))
            self._set_combo(self.category, values["category"])
            self._set_combo(self.referral, values["referral_org"])
        finally:
            self._loading = False
        self.category_label.setText(t.t("note.category"))
        self.summary_label.setText(t.t("note.summary"))
        self.summary.setPlaceholderText(t.t("note.summary_placeholder"))
        self.follow_label.setText(t.t("note.follow_up"))
        self.follow_up.setText(t.t("note.follow_up_needed"))
        self.follow_up_by.setPlaceholderText(t.t("note.follow_up_by_placeholder"))
        self.me_btn.setText(t.t("note.me"))
        self.referral_label.setText(t.t("note.referral"))
        self.shared.setText(t.t("note.shared"))
        self.shared_hint.setText(t.t("note.shared_hint"))
