"""The appointments tab (予約, issue 12 item 3): the municipality's appointments of one day — time, service, branch,
specialist, case number, reservation number, state — with the day before/after and today, 予約を入れる (the booking
dialog), 取り消す for the selected one, and 印刷 (the printable day view, opened in the browser). The panel only emits
what was asked; the window hands it to the controller (staff_console/appointments.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from PySide6.QtCore import QDate, QModelIndex, QObject, Qt, QTime, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from signaling.protocol.models import JST, AppointmentItem
from staff_console.ui.models import ID_ROLE, Index, _ItemsTable
from staff_console.ui.queue_panel import _table
from staff_console.ui.text import Texts

STATE_COLOURS = {"checked_in": "#1b7f3b", "served": "#6b6b6b", "no_show": "#b00020", "cancelled": "#9a9a9a"}


class AppointmentModel(_ItemsTable):
    columns = ("appt.col.time", "appt.col.service", "appt.col.branch", "appt.col.staff", "appt.col.case",
               "appt.col.number", "appt.col.state")
    TIME, SERVICE, BRANCH, STAFF, CASE, NUMBER, STATE = range(7)

    def __init__(self, texts: Texts, parent: QObject | None = None) -> None:
        super().__init__(texts, parent)
        self.items: list[AppointmentItem] = []

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.items):
            return None
        it, col, t = self.items[index.row()], index.column(), self.texts
        if role == Qt.ItemDataRole.DisplayRole:
            if col == self.TIME:
                return t.t("appt.time", start=f"{it.starts_at.astimezone(JST):%H:%M}", minutes=it.duration_min)
            if col == self.SERVICE:
                return t.service(it.service_code)
            if col == self.BRANCH:
                return it.branch
            if col == self.STAFF:
                return it.staff_name or t.t("appt.anyone")
            if col == self.CASE:
                return it.case_number or ""
            if col == self.NUMBER:
                return it.number
            if col == self.STATE:
                return t.t(f"appt.state.{it.state}")
        if role == Qt.ItemDataRole.ForegroundRole and col == self.STATE and it.state in STATE_COLOURS:
            return QBrush(QColor(STATE_COLOURS[it.state]))
        if role == ID_ROLE:
            return it.appointment_id
        return None

    def text(self, row: int, col: int) -> str:
        return str(self.data(self.index(row, col)) or "")


class AppointmentPanel(QWidget):
    day_requested = Signal(int)          # days from the shown one (-1, +1)
    today_requested = Signal()
    book_requested = Signal(dict)        # the booking dialog's fields
    cancel_requested = Signal(int)       # appointment id
    print_requested = Signal()

    def __init__(self, texts: Texts, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.texts = texts
        self.model = AppointmentModel(texts)
        self.day: date | None = None
        self.branches: list[dict[str, Any]] = []
        self.specialists: list[dict[str, Any]] = []
        self.title = QLabel()
        self.title.setObjectName("title")
        self.prev_btn, self.next_btn, self.today_btn = QPushButton(), QPushButton(), QPushButton()
        self.prev_btn.clicked.connect(lambda: self.day_requested.emit(-1))
        self.next_btn.clicked.connect(lambda: self.day_requested.emit(1))
        self.today_btn.clicked.connect(self.today_requested)
        self.print_btn = QPushButton()
        self.print_btn.setObjectName("appointment_print")
        self.print_btn.clicked.connect(self.print_requested)
        self.view = _table(self.model)
        self.view.setObjectName("appointment_table")
        self.empty = QLabel()
        self.empty.setObjectName("hint")
        self.message = QLabel()
        self.message.setObjectName("hint")
        self.message.setWordWrap(True)
        self.book_btn = QPushButton()
        self.book_btn.setObjectName("primary")
        self.book_btn.clicked.connect(self._book)
        self.cancel_btn = QPushButton()
        self.cancel_btn.setObjectName("appointment_cancel")
        self.cancel_btn.clicked.connect(self._cancel)
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._update())
        self.model.modelReset.connect(self._update)
        self.dialog: BookDialog | None = None
        top = QHBoxLayout()
        for w in (self.prev_btn, self.title, self.next_btn, self.today_btn):
            top.addWidget(w)
        top.addStretch(1)
        top.addWidget(self.print_btn)
        bottom = QHBoxLayout()
        bottom.addWidget(self.book_btn)
        bottom.addWidget(self.cancel_btn)
        bottom.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 12, 12, 12)
        lay.addLayout(top)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.empty)
        lay.addWidget(self.message)
        lay.addLayout(bottom)
        self.retranslate()

    def show_day(self, day: date, items: Sequence[AppointmentItem], branches: list[dict[str, Any]],
                 specialists: list[dict[str, Any]]) -> None:
        kept = self.selected()
        self.day, self.branches, self.specialists = day, branches, specialists
        self.model.set_items(items)
        if kept is not None:
            self.select(kept.appointment_id)
        self.retranslate()

    def say(self, text: str) -> None:
        self.message.setText(text)

    def selected(self) -> AppointmentItem | None:
        rows = self.view.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.model.items):
            return None
        return self.model.items[rows[0].row()]

    def select(self, appointment_id: int) -> bool:
        for row, it in enumerate(self.model.items):
            if it.appointment_id == appointment_id:
                self.view.selectRow(row)
                return True
        return False

    def _update(self) -> None:
        it = self.selected()
        self.cancel_btn.setEnabled(it is not None and it.state == "booked")

    def _book(self) -> None:
        self.dialog = BookDialog(self.texts, self.day or datetime.now(JST).date(), self.branches, self.specialists,
                                 self)
        self.dialog.submitted.connect(self.book_requested)
        self.dialog.open()

    def _cancel(self) -> None:
        it = self.selected()
        if it is not None:
            self.cancel_requested.emit(it.appointment_id)

    def retranslate(self) -> None:
        t = self.texts
        self.title.setText(t.t("appt.title", date=t.t("appt.date", year=self.day.year, month=self.day.month,
                                                         day=self.day.day, weekday=t.t(f"appt.wd{self.day.weekday()}")))
                           if self.day else t.t("appt.title_loading"))
        self.prev_btn.setText(t.t("appt.prev"))
        self.next_btn.setText(t.t("appt.next"))
        self.today_btn.setText(t.t("appt.today"))
        self.print_btn.setText(t.t("appt.print"))
        self.book_btn.setText(t.t("appt.book"))
        self.cancel_btn.setText(t.t("appt.cancel"))
        self.empty.setText(t.t("appt.empty"))
        self.empty.setVisible(not self.model.items)
        self.model.retranslate()
        self._update()
        if self.dialog is not None:
            self.dialog.retranslate()


class BookDialog(QDialog):
    """予約を入れる: branch, service, day and time, length, specialist (or anyone), case number (optional)."""

    submitted = Signal(dict)

    def __init__(self, texts: Texts, day: date, branches: list[dict[str, Any]], specialists: list[dict[str, Any]],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("book_dialog")
        self.texts, self.specialists = texts, specialists
        self.branch = QComboBox()
        for b in branches:
            self.branch.addItem(b["name_ja"], b["code"])
        self.service = QComboBox()
        for code in sorted({c for s in specialists for c in s["services"]}):
            self.service.addItem(texts.service(code), code)
        self.service.currentIndexChanged.connect(self._specialists)
        self.date = QDateEdit(QDate(day.year, day.month, day.day))
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat("yyyy-MM-dd")
        self.time = QTimeEdit(QTime(10, 0))
        self.time.setDisplayFormat("HH:mm")
        self.length = QSpinBox()
        self.length.setRange(5, 240)
        self.length.setSingleStep(5)
        self.length.setValue(30)
        self.staff = QComboBox()
        self.case = QLineEdit()
        self.case.setMaxLength(24)
        self.ok = QPushButton()
        self.ok.setObjectName("primary")
        self.ok.clicked.connect(self._submit)
        self.close_btn = QPushButton()
        self.close_btn.clicked.connect(self.reject)
        self.form = QFormLayout()
        self.labels = {k: QLabel() for k in ("branch", "service", "date", "time", "length", "staff", "case")}
        for key, w in (("branch", self.branch), ("service", self.service), ("date", self.date), ("time", self.time),
                       ("length", self.length), ("staff", self.staff), ("case", self.case)):
            self.form.addRow(self.labels[key], w)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.close_btn)
        buttons.addWidget(self.ok)
        lay = QVBoxLayout(self)
        lay.addLayout(self.form)
        lay.addLayout(buttons)
        self._specialists()
        self.retranslate()

    def _specialists(self, *_: Any) -> None:
        code = self.service.currentData()
        self.staff.clear()
        self.staff.addItem(self.texts.t("appt.anyone"), None)
        for s in self.specialists:
            if code in s["services"]:
                self.staff.addItem(s["name"], s["id"])

    def values(self) -> dict[str, Any]:
        d, tm = self.date.date(), self.time.time()
        return {"branch_code": self.branch.currentData(), "service_code": self.service.currentData(),
                "day": date(d.year(), d.month(), d.day()), "start": (tm.hour(), tm.minute()),
                "duration_min": self.length.value(), "staff_id": self.staff.currentData(),
                "case_number": self.case.text()}

    def _submit(self) -> None:
        self.submitted.emit(self.values())

    def retranslate(self) -> None:
        t = self.texts
        self.setWindowTitle(t.t("appt.book"))
        for key, label in self.labels.items():
            label.setText(t.t(f"appt.field.{key}"))
        self.length.setSuffix(t.t("appt.minutes_suffix"))
        self.case.setPlaceholderText(t.t("appt.case_placeholder"))
        self.staff.setItemText(0, t.t("appt.anyone"))
        self.ok.setText(t.t("appt.book_ok"))
        self.close_btn.setText(t.t("appt.close"))


__all__ = ["AppointmentModel", "AppointmentPanel", "BookDialog", "QModelIndex"]
