"""Qt item models for the console's tables: plain data in, rows out, testable without a window.

- :class:`QueueModel`    waiting tickets (waited time, priority, service, branch + municipality, needs and
                         a language other than Japanese, state);
                         the waited time keeps counting between server snapshots (:meth:`tick`).
- :class:`TeamModel`     every specialist's state (supervisors).
- :class:`HistoryModel`  past sessions with the note the server let this account read.
- :class:`CallbackModel` callback tasks of this account's municipality and services (折り返し電話).

Each row's id is under ``ID_ROLE``; ``SORT_ROLE`` gives a sortable value.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from signaling.protocol.models import CallbackItem, QueueItem, StaffState
from staff_console.ui.text import Texts

ID_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
Index = QModelIndex | QPersistentModelIndex
WAIT_WARN_S = 300.0
WAIT_ALERT_S = 600.0
STATUS_COLOURS = {"available": "#1b7f3b", "offered": "#b35900", "in_call": "#1f5fbf", "wrap_up": "#7a3db8",
                  "away": "#6b6b6b", "offline": "#9a9a9a"}


class _Table(QAbstractTableModel):
    columns: tuple[str, ...] = ()

    def __init__(self, texts: Texts, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.texts = texts

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows())

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.texts.t(self.columns[section])
        return None

    def retranslate(self) -> None:
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self.columns) - 1)
        if self.rowCount():
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, len(self.columns) - 1))

    def _rows(self) -> Sequence[Any]:
        raise NotImplementedError

    def text(self, row: int, column: int) -> str:
        return str(self.data(self.index(row, column)) or "")


class _ItemsTable(_Table):
    """A table of one list of items, replaced whole by :meth:`set_items` (callbacks, appointments)."""

    def __init__(self, texts: Texts, parent: QObject | None = None) -> None:
        super().__init__(texts, parent)
        self.items: list[Any] = []

    def _rows(self) -> Sequence[Any]:
        return self.items

    def set_items(self, items: Sequence[Any]) -> None:
        self.beginResetModel()
        self.items = list(items)
        self.endResetModel()


class QueueModel(_Table):
    columns = ("queue.col.waited", "queue.col.priority", "queue.col.service", "queue.col.where", "queue.col.needs",
               "queue.col.state")
    WAITED, PRIORITY, SERVICE, WHERE, NEEDS, STATE = range(6)

    def __init__(self, texts: Texts, clock: Callable[[], float] = time.monotonic,
                 parent: QObject | None = None) -> None:
        super().__init__(texts, parent)
        self.clock = clock
        self.items: list[QueueItem] = []
        self.snapshot_at = clock()

    def _rows(self) -> Sequence[Any]:
        return self.items

    def set_items(self, items: Sequence[QueueItem], snapshot_at: float | None = None) -> None:
        self.beginResetModel()
        self.items = list(items)
        self.snapshot_at = self.clock() if snapshot_at is None else snapshot_at
        self.endResetModel()

    def waited_s(self, row: int) -> float:
        return self.items[row].waited_s + max(0.0, self.clock() - self.snapshot_at)

    def tick(self) -> None:
        """Waited times count on between snapshots."""
        if self.items:
            self.dataChanged.emit(self.index(0, self.WAITED), self.index(len(self.items) - 1, self.WAITED))

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.items):
            return None
        it, col, t = self.items[index.row()], index.column(), self.texts
        if role == Qt.ItemDataRole.DisplayRole:
            if col == self.SERVICE:
                return t.service(it.service_code)
            if col == self.WHERE:
                return t.where(it.branch, it.municipality)
            if col == self.NEEDS:
                lang = t.t("queue.language", language=t.language_name(it.language)) if it.language != "ja" else ""
                return t.t("sep").join(x for x in (t.needs(it.needs) if it.needs else "", lang) if x)
            if col == self.PRIORITY:
                return t.priority(it.priority) if it.priority else ""
            if col == self.WAITED:
                return t.waited(self.waited_s(index.row()))
            if col == self.STATE:
                state = t.t(f"ticket.{it.state}")
                return f"{state} · {t.t('queue.shared')}" if it.tier == "shared" else state
        if role == ID_ROLE:
            return it.ticket_id
        if role == SORT_ROLE:
            return self.waited_s(index.row()) if col == self.WAITED else self.data(index)
        if role == Qt.ItemDataRole.ForegroundRole and col == self.PRIORITY and it.priority:
            return QBrush(QColor("#b00020"))
        if role == Qt.ItemDataRole.ForegroundRole and col == self.WAITED:
            waited = self.waited_s(index.row())
            if waited >= WAIT_ALERT_S:
                return QBrush(QColor("#b00020"))
            if waited >= WAIT_WARN_S:
                return QBrush(QColor("#b35900"))
        if role == Qt.ItemDataRole.ToolTipRole:
            return t.t("queue.tooltip", ticket=it.ticket_id, priority=it.priority)
        if role == Qt.ItemDataRole.TextAlignmentRole and col == self.WAITED:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class TeamModel(_Table):
    columns = ("team.col.name", "team.col.status")
    NAME, STATUS = range(2)

    def __init__(self, texts: Texts, parent: QObject | None = None) -> None:
        super().__init__(texts, parent)
        self.staff: list[StaffState] = []

    def _rows(self) -> Sequence[Any]:
        return self.staff

    def set_staff(self, staff: Sequence[StaffState]) -> None:
        self.beginResetModel()
        self.staff = list(staff)
        self.endResetModel()

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.staff:
            out[s.status] = out.get(s.status, 0) + 1
        return out

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.staff):
            return None
        s, col = self.staff[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return s.name if col == self.NAME else self.texts.status_line(s.status, s.reason)
        if role == ID_ROLE:
            return s.staff_id
        if role == SORT_ROLE:
            return s.status if col == self.STATUS else s.name
        if role == Qt.ItemDataRole.ForegroundRole and col == self.STATUS:
            return QBrush(QColor(STATUS_COLOURS.get(s.status, "#333333")))
        return None


class HistoryModel(_Table):
    columns = ("history.col.when", "history.col.service", "history.col.where", "history.col.talk",
               "history.col.category", "history.col.follow_up")
    WHEN, SERVICE, WHERE, TALK, CATEGORY, FOLLOW_UP = range(6)

    def __init__(self, texts: Texts, parent: QObject | None = None) -> None:
        super().__init__(texts, parent)
        self.rows: list[dict[str, Any]] = []

    def _rows(self) -> Sequence[Any]:
        return self.rows

    def set_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def row_data(self, row: int) -> dict[str, Any]:
        return self.rows[row]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        r, col, t = self.rows[index.row()], index.column(), self.texts
        note = r.get("note") or None
        if role == Qt.ItemDataRole.DisplayRole:
            if col == self.WHEN:
                return t.when(r.get("accepted_at"))
            if col == self.SERVICE:
                return t.service(r.get("service_code", ""))
            if col == self.WHERE:
                return r.get("branch", "")
            if col == self.TALK:
                return t.duration(r["talk_s"]) if r.get("talk_s") is not None else t.t("history.live")
            if col == self.CATEGORY:
                return t.category(note["category"]) if note else t.t("history.no_note")
            if col == self.FOLLOW_UP:
                if not note or not note.get("follow_up"):
                    return ""
                return note.get("follow_up_by") or t.t("history.follow_up_yes")
        if role == ID_ROLE:
            return r.get("id")
        if role == SORT_ROLE:
            if col == self.WHEN:
                return r.get("accepted_at") or ""
            if col == self.TALK:
                return r.get("talk_s") or 0.0
            return self.data(index)
        if role == Qt.ItemDataRole.ForegroundRole and col == self.CATEGORY and not note:
            return QBrush(QColor("#8a8a8a"))
        return None


class CallbackModel(_ItemsTable):
    """Callback tasks (折り返し電話): when to call, what about, where from, the number, where it stands. Only the
    tasks the server sent this account (its own municipality's) are ever here."""

    columns = ("callback.col.band", "callback.col.service", "callback.col.where", "callback.col.phone",
               "callback.col.state", "callback.col.attempts")
    BAND, SERVICE, WHERE, PHONE, STATE, ATTEMPTS = range(6)

    def __init__(self, texts: Texts, my_id: Callable[[], int | None] = lambda: None,
                 parent: QObject | None = None) -> None:
        super().__init__(texts, parent)
        self.items: list[CallbackItem] = []
        self.my_id = my_id

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.items):
            return None
        it, col, t = self.items[index.row()], index.column(), self.texts
        mine = it.state == "claimed" and it.claimed_by == self.my_id()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == self.BAND:
                return t.band(it.band)
            if col == self.SERVICE:
                return t.service(it.service_code)
            if col == self.WHERE:
                return t.where(it.branch, it.municipality)
            if col == self.PHONE:
                return it.phone
            if col == self.STATE:
                if it.state != "claimed":
                    return t.t("callback.state.open")
                return t.t("callback.state.mine") if mine else t.t("callback.state.claimed", name=it.claimed_by_name)
            if col == self.ATTEMPTS:
                return t.t("callback.attempts", n=it.attempts) if it.attempts else ""
        if role == ID_ROLE:
            return it.callback_id
        if role == SORT_ROLE:
            return it.band.starts_at.isoformat() if col == self.BAND else self.data(index)
        if role == Qt.ItemDataRole.ForegroundRole and col == self.STATE and mine:
            return QBrush(QColor("#1f5fbf"))
        if role == Qt.ItemDataRole.ToolTipRole and it.note:
            return t.t("callback.last_note", note=it.note)
        return None
