"""The language switch: one button in the top bar (「言語 / Language」, written in two languages so that anyone
finds it) opens a card with one big button per language the kiosk has, each written in its own language. The
set follows the files: ja and en, then every language pack with kiosk texts (``signaling/languages/``)."""

from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QWidget

from kiosk.ui.overlays import Overlay
from kiosk.ui.port import UiContext
from kiosk.ui.widgets import Button, Label, hbox

COLUMNS = 2


class LanguageOverlay(Overlay):
    def __init__(self, ctx: UiContext, parent: QWidget) -> None:
        super().__init__(ctx, parent)
        self.setObjectName("overlay")
        self.title = Label("title", center=True)
        self.buttons: dict[str, Button] = {}
        grid = QGridLayout()
        grid.setSpacing(16)
        for i, code in enumerate(ctx.catalog.languages()):
            b = Button(ctx.catalog.language_name(code), checkable=True)
            b.setObjectName(f"lang_{code}")
            b.setProperty("i18n_exempt", True)  # a language's name is written in that language
            b.clicked.connect(lambda _=False, c=code: self.choose(c))
            grid.addWidget(b, i // COLUMNS, i % COLUMNS)
            self.buttons[code] = b
        self.back = Button(kind="small")
        self.back.setObjectName("language_back")
        self.back.clicked.connect(self.hide)
        self.card.box.addWidget(self.title)
        self.card.box.addLayout(grid)
        self.card.box.addLayout(hbox(self.back, stretch_ends=True))

    def open(self) -> None:
        self.ctx.port.touch()
        self.retranslate()
        self.cover()
        self.buttons.get(self.ctx.language, self.back).setFocus()

    def choose(self, code: str) -> None:
        self.hide()
        self.ctx.port.set_language(code)
        self.retranslate()

    def retranslate(self) -> None:
        t = self.ctx.t
        self.title.setText(t("top.language"))
        self.back.set_text(t("common.back"))
        for code, b in self.buttons.items():
            b.blockSignals(True)
            b.setChecked(code == self.ctx.language)
            b.blockSignals(False)
            b.set_text(self.ctx.catalog.language_name(code))
