"""Sign in: username and password (the password stays in memory only), language, and the server used."""

from __future__ import annotations

from PySide6.QtCore import Signal
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

from staff_console.ui.text import Texts


class LoginDialog(QDialog):
    submitted = Signal(str, str)
    language_changed = Signal(str)

    def __init__(self, texts: Texts, server: str, username: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.texts = texts
        self.server = server
        self.setMinimumWidth(440)
        self.title = QLabel()
        self.title.setObjectName("big")
        self.sub = QLabel()
        self.sub.setObjectName("hint")
        self.sub.setWordWrap(True)
        self.username = QLineEdit(username)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.returnPressed.connect(self._submit)
        self.lang = QComboBox()
        for code in texts.catalog.languages():
            self.lang.addItem(texts.catalog.language_name(code), code)
        self.lang.setCurrentIndex(max(0, self.lang.findData(texts.language)))
        self.lang.currentIndexChanged.connect(lambda _i: self.language_changed.emit(str(self.lang.currentData())))
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.hide()
        self.button = QPushButton()
        self.button.setObjectName("primary")
        self.button.setDefault(True)
        self.button.clicked.connect(self._submit)
        self.user_label, self.pass_label, self.lang_label = QLabel(), QLabel(), QLabel()
        form = QFormLayout()
        form.addRow(self.user_label, self.username)
        form.addRow(self.pass_label, self.password)
        form.addRow(self.lang_label, self.lang)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(28, 24, 28, 24)
        lay.addWidget(self.title)
        lay.addWidget(self.sub)
        lay.addSpacing(8)
        lay.addLayout(form)
        lay.addWidget(self.error)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.button)
        lay.addLayout(row)
        self.retranslate()
        (self.password if username else self.username).setFocus()

    def retranslate(self) -> None:
        t = self.texts
        self.setWindowTitle(t.t("app.title"))
        self.title.setText(t.t("login.title"))
        self.sub.setText(t.t("login.sub", server=self.server))
        self.user_label.setText(t.t("login.username"))
        self.pass_label.setText(t.t("login.password"))
        self.lang_label.setText(t.t("login.language"))
        self.button.setText(t.t("login.submit"))

    def busy(self, on: bool) -> None:
        self.button.setEnabled(not on)
        self.button.setText(self.texts.t("login.working") if on else self.texts.t("login.submit"))

    def show_error(self, key: str) -> None:
        self.error.setText(self.texts.t(key))
        self.error.show()
        self.adjustSize()  # a long message wraps: grow rather than squeeze the fields
        self.busy(False)
        self.password.selectAll()
        self.password.setFocus()

    def _submit(self) -> None:
        user, pw = self.username.text().strip(), self.password.text()
        if not user or not pw:
            self.show_error("login.missing")
            return
        self.error.hide()
        self.busy(True)
        self.submitted.emit(user, pw)
