"""「相談番号をお持ちの方」 (issue 12 item 2): the resident types the case number they were given on a large digit
keypad, over the needs screen. The controller checks its form (:meth:`KioskPort.set_case_number`, the protocol's
rule); a wrong one is explained and nothing is kept. The number goes with the ticket; whether the server knew it
is said on the waiting screen (an unknown number is served as a walk-in).

「カードをかざす」: instead of typing, the resident holds the printed case card's QR code to the kiosk camera; the
screen shows what the camera sees (to aim the card) until the controller reads a card (kiosk/card_scan.py)."""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QVBoxLayout, QWidget

from kiosk.ui.digit_pad import DigitPad
from kiosk.ui.overlays import Overlay
from kiosk.ui.port import UiContext
from kiosk.ui.widgets import Button, Label, hbox
from signaling.qt.video import VideoView

MAX_DIGITS = 14  # a year and a serial of up to 6 digits, with room for a mistake the check explains


class CaseNumberOverlay(Overlay):
    chosen = Signal()  # a number was kept, or cleared

    def __init__(self, ctx: UiContext, parent: QWidget) -> None:
        super().__init__(ctx, parent)
        self.setObjectName("case_overlay")
        self.problem: str | None = None
        self.title = Label("title", center=True)
        self.lead = Label("lead", center=True)
        self.field = QLineEdit()
        self.field.setObjectName("case_number")
        self.error = Label("bad", center=True)
        self.error.setObjectName("case_error")
        self.pad = DigitPad(self.field, "case", MAX_DIGITS)
        self.pad.edited.connect(self._edited)
        self.ok = Button(kind="primary")
        self.ok.setObjectName("case_ok")
        self.ok.clicked.connect(self._ok)
        self.none = Button(kind="small")
        self.none.setObjectName("case_none")
        self.none.clicked.connect(self._none)
        self.scan = Button(kind="small")  # 「カードをかざす」
        self.scan.setObjectName("case_scan")
        self.scan.clicked.connect(self._scan)
        self.typing = Button(kind="small")  # back to the keypad
        self.typing.setObjectName("case_typing")
        self.typing.clicked.connect(self._typing)
        self.camera = VideoView()
        self.camera.setObjectName("case_camera")
        self.camera.setMinimumHeight(240)
        self.scan_hint = Label("lead", center=True)
        self.scanning = False
        self._preview = QTimer(self)
        self._preview.setInterval(66)
        self._preview.timeout.connect(lambda: self.camera.set_frame(self.ctx.port.card_frame()))
        entry = QWidget()  # the number and what is wrong with it, beside the keypad (as on the callback screen)
        left = QVBoxLayout(entry)
        left.setContentsMargins(0, 0, 0, 0)
        left.addStretch(1)
        left.addWidget(self.field)
        left.addWidget(self.error)
        left.addStretch(1)
        left.addWidget(self.scan)  # or hold the printed card to the camera
        self.keyed = QWidget()
        row = QHBoxLayout(self.keyed)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(entry, 1)
        row.addWidget(self.pad, 1)
        self.scanned_view = QWidget()
        sv = QVBoxLayout(self.scanned_view)
        sv.setContentsMargins(0, 0, 0, 0)
        sv.addWidget(self.scan_hint)
        sv.addWidget(self.camera, 1)
        self.scanned_view.hide()
        self.card.box.addWidget(self.title)
        self.card.box.addWidget(self.lead)
        self.card.box.addWidget(self.keyed, 1)
        self.card.box.addWidget(self.scanned_view, 1)
        self.card.box.addLayout(hbox(self.none, self.typing, self.ok, stretch_ends=True))

    def open(self) -> None:
        self.problem = None
        self._set_scanning(False)
        self.cover()
        self.pad.keys["1"].setFocus()

    def _set_scanning(self, on: bool) -> None:
        self.scanning = on
        self.keyed.setVisible(not on)
        self.lead.setVisible(not on)  # the scan hint says what to do instead
        self.scanned_view.setVisible(on)
        self.ok.setVisible(not on)
        self.scan.setVisible(not on)
        self.typing.setVisible(on)
        if on:
            self._preview.start()
        else:
            self._preview.stop()
            self.camera.clear()
        self.retranslate()

    def _scan(self) -> None:
        self.problem = None
        self._set_scanning(True)
        self.ctx.port.start_card_scan()
        self.typing.setFocus()

    def _typing(self) -> None:
        self.ctx.port.stop_card_scan()
        self._set_scanning(False)
        self.pad.keys["1"].setFocus()

    def scanned(self, number: str) -> None:
        """The controller read a case card (it keeps the number): show it, close, as after 「この番号にする」."""
        self.pad.set_text(number)
        self._set_scanning(False)
        self.hide()
        self.chosen.emit()

    def scan_failed(self, reason: str) -> None:
        self.problem = f"scan_{reason}"
        self._set_scanning(False)

    def _edited(self, _text: str) -> None:
        self.ctx.port.touch()
        if self.problem is not None:
            self.problem = None
            self.retranslate()

    def _ok(self) -> None:
        self.problem = self.ctx.port.set_case_number(self.field.text())
        self.retranslate()
        if self.problem is None:
            self.hide()
            self.chosen.emit()

    def _none(self) -> None:
        if self.scanning:
            self.ctx.port.stop_card_scan()
            self._set_scanning(False)
        self.pad.set_text("")
        self.ctx.port.set_case_number("")
        self.hide()
        self.chosen.emit()

    def clear(self) -> None:
        self.field.clear()
        self.problem = None
        self._set_scanning(False)
        self.hide()

    def retranslate(self) -> None:
        t = self.ctx.t
        self.title.setText(t("case.title"))
        self.lead.setText(t("case.lead"))
        self.field.setAccessibleName(t("case.field"))
        self.field.setPlaceholderText(t("case.placeholder"))
        self.pad.label(t("case.clear"), t("case.backspace"))
        self.ok.set_text(t("case.ok"))
        self.none.set_text(t("case.none"))
        self.scan.set_text(t("case.scan"))
        self.typing.set_text(t("case.typing"))
        self.scan_hint.setText(t("case.scan_hint"))
        self.camera.setAccessibleName(t("case.scan_camera"))
        self.error.setText(t(f"case.problem.{self.problem}") if self.problem else "")
        self.error.setVisible(self.problem is not None)
