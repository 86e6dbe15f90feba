"""The 相談番号 box beside the record (call and wrap-up; README "Cases"): which case this call is under, or how to
put it under one — an existing number, or a new case (name and contact optional) whose number the specialist then
tells the resident. Intents only; the window hands them to the controller."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from staff_console.ui.text import Texts


class CaseBox(QGroupBox):
    open_requested = Signal(str)  # number: show the case and its history
    link_requested = Signal(str)  # number: put this call under it
    new_requested = Signal(str, str)  # name, contact: open a new case with this call under it
    card_requested = Signal()  # print the case card at the resident's branch (in a call only)

    def __init__(self, texts: Texts, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("case_box")
        self.texts = texts
        self.number: str | None = None
        self.linked = QLabel()
        self.linked.setObjectName("case_linked")
        self.linked.setWordWrap(True)
        self.open_btn = QPushButton()
        self.open_btn.clicked.connect(lambda: self.number and self.open_requested.emit(self.number))
        self.card_btn = QPushButton()
        self.card_btn.setObjectName("case_card")
        self.card_btn.clicked.connect(self.card_requested.emit)
        self.card_btn.hide()
        self.can_print = False  # set by the call view: the resident is still at the kiosk
        self.number_edit = QLineEdit()
        self.number_edit.setObjectName("case_number")
        self.number_edit.returnPressed.connect(self._link)
        self.link_btn = QPushButton()
        self.link_btn.clicked.connect(self._link)
        self.none_label = QLabel()
        self.none_label.setObjectName("hint")
        self.none_label.setWordWrap(True)
        self.or_label = QLabel()
        self.or_label.setObjectName("hint")
        self.or_label.setWordWrap(True)
        self.name_edit = QLineEdit()
        self.name_edit.setMaxLength(64)
        self.contact_edit = QLineEdit()
        self.contact_edit.setMaxLength(128)
        self.new_btn = QPushButton()
        self.new_btn.clicked.connect(self._new)
        self.problem = QLabel()
        self.problem.setObjectName("error")
        self.problem.setWordWrap(True)
        self.problem.hide()

        linked_row = QHBoxLayout()
        linked_row.addWidget(self.linked, 1)
        linked_row.addWidget(self.open_btn)
        linked_row.addWidget(self.card_btn)
        link_row = QHBoxLayout()
        link_row.addWidget(self.number_edit, 1)
        link_row.addWidget(self.link_btn)
        person_row = QHBoxLayout()
        person_row.addWidget(self.name_edit, 1)
        person_row.addWidget(self.contact_edit, 1)
        new_row = QVBoxLayout()
        new_row.addLayout(person_row)
        new_row.addWidget(self.new_btn, 0, Qt.AlignmentFlag.AlignRight)
        self.unlinked = QWidget()
        ul = QVBoxLayout(self.unlinked)
        ul.setContentsMargins(0, 0, 0, 0)
        ul.addWidget(self.none_label)
        ul.addLayout(link_row)
        ul.addWidget(self.or_label)
        ul.addLayout(new_row)
        lay = QVBoxLayout(self)
        lay.addLayout(linked_row)
        lay.addWidget(self.unlinked)
        lay.addWidget(self.problem)
        self.retranslate()

    def set_case(self, number: str | None) -> None:
        self.number = number
        self.problem.hide()
        if number is not None:
            for edit in (self.number_edit, self.name_edit, self.contact_edit):
                edit.clear()
        self._render()

    def show_problem(self, text: str) -> None:
        self.problem.setText(text)
        self.problem.show()

    def _link(self) -> None:
        number = self.number_edit.text().strip()
        if number:
            self.problem.hide()
            self.link_requested.emit(number)

    def _new(self) -> None:
        self.problem.hide()
        self.new_requested.emit(self.name_edit.text(), self.contact_edit.text())

    def _render(self) -> None:
        t = self.texts
        linked = self.number is not None
        self.linked.setText(t.t("casebox.linked", number=self.number) if linked else "")
        self.linked.setVisible(linked)
        self.open_btn.setVisible(linked)
        self.card_btn.setVisible(linked and self.can_print)
        self.unlinked.setVisible(not linked)

    def retranslate(self) -> None:
        t = self.texts
        self.setTitle(t.t("casebox.title"))
        self.open_btn.setText(t.t("casebox.open"))
        self.card_btn.setText(t.t("casebox.card"))
        self.number_edit.setPlaceholderText(t.t("casebox.number_hint"))
        self.link_btn.setText(t.t("casebox.link"))
        self.none_label.setText(t.t("casebox.none"))
        self.or_label.setText(t.t("casebox.or_new"))
        self.name_edit.setPlaceholderText(t.t("casebox.name_hint"))
        self.contact_edit.setPlaceholderText(t.t("casebox.contact_hint"))
        self.new_btn.setText(t.t("casebox.new"))
        self._render()
