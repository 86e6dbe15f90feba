"""The callback screens (折り返し電話, issue 12 item 4): a large keypad for the phone number, then the time band,
then what was agreed. Every string from the catalog; the number is checked by the controller's rule (the
protocol's, :mod:`signaling.protocol.phone`) and a wrong one gets a clear message, nothing sent."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLineEdit, QVBoxLayout, QWidget

from kiosk.ui.digit_pad import DigitPad
from kiosk.ui.pages import Page
from kiosk.ui.port import UiContext
from kiosk.ui.theme import Metrics
from kiosk.ui.widgets import Button, Label, hbox
from signaling.protocol.models import JST, CallbackBand

MAX_DIGITS = 11


def band_text(ctx: UiContext, band: CallbackBand) -> str:
    """「今日の午後（13:00〜17:00）」 / "Today, afternoon (13:00-17:00)"."""
    t = ctx.t
    if band.day_offset == 0:
        day = t("callback.today")
    elif band.day_offset == 1:
        day = t("callback.tomorrow")
    else:
        day = t("callback.date", month=band.day.month, day=band.day.day, weekday=t(f"callback.wd{band.day.weekday()}"))
    start, end = band.starts_at.astimezone(JST), band.ends_at.astimezone(JST)
    return t("callback.band", day=day, part=t(f"callback.{band.part}"), start=f"{start:%H:%M}", end=f"{end:%H:%M}")


class CallbackPage(Page):
    """Step 1: the number on a keypad; step 2: the band. ``offered`` bands come from the server."""

    name = "callback"

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.step = "number"
        self.problem: str | None = None
        self.title = Label("title", center=True)
        self.lead = Label("lead", center=True)
        self.field = QLineEdit()
        self.field.setObjectName("callback_phone")
        self.error = Label("bad", center=True)
        self.error.setObjectName("callback_error")
        self.error.setMinimumHeight(1)
        self.pad = DigitPad(self.field, "callback", MAX_DIGITS)
        self.pad.edited.connect(self._edited)
        self.keys, self.backspace, self.clear_all = self.pad.keys, self.pad.backspace, self.pad.clear_all
        self.band_box = QGridLayout()
        self.band_buttons: list[tuple[Button, CallbackBand]] = []
        self.bands_area = QWidget()
        self.bands_area.setLayout(self.band_box)
        self.back = Button()
        self.back.setObjectName("callback_back")
        self.back.clicked.connect(self._back)
        self.next = Button(kind="primary")
        self.next.setObjectName("callback_next")
        self.next.clicked.connect(self._next)
        self.entry = QWidget()  # the number and what is wrong with it, beside the keypad
        left = QVBoxLayout(self.entry)
        left.setContentsMargins(0, 0, 0, 0)
        left.addStretch(1)
        left.addWidget(self.field)
        left.addWidget(self.error)
        left.addStretch(1)
        self.box.addWidget(self.title)
        self.box.addWidget(self.lead)
        row = QHBoxLayout()
        row.addWidget(self.entry, 1)
        row.addWidget(self.pad, 1)
        self.box.addLayout(row, 1)
        self.box.addWidget(self.bands_area)
        self.bands_stretch = self.box.count()
        self.box.addStretch(0)
        self.box.addLayout(hbox(self.back, self.next, stretch_ends=True))
        ctx.bridge.fired.connect(self._on_event)
        self._show_step("number")

    # ------------------------------------------------------------ events and taps
    def _on_event(self, name: str, data: dict[str, Any]) -> None:
        if name == "callback":
            self.problem = data.get("problem")
            if data.get("bands") is not None:
                self._set_bands(list(data["bands"]))
            if self.problem in ("too_short", "too_long", "prefix", "not_digits"):
                self._show_step("number")
            self.next.setEnabled(True)
            self.retranslate()

    def _edited(self, _text: str) -> None:
        self.ctx.port.touch()
        if self.problem is not None:
            self.problem = None
            self.retranslate()

    def _back(self) -> None:
        if self.step == "band":
            self.problem = None
            self._show_step("number")
        else:
            self.ctx.port.callback.close()

    def _next(self) -> None:
        if self.step == "number":
            self.problem = self.ctx.port.callback.check_number(self.field.text())
            if self.problem is None and not self.band_buttons:
                self.problem = "no_bands"
            if self.problem is None:
                self._show_step("band")
            self.retranslate()
            return
        band = self.chosen()
        if band is None:
            self.problem = "no_band"
            self.retranslate()
            return
        self.next.setEnabled(False)
        self.ctx.run(self.ctx.port.callback.request(self.field.text(), band))

    def chosen(self) -> CallbackBand | None:
        return next((band for b, band in self.band_buttons if b.isChecked()), None)

    # ------------------------------------------------------------ rendering
    def _set_bands(self, bands: list[CallbackBand]) -> None:
        for b, _ in self.band_buttons:
            self.band_box.removeWidget(b)
            b.deleteLater()
        self.band_buttons = []
        for i, band in enumerate(bands):
            b = Button(kind="", checkable=True)
            b.setObjectName(f"callback_band_{i}")
            b.toggled.connect(lambda on, me=b: self._only(me, on))
            self.band_box.addWidget(b, i // 2, i % 2)
            self.band_buttons.append((b, band))
        self._show_step(self.step)

    def _only(self, chosen: Button, on: bool) -> None:
        if on:
            for b, _ in self.band_buttons:
                if b is not chosen and b.isChecked():
                    b.setChecked(False)
            if self.problem == "no_band":
                self.problem = None
                self.retranslate()

    def _show_step(self, step: str) -> None:
        self.step = step
        number = step == "number"
        self.pad.setVisible(number)
        self.entry.setVisible(number)
        self.bands_area.setVisible(not number)
        self.box.setStretch(self.bands_stretch, 0 if number else 1)  # the keypad row takes the height, else this
        self.retranslate()

    def retranslate(self) -> None:
        t = self.ctx.t
        number = self.step == "number"
        self.title.setText(t("callback.title"))
        self.lead.setText(t("callback.lead_number") if number else
                          t("callback.lead_band", phone=self.field.text()))
        self.field.setAccessibleName(t("callback.field"))
        self.field.setPlaceholderText(t("callback.placeholder"))
        self.pad.label(t("callback.clear"), t("callback.backspace"))
        for b, band in self.band_buttons:
            b.set_text(band_text(self.ctx, band))
        self.error.setText(t(f"callback.problem.{self.problem}") if self.problem else "")
        self.error.setVisible(bool(self.problem))
        self.back.set_text(t("common.back"))
        self.next.set_text(t("callback.next") if number else t("callback.confirm"))

    def clear(self) -> None:
        self.field.clear()
        self.problem = None
        self._set_bands([])
        self.next.setEnabled(True)
        self._show_step("number")

    def on_show(self) -> None:
        if self.ctx.port.screen == "callback" and not self.field.text():
            self.problem = None
            self.next.setEnabled(True)
            self._show_step("number")

    def apply_metrics(self, m: Metrics) -> None:
        super().apply_metrics(m)
        self.box.setSpacing(m.mm(2))
        self.field.setMinimumWidth(m.mm(70))

    def focus_order(self) -> list[QWidget]:
        keys = [*self.keys.values(), self.clear_all, self.backspace]
        bands = [b for b, _ in self.band_buttons]
        return [*(keys if self.step == "number" else bands), self.next, self.back]


class CallbackDonePage(Page):
    """What was agreed: the band and the number, then back to the start (the privacy reset)."""

    name = "callback_done"

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.title = Label("title", center=True)
        self.when = Label("big", center=True)
        self.when.setObjectName("callback_done_when")
        self.phone = Label("lead", center=True)
        self.note = Label("lead", center=True)
        self.finish = Button(kind="primary")
        self.finish.setObjectName("callback_done_finish")
        self.finish.clicked.connect(self.ctx.port.reset)
        self.box.addStretch(1)
        for w in (self.title, self.when, self.phone, self.note):
            self.box.addWidget(w)
        self.box.addStretch(1)
        self.box.addLayout(hbox(self.finish, stretch_ends=True))
        self.info: dict[str, Any] = {}
        ctx.bridge.fired.connect(self._on_event)

    def _on_event(self, name: str, data: dict[str, Any]) -> None:
        if name == "callback_done":
            self.info = dict(data)
            self.retranslate()

    def retranslate(self) -> None:
        t = self.ctx.t
        self.title.setText(t("callback_done.title"))
        band = self.info.get("band")
        self.when.setText(t("callback_done.when", band=band_text(self.ctx, band)) if band is not None else "")
        self.phone.setText(t("callback_done.phone", phone=self.info.get("phone", "")))
        self.note.setText(t("callback_done.note"))
        self.finish.set_text(t("callback_done.finish"))

    def clear(self) -> None:
        self.info = {}
        self.retranslate()

    def focus_order(self) -> list[QWidget]:
        return [self.finish]
