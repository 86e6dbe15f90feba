"""A case and its history (README "Cases"): the number, the resident's name and contact (only the municipality's
staff are sent them), and each session under it — when, which service, where, with whom, the note's category."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from staff_console.ui.text import Texts

COLUMNS = ("when", "service", "where", "staff", "category")


class CaseDialog(QDialog):
    def __init__(self, texts: Texts, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.texts = texts
        self.case: dict[str, Any] | None = None
        self.setMinimumWidth(640)
        self.heading = QLabel()
        self.heading.setObjectName("title")
        self.person = QLabel()
        self.person.setObjectName("case_person")
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
        for w in (self.heading, self.person, self.table, self.empty, buttons):
            lay.addWidget(w)

    def show_case(self, case: dict[str, Any]) -> None:
        self.case = case
        self.retranslate()
        self.show()
        self.raise_()

    def retranslate(self) -> None:
        t = self.texts
        self.setWindowTitle(t.t("case.window"))
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
