"""The on-screen keyboard for a touch screen with no keyboard: big keys that type into a text field.

Japanese (and やさしい日本語): the gojūon table of hiragana, ゛ ゜ 小 (they change the character before the
cursor), ー 、。？, a カタカナ toggle, a page of letters (ABC) and one of numbers and signs (123), space and
delete. Any other language: letters (QWERTY) with that language's own letters and accents from its language
pack (Vietnamese: ă â đ ê ô ơ ư and the five tones), a one-shot capital, the 123 page, space and delete.
Numbers alone (a phone number, a case number) keep :class:`kiosk.ui.digit_pad.DigitPad`.

The widget edits its field and emits ``edited(text)``; it never sends anything. Keys that are characters are
exempt from translation (``i18n_exempt``); the function keys take their words from the catalog
(:meth:`TextKeyboard.retranslate`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import partial

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QLineEdit, QSizePolicy, QStackedWidget, QVBoxLayout, QWidget

from kiosk.ui.kana import GOJUON, LATIN_PUNCTUATION, PUNCTUATION, QWERTY, SYMBOLS, Layout, apply_mark, to_katakana
from kiosk.ui.widgets import Button

KANA_MARKS = [("dakuten", "゛"), ("handakuten", "゜"), ("small", "小")]


class TextKeyboard(QWidget):
    edited = Signal(str)

    def __init__(self, field: QLineEdit, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field = field
        self.name = name
        self.layout_spec = Layout()
        self.katakana = False
        self.shift = False
        self.page = "latin"
        self.keys: dict[str, dict[str, Button]] = {}  # page -> what the key types (or its function) -> key
        self.stack = QStackedWidget()
        self.pages: dict[str, QWidget] = {}
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.stack)
        self._t: Callable[[str], str] = lambda key: key
        self.set_layout(Layout())

    # ------------------------------------------------------------ building
    def set_layout(self, layout: Layout) -> None:
        """Rebuild the pages for a language's layout (kana, or Latin with its own letters and accents)."""
        if self.pages and layout == self.layout_spec:
            return
        self.layout_spec = layout
        for page in self.pages.values():
            self.stack.removeWidget(page)
            page.deleteLater()
        self.pages, self.keys = {}, {}
        if layout.kind == "kana":
            self._add_page("kana", self._kana_page)
        self._add_page("latin", self._latin_page)
        self._add_page("symbols", self._symbols_page)
        self.katakana = self.shift = False
        self.show_page("kana" if layout.kind == "kana" else "latin")
        self.retranslate(self._t)

    def _add_page(self, page: str, build: Callable[[QGridLayout], None]) -> None:
        w = QWidget()
        grid = QGridLayout(w)
        grid.setSpacing(4)
        grid.setContentsMargins(0, 0, 0, 0)
        self.keys[page] = {}
        self._building = page
        build(grid)
        for col in range(grid.columnCount()):
            grid.setColumnStretch(col, 1)  # every key as wide as the next, whatever its label
        self.pages[page] = w
        self.stack.addWidget(w)

    def _key(self, grid: QGridLayout, what: str, label: str, row: int, col: int, span: int = 1, *,
             action: Callable[[], None] | None = None, exempt: bool = True, checkable: bool = False) -> Button:
        b = Button(label, kind="key", checkable=checkable)
        b.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)  # the grid decides the width
        b.setObjectName(f"{self.name}_{self._building}_{what}")
        if exempt:
            b.setProperty("i18n_exempt", True)  # a character, or a sign every reader knows (ABC, 123)
        b.clicked.connect(action or (lambda _=False, c=what: self.type(c)))
        grid.addWidget(b, row, col, 1, span)
        self.keys[self._building][what] = b
        return b

    def _kana_page(self, g: QGridLayout) -> None:
        for col, column in enumerate(GOJUON):
            for row, kana in enumerate(column):
                if kana != " ":
                    self._key(g, kana, kana, row, col)
        for row, (mark, label) in enumerate(KANA_MARKS):
            self._key(g, mark, label, row, 10, action=partial(self.mark, mark), exempt=False)
        for row, ch in enumerate(PUNCTUATION[:2], start=3):
            self._key(g, ch, ch, row, 10)
        self._key(g, "katakana", "", 5, 0, 2, action=self._toggle_katakana, exempt=False, checkable=True)
        self._key(g, "to_latin", "ABC", 5, 2, action=lambda: self.show_page("latin"))
        self._key(g, "to_symbols", "123", 5, 3, action=lambda: self.show_page("symbols"))
        self._key(g, "space", "", 5, 4, 2, action=lambda: self.type(" "), exempt=False)
        for col, ch in enumerate(PUNCTUATION[2:], start=6):
            self._key(g, ch, ch, 5, col)
        self._key(g, "delete", "", 5, 9, 2, action=self.delete, exempt=False)

    def _latin_page(self, g: QGridLayout) -> None:
        for row, letters in enumerate(QWERTY):
            for col, ch in enumerate(letters):
                self._key(g, ch, ch, row, col + row)
        row = len(QWERTY)
        extra = list(self.layout_spec.extra)
        for col, ch in enumerate(extra):
            self._key(g, ch, ch, row, col)
        for i, mark in enumerate(self.layout_spec.marks):
            label = unicodedata.normalize("NFC", "a" + mark)  # the tone as a Vietnamese reader knows it: à á ả ã ạ
            key = self._key(g, f"mark{i}", label, row, len(extra) + i, action=partial(self.mark, mark))
            key.setProperty("mark", True)  # an accent for the vowel before, not a letter: drawn apart
        if not extra and not self.layout_spec.marks:
            for col, ch in enumerate(LATIN_PUNCTUATION):
                self._key(g, ch, ch, row, col + 2)
        bottom = row + 1
        self._key(g, "shift", "", bottom, 0, 2, action=self._toggle_shift, exempt=False, checkable=True)
        col = 2
        if self.layout_spec.kind == "kana":
            self._key(g, "to_kana", "あ", bottom, col, action=lambda: self.show_page("kana"))
            col += 1
        self._key(g, "to_symbols", "123", bottom, col, action=lambda: self.show_page("symbols"))
        self._key(g, "space", "", bottom, col + 1, 4, action=lambda: self.type(" "), exempt=False)
        if extra or self.layout_spec.marks:
            for i, ch in enumerate(LATIN_PUNCTUATION[:2]):
                self._key(g, ch, ch, bottom, col + 5 + i)
        self._key(g, "delete", "", bottom, col + 7, 2, action=self.delete, exempt=False)

    def _symbols_page(self, g: QGridLayout) -> None:
        for i, ch in enumerate(SYMBOLS):
            self._key(g, ch, ch, *divmod(i, 10))
        bottom = (len(SYMBOLS) + 9) // 10
        back = "kana" if self.layout_spec.kind == "kana" else "latin"
        self._key(g, "to_letters", "あ" if back == "kana" else "ABC", bottom, 0, 2,
                  action=lambda: self.show_page(back))
        self._key(g, "space", "", bottom, 2, 4, action=lambda: self.type(" "), exempt=False)
        self._key(g, "delete", "", bottom, 6, 2, action=self.delete, exempt=False)

    # ------------------------------------------------------------ typing
    def show_page(self, page: str) -> None:
        self.page = page
        self.stack.setCurrentWidget(self.pages[page])

    def key(self, what: str) -> Button:
        """The key of the page shown that types ``what`` (a character) or does it (``delete``, ``space``...)."""
        return self.keys[self.page][what]

    def type(self, text: str) -> None:
        if self.page == "kana" and self.katakana:
            text = to_katakana(text)
        if self.page == "latin" and self.shift:
            text = text.upper()
            self._set_shift(False)
        self.field.insert(text)
        self._edited()

    def mark(self, mark: str) -> None:
        """゛ ゜ 小 or an accent: changes the character before the cursor."""
        pos = self.field.cursorPosition()
        text = self.field.text()
        before = apply_mark(text[:pos], mark)
        if before != text[:pos]:
            self.field.setText(before + text[pos:])
            self.field.setCursorPosition(len(before))
            self._edited()

    def delete(self) -> None:
        self.field.backspace()
        self._edited()

    def _edited(self) -> None:
        self.edited.emit(self.field.text())

    def _toggle_katakana(self) -> None:
        self.katakana = not self.katakana
        self._relabel()

    def _toggle_shift(self) -> None:
        self._set_shift(not self.shift)

    def _set_shift(self, on: bool) -> None:
        self.shift = on
        self._relabel()

    def _relabel(self) -> None:
        for what, b in self.keys.get("kana", {}).items():
            if len(what) == 1 and "ぁ" <= what <= "ゖ":
                b.set_text(to_katakana(what) if self.katakana else what)
        for what, b in self.keys.get("latin", {}).items():
            if len(what) == 1 and what.isalpha():
                b.set_text(what.upper() if self.shift else what)
        for page, what, on in (("kana", "katakana", self.katakana), ("latin", "shift", self.shift)):
            toggle = self.keys.get(page, {}).get(what)
            if toggle is not None:
                toggle.blockSignals(True)
                toggle.setChecked(on)
                toggle.blockSignals(False)
                toggle.set_text(toggle.accessibleName())  # re-rendered: the ✓ of a chosen toggle

    def retranslate(self, t: Callable[[str], str]) -> None:
        self._t = t
        for page, keys in self.keys.items():
            for what, b in keys.items():
                if what in ("space", "delete", "shift", "katakana", "dakuten", "handakuten", "small"):
                    if what in ("dakuten", "handakuten", "small"):
                        b.setAccessibleName(t(f"kb.{what}"))
                    else:
                        b.set_text(t(f"kb.{what}"))
                if page == "kana" and what == "katakana":
                    b.set_text(t("kb.hiragana") if self.katakana else t("kb.katakana"))
        self._relabel()

    def clear(self) -> None:
        self.katakana = self.shift = False
        self._relabel()
        self.show_page("kana" if self.layout_spec.kind == "kana" else "latin")

    def buttons(self) -> list[Button]:
        return list(self.keys[self.page].values())
