"""Guests by link on the console: the invite dialog (role, name → the one-time link as text and QR code) and
the lobby panel of the call view (「ロビーで待っています: 名前（手話通訳）」 with admit / refuse). Widgets only:
the window hands them what the controller returned (the link, the QR code's PNG) and forwards their intents."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from staff_console.guests import GUEST_ROLES
from staff_console.ui.text import Texts


def guest_label(texts: Texts, entry: Any) -> str:
    return texts.t("guest.who", name=entry.display_name, role=texts.t(f"guest.role.{entry.role}"))


class GuestInviteDialog(QDialog):
    """Asks for the guest's role and name; ``issue(role, name)``; then shows the link and its QR code."""

    issue = Signal(str, str)

    def __init__(self, texts: Texts, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.texts = texts
        self.setMinimumWidth(560)
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.role = QComboBox()
        self.name = QLineEdit()
        self.name.setMaxLength(64)
        self.form = QFormLayout()
        self.role_label, self.name_label = QLabel(), QLabel()
        self.form.addRow(self.role_label, self.role)
        self.form.addRow(self.name_label, self.name)
        self.issue_btn = QPushButton()
        self.issue_btn.setObjectName("primary")
        self.issue_btn.clicked.connect(self._issue)
        self.name.textChanged.connect(lambda text: self.issue_btn.setEnabled(bool(text.strip())))
        self.issue_btn.setEnabled(False)
        self.link = QLineEdit()
        self.link.setReadOnly(True)
        self.link.setObjectName("guest_link")
        self.qr = QLabel()
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint = QLabel()
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        self.error = QLabel()
        self.error.setObjectName("error")
        self.close_btn = QPushButton()
        self.close_btn.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.issue_btn)
        buttons.addWidget(self.close_btn)
        lay = QVBoxLayout(self)
        lay.addWidget(self.heading)
        lay.addLayout(self.form)
        lay.addWidget(self.error)
        lay.addWidget(self.link)
        lay.addWidget(self.qr)
        lay.addWidget(self.hint)
        lay.addLayout(buttons)
        self.entry: Any = None
        self.retranslate()
        self._show_result(False)

    def _issue(self) -> None:
        self.issue_btn.setEnabled(False)
        self.error.clear()
        self.issue.emit(str(self.role.currentData()), self.name.text().strip())

    def show_link(self, entry: Any, qr_png: bytes) -> None:
        self.entry = entry
        pix = QPixmap()
        pix.loadFromData(qr_png, "PNG")
        self.qr.setPixmap(pix)
        self.link.setText(entry.link)
        self._show_result(True)
        self.retranslate()

    def show_failed(self, message: str) -> None:
        self.error.setText(message)
        self.issue_btn.setEnabled(bool(self.name.text().strip()))

    def _show_result(self, shown: bool) -> None:
        for w in (self.link, self.qr, self.hint):
            w.setVisible(shown)
        self.role.setEnabled(not shown)
        self.name.setReadOnly(shown)
        self.issue_btn.setVisible(not shown)

    def retranslate(self) -> None:
        t = self.texts
        self.setWindowTitle(t.t("guest.window"))
        self.heading.setText(t.t("guest.heading"))
        current = self.role.currentData()
        self.role.clear()
        for role in GUEST_ROLES:
            self.role.addItem(t.t(f"guest.role.{role}"), role)
        self.role.setCurrentIndex(max(0, self.role.findData(current)))
        self.role_label.setText(t.t("guest.role_label"))
        self.name_label.setText(t.t("guest.name_label"))
        self.issue_btn.setText(t.t("guest.issue"))
        self.close_btn.setText(t.t("guest.close"))
        if self.entry is not None:
            minutes = max(1, round(self.entry.expires_in_s / 60))
            self.hint.setText(t.t("guest.link_hint", who=guest_label(t, self.entry), minutes=minutes))


class GuestLobbyPanel(QWidget):
    """One row per guest of this call who is on the way in: waiting in the lobby (admit / refuse), awaiting the
    resident's agreement, or refused; emits ``decided(invitation_id, admit)``."""

    decided = Signal(int, bool)

    def __init__(self, texts: Texts, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.texts = texts
        self.box = QVBoxLayout(self)
        self.box.setContentsMargins(0, 0, 0, 0)
        self.entries: list[Any] = []
        self.rows: dict[int, tuple[QLabel, QPushButton, QPushButton]] = {}

    def set_entries(self, entries: list[Any]) -> None:
        self.entries = [e for e in entries if e.state in ("invited", "lobby", "awaiting_consent", "refused")]
        while self.box.count():
            item = self.box.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.rows.clear()
        for e in self.entries:
            row = QWidget()
            row.setObjectName("guest_row")
            lay = QHBoxLayout(row)
            lay.setContentsMargins(0, 2, 0, 2)
            label = QLabel()
            label.setObjectName("guest_lobby_label")
            admit, refuse = QPushButton(), QPushButton()
            admit.setObjectName("primary")
            refuse.setObjectName("danger")
            admit.clicked.connect(lambda _=False, i=e.invitation_id: self.decided.emit(i, True))
            refuse.clicked.connect(lambda _=False, i=e.invitation_id: self.decided.emit(i, False))
            admit.setVisible(e.state == "lobby")
            refuse.setVisible(e.state == "lobby")
            lay.addWidget(label, 1)
            lay.addWidget(admit)
            lay.addWidget(refuse)
            self.box.addWidget(row)
            self.rows[e.invitation_id] = (label, admit, refuse)
        self.setVisible(bool(self.entries))
        self.retranslate()

    def retranslate(self) -> None:
        t = self.texts
        for e in self.entries:
            label, admit, refuse = self.rows[e.invitation_id]
            key = {"lobby": "guest.lobby", "awaiting_consent": "guest.awaiting", "invited": "guest.invited"}.get(
                e.state, "guest.refused_resident" if e.refused_by == "resident" else "guest.refused_staff")
            label.setText(t.t(key, who=guest_label(t, e)))
            admit.setText(t.t("guest.admit"))
            refuse.setText(t.t("guest.refuse"))
