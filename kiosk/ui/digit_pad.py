"""A large on-screen keypad of digits for a touch screen with no keyboard: 1-9 and 0, clear and backspace, editing
a read-only field. Used for the callback's phone number and for a case number (相談番号). ``edited`` carries the
field's new text after each tap."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QLineEdit, QWidget

from kiosk.ui.widgets import Button


class DigitPad(QWidget):
    edited = Signal(str)

    def __init__(self, field: QLineEdit, name: str, max_digits: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field = field
        self.max_digits = max_digits
        field.setReadOnly(True)  # typed on the keypad only
        field.setMaxLength(max_digits)
        self.keys: dict[str, Button] = {}
        grid = QGridLayout(self)
        for i, digit in enumerate("1234567890"):
            b = Button(digit)
            b.setObjectName(f"{name}_key_{digit}")
            b.clicked.connect(lambda _=False, d=digit: self.type(d))
            self.keys[digit] = b
            grid.addWidget(b, *(divmod(i, 3) if digit != "0" else (3, 1)))
        self.backspace = Button(kind="small")
        self.backspace.setObjectName(f"{name}_backspace")
        self.backspace.clicked.connect(lambda: self.set_text(self.field.text()[:-1]))
        self.clear_all = Button(kind="small")
        self.clear_all.setObjectName(f"{name}_clear")
        self.clear_all.clicked.connect(lambda: self.set_text(""))
        grid.addWidget(self.clear_all, 3, 0)
        grid.addWidget(self.backspace, 3, 2)
        self.setMaximumWidth(720)

    def type(self, digit: str) -> None:
        if len(self.field.text()) < self.max_digits:
            self.set_text(self.field.text() + digit)

    def set_text(self, text: str) -> None:
        self.field.setText(text)
        self.edited.emit(text)

    def label(self, clear: str, backspace: str) -> None:
        self.clear_all.set_text(clear)
        self.backspace.set_text(backspace)

    def buttons(self) -> list[Button]:
        return [*self.keys.values(), self.clear_all, self.backspace]
