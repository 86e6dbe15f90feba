"""Choosing who takes over (transfer: a service or a named specialist) and whom to bring in (invite)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from staff_console.ui.text import Texts


def colleague_label(texts: Texts, c: dict[str, Any]) -> str:
    skills = texts.t("sep").join(texts.service(s) for s in c.get("skills", []))
    status = texts.status(c.get("status", "offline"))
    return f"{c['display_name']} — {c.get('municipality', '')} · {status} · {skills}"


class TransferDialog(QDialog):
    """Result: ``choice()`` -> ("service", code) or ("staff", id)."""

    def __init__(self, texts: Texts, services: list[str], colleagues: list[dict[str, Any]], current_service: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        t = texts
        self.setWindowTitle(t.t("transfer.window"))
        self.setMinimumWidth(520)
        self.to_service = QRadioButton(t.t("transfer.to_service"))
        self.to_staff = QRadioButton(t.t("transfer.to_staff"))
        group = QButtonGroup(self)
        group.addButton(self.to_service)
        group.addButton(self.to_staff)
        self.service = QComboBox()
        for code in services:
            self.service.addItem(t.service(code), code)
        self.service.setCurrentIndex(max(0, self.service.findData(current_service)))
        self.staff = QComboBox()
        for c in colleagues:
            self.staff.addItem(colleague_label(t, c), c["id"])
        self.to_service.setChecked(True)
        self.to_staff.setEnabled(bool(colleagues))
        self.to_service.toggled.connect(self._sync)
        hint = QLabel(t.t("transfer.hint"))
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText(t.t("transfer.ok"))
        ok.setObjectName("primary")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(t.t("common.cancel"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(t.t("transfer.heading")))
        lay.addWidget(self.to_service)
        lay.addWidget(self.service)
        lay.addWidget(self.to_staff)
        lay.addWidget(self.staff)
        lay.addWidget(hint)
        lay.addWidget(buttons)
        self._sync()

    def _sync(self) -> None:
        self.service.setEnabled(self.to_service.isChecked())
        self.staff.setEnabled(self.to_staff.isChecked())

    def choice(self) -> tuple[str, Any]:
        if self.to_staff.isChecked() and self.staff.currentData() is not None:
            return "staff", int(self.staff.currentData())
        return "service", str(self.service.currentData())


class InvitePicker(QDialog):
    def __init__(self, texts: Texts, colleagues: list[dict[str, Any]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        t = texts
        self.setWindowTitle(t.t("invite_pick.window"))
        self.setMinimumWidth(520)
        self.staff = QComboBox()
        for c in colleagues:
            self.staff.addItem(colleague_label(t, c), c["id"])
        hint = QLabel(t.t("invite_pick.hint"))
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText(t.t("invite_pick.ok"))
        ok.setObjectName("primary")
        ok.setEnabled(bool(colleagues))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(t.t("common.cancel"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(t.t("invite_pick.heading")))
        lay.addWidget(self.staff)
        lay.addWidget(hint)
        lay.addWidget(buttons)

    def choice(self) -> int | None:
        data = self.staff.currentData()
        return int(data) if data is not None else None
