"""My past sessions with their notes; search by date, branch and service (supervisors: any specialist)."""

from __future__ import annotations

import html
from datetime import date, timedelta
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from staff_console.ui.models import HistoryModel
from staff_console.ui.text import Texts


class HistoryView(QWidget):
    search = Signal(dict)  # {"date_from", "date_to", "branch", "service", "staff_id"}
    case_lookup = Signal(str)  # a 相談番号 typed by the specialist: open that case
    forms_wanted = Signal(int)  # a session was selected: its confirmed forms, to show under its note

    def __init__(self, texts: Texts, model: HistoryModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.texts = texts
        self.model = model
        self.services: list[str] = []
        self.branches: dict[str, str] = {}
        self.staff: list[tuple[int, str]] = []
        self.shown_session: int | None = None
        self.forms: list[dict[str, Any]] = []  # the selected session's forms (書かない窓口), once read
        today = QDate.currentDate()
        self.date_from = QDateEdit(today.addDays(-30))
        self.date_to = QDateEdit(today)
        for d in (self.date_from, self.date_to):
            d.setCalendarPopup(True)
            d.setDisplayFormat("yyyy-MM-dd")
        self.branch = QComboBox()
        self.service = QComboBox()
        self.staff_box = QComboBox()
        self.staff_box.hide()
        self.go = QPushButton()
        self.go.setObjectName("primary")
        self.go.clicked.connect(self._search)
        self.from_label, self.to_label = QLabel(), QLabel()
        self.branch_label, self.service_label, self.staff_label = QLabel(), QLabel(), QLabel()
        self.staff_label.hide()
        bar = QHBoxLayout()
        for w in (self.from_label, self.date_from, self.to_label, self.date_to, self.branch_label, self.branch,
                  self.service_label, self.service, self.staff_label, self.staff_box):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.go)
        self.case_label = QLabel()
        self.case_number = QLineEdit()
        self.case_number.setObjectName("case_lookup")
        self.case_number.setMaximumWidth(200)
        self.case_number.returnPressed.connect(self._lookup)
        self.case_go = QPushButton()
        self.case_go.clicked.connect(self._lookup)
        bar.addSpacing(24)
        for part in (self.case_label, self.case_number, self.case_go):
            bar.addWidget(part)

        self.count = QLabel()
        self.count.setObjectName("hint")
        self.table = QTableView()
        self.table.setModel(model)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._show_selected())
        model.modelReset.connect(self._after_reset)
        self.detail = QTextBrowser()
        self.detail.setOpenLinks(False)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 12, 12, 12)
        lay.addLayout(bar)
        lay.addWidget(self.count)
        lay.addWidget(split, 1)
        self.retranslate()

    # ------------------------------------------------------------ choices
    def set_choices(self, services: list[str], branches: dict[str, str]) -> None:
        self.services, self.branches = list(services), dict(branches)
        self._fill_choices()

    def set_staff_choices(self, staff: list[tuple[int, str]]) -> None:
        """Supervisors: whose history (None = mine)."""
        self.staff = list(staff)
        for w in (self.staff_box, self.staff_label):
            w.setVisible(bool(staff))
        self._fill_choices()

    def _fill_choices(self) -> None:
        t = self.texts
        for box, items in ((self.branch, sorted(self.branches.items(), key=lambda kv: kv[1])),
                           (self.service, [(c, t.service(c)) for c in self.services]),
                           (self.staff_box, [(str(i), n) for i, n in self.staff])):
            current = box.currentData()
            box.blockSignals(True)
            box.clear()
            box.addItem(t.t("history.mine") if box is self.staff_box else t.t("history.all"), None)
            for code, name in items:
                box.addItem(name, code)
            idx = box.findData(current) if current is not None else 0
            box.setCurrentIndex(max(0, idx))
            box.blockSignals(False)

    def filters(self) -> dict[str, Any]:
        staff = self.staff_box.currentData()
        return {"date_from": _to_date(self.date_from.date()), "date_to": _to_date(self.date_to.date()),
                "branch": self.branch.currentData(), "service": self.service.currentData(),
                "staff_id": int(staff) if staff else None}

    def set_range_days(self, days: int) -> None:
        today = QDate.currentDate()
        self.date_from.setDate(today.addDays(-days))
        self.date_to.setDate(today)

    # ------------------------------------------------------------ render
    def _lookup(self) -> None:
        number = self.case_number.text().strip()
        if number:
            self.case_lookup.emit(number)

    def _search(self) -> None:
        self.search.emit(self.filters())

    def _after_reset(self) -> None:
        n = self.model.rowCount()
        self.count.setText(self.texts.t("history.count", n=n))
        if n:
            self.table.selectRow(0)
        else:
            self.detail.setHtml(f"<p>{html.escape(self.texts.t('history.none'))}</p>")

    def _show_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return
        row = self.model.row_data(rows[0].row())
        self.shown_session = int(row["id"]) if row.get("id") is not None else None
        self.forms = []
        self.detail.setHtml(self.detail_html(row))
        if self.shown_session is not None:
            self.forms_wanted.emit(self.shown_session)

    def set_forms(self, session_id: int, forms: list[dict[str, Any]]) -> None:
        """The forms of the selected session arrived (ignored if another one was selected meanwhile)."""
        if session_id != self.shown_session:
            return
        self.forms = list(forms)
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.detail.setHtml(self.detail_html(self.model.row_data(rows[0].row())))

    def forms_html(self) -> str:
        t, e = self.texts, html.escape
        en = t.language == "en"
        parts = []
        for f in self.forms:
            c = f["content"]
            state = t.t(f"history.form_state.{f['state']}") if t.has(f"history.form_state.{f['state']}") else f["state"]
            parts.append(f"<h4>{e(c['title_en'] if en else c['title_ja'])} — {e(state)}</h4>")
            cells = "".join(f"<tr><th align='left' valign='top' style='padding-right:12px'>"
                            f"{e(x['label_en'] if en else x['label_ja'])}</th>"
                            f"<td>{e(x['shown_en'] if en else x['shown_ja']).replace(chr(10), '<br>')}</td></tr>"
                            for x in c["fields"])
            when = f.get("confirmed_at") or f.get("answered_at")
            proof = t.t("history.form_proof", when=t.when(when) if when else "—", kiosk=f.get("kiosk_name") or "—",
                        hash=f["content_hash"][:16])
            parts.append(f"<table>{cells}</table><p><small>{e(proof)}</small></p>")
        return "".join(parts)

    def detail_html(self, r: dict[str, Any]) -> str:
        t = self.texts
        e = html.escape
        head = (f"<h3>{e(t.service(r.get('service_code', '')))} — {e(t.when(r.get('accepted_at')))}</h3>"
                f"<p>{e(r.get('branch', ''))} · {e(t.t('history.talk'))} "
                f"{e(t.duration(r['talk_s'])) if r.get('talk_s') is not None else e(t.t('history.live'))}"
                f" · {e(t.t('history.waited'))} {e(t.waited(r.get('wait_s') or 0))}"
                f" · {e(t.end_reason(r.get('end_reason') or ''))}</p>")
        note = r.get("note")
        if not note:
            return head + f"<p><i>{e(t.t('history.note_none'))}</i></p>" + self.forms_html()
        rows = [(t.t("history.category"), t.category(note["category"])),
                (t.t("note.summary"), note.get("summary") or "—"),
                (t.t("note.follow_up"), (note.get("follow_up_by") or t.t("history.follow_up_yes"))
                 if note.get("follow_up") else t.t("history.follow_up_no")),
                (t.t("note.referral"), note.get("referral_org") or "—")]
        if note.get("shared"):
            rows.append((t.t("note.shared"), t.t("history.follow_up_yes")))
        cells = "".join(f"<tr><th align='left' valign='top' style='padding-right:12px'>{e(k)}</th>"
                        f"<td>{e(v).replace(chr(10), '<br>')}</td></tr>" for k, v in rows)
        return head + f"<table>{cells}</table>" + self.forms_html()

    def retranslate(self) -> None:
        t = self.texts
        self.from_label.setText(t.t("history.from"))
        self.to_label.setText(t.t("history.to"))
        self.branch_label.setText(t.t("history.branch"))
        self.service_label.setText(t.t("history.service"))
        self.staff_label.setText(t.t("history.staff"))
        self.go.setText(t.t("history.search"))
        self.case_label.setText(t.t("history.case"))
        self.case_number.setPlaceholderText(t.t("casebox.number_hint"))
        self.case_go.setText(t.t("history.case_open"))
        self._fill_choices()
        self.model.retranslate()
        self._after_reset()


def _to_date(d: QDate) -> date:
    return date(d.year(), d.month(), d.day())


def days_ago(n: int) -> date:
    return date.today() - timedelta(days=n)
