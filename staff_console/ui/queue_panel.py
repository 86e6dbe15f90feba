"""The live queue (tickets this account may serve; supervisors: all) with its priority control and, for
supervisors, the team. The panel only emits what was asked (``priority_requested``); the window hands it to
the controller, which talks to the server."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from signaling.protocol.models import PRIORITY_MAX
from staff_console.ui.models import ID_ROLE, QueueModel, TeamModel
from staff_console.ui.text import Texts


def _table(model: QAbstractItemModel) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.setWordWrap(True)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)  # never squeezed: scroll when narrow
    header.setStretchLastSection(True)
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return view


class QueuePanel(QWidget):
    join_silently = Signal(int)  # staff id of the specialist whose call to listen in on
    priority_requested = Signal(int, int)  # ticket id, new priority

    def __init__(self, texts: Texts, queue: QueueModel, team: TeamModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.texts = texts
        self.queue_model, self.team_model = queue, team
        self.supervisor = False
        self.queue_title = QLabel()
        self.queue_title.setObjectName("title")
        self.queue_hint = QLabel()
        self.queue_hint.setObjectName("hint")
        self.queue_hint.setWordWrap(True)
        self.queue_view = _table(queue)
        self.empty = QLabel()
        self.empty.setObjectName("hint")
        self.priority_label = QLabel()
        self.priority_box = QComboBox()
        self.priority_box.setObjectName("priority_box")
        for level in range(PRIORITY_MAX + 1):
            self.priority_box.addItem("", level)
        self.priority_btn = QPushButton()
        self.priority_btn.setObjectName("priority_set")
        self.priority_btn.clicked.connect(self._set_priority)
        self.priority_hint = QLabel()
        self.priority_hint.setObjectName("hint")
        self.priority_hint.setWordWrap(True)
        self._kept: int | None = None  # the selected ticket, kept across a new snapshot
        self.queue_view.selectionModel().selectionChanged.connect(lambda *_: self._update_priority())
        queue.modelAboutToBeReset.connect(self._keep_selection)
        queue.modelReset.connect(self._restore_selection)
        self.priority_row = QWidget()
        pr = QHBoxLayout(self.priority_row)
        pr.setContentsMargins(0, 0, 0, 0)
        pr.addWidget(self.priority_label)
        pr.addWidget(self.priority_box)
        pr.addWidget(self.priority_btn)
        pr.addStretch(1)

        self.team_title = QLabel()
        self.team_title.setObjectName("title")
        self.team_counts = QLabel()
        self.team_counts.setObjectName("hint")
        self.team_view = _table(team)
        self.join_btn = QPushButton()
        self.join_btn.setEnabled(False)
        self.join_btn.clicked.connect(self._join)
        self.team_view.selectionModel().selectionChanged.connect(lambda *_: self._update_join())
        team.modelReset.connect(self._update_join)
        self.join_hint = QLabel()
        self.join_hint.setObjectName("hint")
        self.join_hint.setWordWrap(True)
        self.team_box = QWidget()
        tl = QVBoxLayout(self.team_box)
        tl.setContentsMargins(0, 8, 0, 0)
        head = QHBoxLayout()
        head.addWidget(self.team_title)
        head.addStretch(1)
        head.addWidget(self.team_counts)
        tl.addLayout(head)
        tl.addWidget(self.team_view, 1)
        row = QHBoxLayout()
        row.addWidget(self.join_btn)
        row.addStretch(1)
        tl.addLayout(row)
        tl.addWidget(self.join_hint)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 12, 12, 12)
        lay.addWidget(self.queue_title)
        lay.addWidget(self.queue_hint)
        lay.addWidget(self.queue_view, 2)
        lay.addWidget(self.priority_row)
        lay.addWidget(self.priority_hint)
        lay.addWidget(self.empty)
        lay.addWidget(self.team_box, 2)
        queue.modelReset.connect(self._render_counts)
        team.modelReset.connect(self._render_counts)
        self.set_supervisor(False)
        self.retranslate()

    def set_supervisor(self, supervisor: bool) -> None:
        self.supervisor = supervisor
        self.team_box.setVisible(supervisor)
        self.retranslate()

    def selected_staff(self) -> tuple[int, str] | None:
        rows = self.team_view.selectionModel().selectedRows()
        if not rows:
            return None
        r = rows[0].row()
        s = self.team_model.staff[r]
        return s.staff_id, s.status

    def selected_ticket(self) -> tuple[int, int] | None:
        """(ticket id, priority) of the selected queue row."""
        rows = self.queue_view.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.queue_model.items):
            return None
        it = self.queue_model.items[rows[0].row()]
        return it.ticket_id, it.priority

    def select_ticket(self, ticket_id: int) -> bool:
        for row, it in enumerate(self.queue_model.items):
            if it.ticket_id == ticket_id:
                self.queue_view.selectRow(row)
                return True
        return False

    def _keep_selection(self) -> None:
        sel = self.selected_ticket()
        self._kept = sel[0] if sel is not None else None

    def _restore_selection(self) -> None:
        if self._kept is not None:
            self.select_ticket(self._kept)
        self._update_priority()

    def _update_priority(self) -> None:
        sel = self.selected_ticket()
        self.priority_box.setEnabled(sel is not None)
        self.priority_btn.setEnabled(sel is not None)
        if sel is not None:
            self.priority_box.setCurrentIndex(self.priority_box.findData(sel[1]) if sel[1] <= PRIORITY_MAX else 0)

    def _set_priority(self) -> None:
        sel = self.selected_ticket()
        level = self.priority_box.currentData()
        if sel is not None and level is not None and int(level) != sel[1]:
            self.priority_requested.emit(sel[0], int(level))

    def _update_join(self) -> None:
        sel = self.selected_staff()
        self.join_btn.setEnabled(sel is not None and sel[1] == "in_call")

    def _join(self) -> None:
        sel = self.selected_staff()
        if sel is not None:
            self.join_silently.emit(sel[0])

    def _render_counts(self) -> None:
        t = self.texts
        n = self.queue_model.rowCount()
        self.queue_title.setText(t.t("queue.title", n=n))
        self.empty.setText(t.t("queue.empty") if n == 0 else "")
        self.empty.setVisible(n == 0)
        counts = self.team_model.counts()
        self.team_counts.setText(t.t("team.counts", available=counts.get("available", 0),
                                     in_call=counts.get("in_call", 0) + counts.get("offered", 0),
                                     wrap_up=counts.get("wrap_up", 0), away=counts.get("away", 0)))

    def retranslate(self) -> None:
        t = self.texts
        self.queue_hint.setText(t.t("queue.hint_all") if self.supervisor else t.t("queue.hint"))
        self.team_title.setText(t.t("team.title"))
        self.join_btn.setText(t.t("team.join"))
        self.join_hint.setText(t.t("team.join_hint"))
        self.priority_label.setText(t.t("queue.priority_label"))
        self.priority_btn.setText(t.t("queue.priority_set"))
        self.priority_hint.setText(t.t("queue.priority_hint"))
        for i in range(self.priority_box.count()):
            self.priority_box.setItemText(i, t.priority(int(self.priority_box.itemData(i))))
        self.queue_model.retranslate()
        self.team_model.retranslate()
        self._render_counts()

    def staff_id_at(self, row: int) -> int:
        return int(self.team_model.data(self.team_model.index(row, 0), ID_ROLE))
