"""The top bar: who I am (name, municipality, skills), my status and how to change it, connection, language."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from staff_console.ui.style import STATUS_BG
from staff_console.ui.text import Texts
from staff_console.vocab import AWAY_REASONS


class HeaderBar(QFrame):
    go_available = Signal()
    go_away = Signal(str)
    language_changed = Signal(str)

    def __init__(self, texts: Texts, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("header")
        self.texts = texts
        self.profile: dict[str, Any] = {}
        self.status, self.reason = "offline", ""
        self.away_after: str | None = None
        self.connection = "offline"
        self.in_call = False  # in a call in any role (a supervisor listening is "away" but busy)

        self.name = QLabel()
        self.name.setObjectName("name")
        self.role_badge = QLabel()
        self.role_badge.setObjectName("badge")
        self.sub = QLabel()
        self.sub.setObjectName("sub")
        self.sub.setWordWrap(True)
        who = QVBoxLayout()
        top = QHBoxLayout()
        top.addWidget(self.name)
        top.addWidget(self.role_badge)
        top.addStretch(1)
        who.addLayout(top)
        who.addWidget(self.sub)

        self.pill = QLabel()
        self.pill.setObjectName("statusPill")
        self.after = QLabel()
        self.after.setObjectName("hint")
        self.available_btn = QPushButton()
        self.available_btn.setObjectName("primary")
        self.available_btn.clicked.connect(self.go_available.emit)
        self.reason_box = QComboBox()
        self.away_btn = QPushButton()
        self.away_btn.clicked.connect(lambda: self.go_away.emit(str(self.reason_box.currentData() or "break")))
        status = QVBoxLayout()
        row = QHBoxLayout()
        row.addWidget(self.pill)
        row.addSpacing(12)
        row.addWidget(self.available_btn)
        row.addWidget(self.away_btn)
        row.addWidget(self.reason_box)
        status.addLayout(row)
        status.addWidget(self.after)

        self.conn = QLabel()
        self.lang = QComboBox()
        for code in texts.catalog.languages():
            self.lang.addItem(texts.catalog.language_name(code), code)
        self.lang.currentIndexChanged.connect(lambda _i: self.language_changed.emit(str(self.lang.currentData())))
        right = QVBoxLayout()
        right.addWidget(self.conn)
        right.addWidget(self.lang)

        lay = QHBoxLayout(self)
        lay.setContentsMargins(16, 10, 16, 10)
        lay.addLayout(who, 3)
        lay.addLayout(status, 4)
        lay.addLayout(right, 1)
        self.retranslate()

    # ------------------------------------------------------------ state in
    def set_profile(self, staff: dict[str, Any]) -> None:
        self.profile = dict(staff)
        self._render_profile()

    def set_status(self, status: str, reason: str = "", away_after: str | None = None) -> None:
        self.status, self.reason, self.away_after = status, reason, away_after
        self._render_status()

    def set_in_call(self, in_call: bool) -> None:
        self.in_call = in_call
        self._render_status()

    def set_connection(self, state: str) -> None:
        self.connection = state
        self._render_connection()

    # ------------------------------------------------------------ render
    def retranslate(self) -> None:
        t = self.texts
        self.available_btn.setText(t.t("header.go_available"))
        self.away_btn.setText(t.t("header.go_away"))
        current = self.reason_box.currentData()
        self.reason_box.blockSignals(True)
        self.reason_box.clear()
        for r in AWAY_REASONS:
            self.reason_box.addItem(t.reason(r), r)
        if current is not None:
            self.reason_box.setCurrentIndex(max(0, self.reason_box.findData(current)))
        self.reason_box.blockSignals(False)
        self.reason_box.setToolTip(t.t("header.reason_tip"))
        self.lang.blockSignals(True)
        self.lang.setCurrentIndex(max(0, self.lang.findData(t.language)))
        self.lang.blockSignals(False)
        self._render_profile()
        self._render_status()
        self._render_connection()

    def _render_profile(self) -> None:
        p, t = self.profile, self.texts
        self.name.setText(p.get("display_name", ""))
        self.role_badge.setText(t.t(f"badge.{p['role']}") if p.get("role") else "")
        self.role_badge.setVisible(bool(p.get("role")))
        skills = t.t("sep").join(t.service(code) for code in p.get("skills", []))
        if p.get("role") == "partner":  # no services of its own: where it belongs is enough
            self.sub.setText(str(p.get("municipality", "")))
        else:
            self.sub.setText(t.t("header.profile", municipality=p.get("municipality", ""), skills=skills)
                             if p else "")

    def _render_status(self) -> None:
        t = self.texts
        if self.profile.get("role") == "partner":  # no queue status: waiting for an invitation, or in a call
            shown = "in_call" if self.in_call else ("offline" if self.connection != "online" else "away")
            self.pill.setText(t.t("status.in_call") if self.in_call else
                              t.t("status.offline") if shown == "offline" else t.t("status.partner_waiting"))
        else:
            shown = self.status
            self.pill.setText(t.status_line(self.status, self.reason))
        self.pill.setStyleSheet(f"background: {STATUS_BG.get(shown, '#5f6368')};")
        busy = self.status in ("in_call", "wrap_up", "offered") or self.in_call
        online = self.connection == "online"
        joined = self.in_call and self.status == "away"  # listening in / third party: back afterwards by itself
        partner = self.profile.get("role") == "partner"  # never offered a resident: no status to choose
        for control in (self.available_btn, self.away_btn, self.reason_box):
            control.setVisible(not partner)
        self.available_btn.setEnabled(online and not joined and (
            self.status in ("away", "offline") or self.away_after is not None))
        self.away_btn.setEnabled(online and not joined and (
            self.status == "available" or (busy and self.away_after is None)))
        self.reason_box.setEnabled(self.away_btn.isEnabled())
        self.away_btn.setText(t.t("header.away_after_call") if busy else t.t("header.go_away"))
        if self.away_after is not None:
            self.after.setText(t.t("header.away_pending", reason=t.reason(self.away_after)))
        else:
            self.after.setText("")

    def _render_connection(self) -> None:
        t = self.texts
        colour = {"online": "#1b7f3b", "connecting": "#b35900"}.get(self.connection, "#b00020")
        self.conn.setText(f"<span style='color:{colour}'>●</span> {t.t('conn.' + self.connection)}")
        self._render_status()
