"""A case and its history (README "Cases"): the number, the resident's name and contact (only the municipality's
staff are sent them), and each session under it — when, which service, where, with whom, the note's category.
The name and contact can be corrected here (「編集」 → 「保存」); the window sends the change to the controller."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from staff_console.ui.text import Texts

COLUMNS = ("when", "service", "where", "staff", "category")


class CaseDialog(QDialog):
    save_requested = Signal(str, str, str)  # number, name, contact

    def __init__(self, texts: Texts, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.texts = texts
        self.case: dict[str, Any] | None = None
        self.setMinimumWidth(640)
        self.heading = QLabel()
        self.heading.setObjectName("title")
        self.person = QLabel()
        self.person.setObjectName("case_person")
        self.edit_btn = QPushButton()
        self.edit_btn.clicked.connect(self._edit)
        self.name_edit = QLineEdit()
        self.name_edit.setMaxLength(64)
        self.contact_edit = QLineEdit()
        self.contact_edit.setMaxLength(128)
        self.save_btn = QPushButton()
        self.save_btn.setObjectName("primary")
        self.save_btn.clicked.connect(self._save)
        self.editor = QWidget()
        er = QHBoxLayout(self.editor)
        er.setContentsMargins(0, 0, 0, 0)
        for w in (self.name_edit, self.contact_edit):
            er.addWidget(w, 1)
        er.addWidget(self.save_btn)
        self.editor.hide()
        person_row = QHBoxLayout()
        person_row.addWidget(self.person, 1)
        person_row.addWidget(self.edit_btn)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("case_history")
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.empty = QLabel()
        self.empty.setObjectName("hint")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        self.close_btn = buttons.button(QDialogButtonBox.StandardButton.Close)
        lay = QVBoxLayout(self)
        lay.addWidget(self.heading)
        lay.addLayout(person_row)
        for part in (self.editor, self.table, self.empty, buttons):
            lay.addWidget(part)

    def show_case(self, case: dict[str, Any]) -> None:
        self.case = case
        self.editor.hide()
        self.edit_btn.show()
        self.retranslate()
        self.show()
        self.raise_()

    def _edit(self) -> None:
        if self.case is None:
            return
        self.name_edit.setText(str(self.case.get("name") or ""))
        self.contact_edit.setText(str(self.case.get("contact") or ""))
        self.edit_btn.hide()
        self.editor.show()
        self.name_edit.setFocus()

    def _save(self) -> None:
        if self.case is not None:
            self.save_requested.emit(str(self.case["number"]), self.name_edit.text(), self.contact_edit.text())

    def retranslate(self) -> None:
        t = self.texts
        self.setWindowTitle(t.t("case.window"))
        self.edit_btn.setText(t.t("case.edit"))
        self.save_btn.setText(t.t("case.save"))
        self.name_edit.setPlaceholderText(t.t("casebox.name_hint"))
        self.contact_edit.setPlaceholderText(t.t("casebox.contact_hint"))
        self.close_btn.setText(t.t("case.close"))
        self.table.setHorizontalHeaderLabels([t.t(f"case.col.{c}") for c in COLUMNS])
        self.empty.setText(t.t("case.no_history"))
        c = self.case
        if c is None:
            return
        self.heading.setText(t.t("case.heading", number=c["number"]))
        none = t.t("case.not_recorded")
        self.person.setText(t.t("case.person", name=c.get("name") or none, contact=c.get("contact") or none))
        rows = c.get("history", [])
        self.table.setRowCount(len(rows))
        for i, v in enumerate(rows):
            cells = (t.when(v["accepted_at"]), t.service(v["service_code"]), v["branch"], v["staff_name"],
                     v.get("note_category") or t.t("case.no_note"))
            for j, text in enumerate(cells):
                self.table.setItem(i, j, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.table.setVisible(bool(rows))
        self.empty.setVisible(not rows)
