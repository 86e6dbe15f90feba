"""Staff-only screens: the PIN pad, the device self-check, and first-start enrollment."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLineEdit, QVBoxLayout, QWidget

from kiosk.ui.pages import Page
from kiosk.ui.port import UiContext
from kiosk.ui.theme import Metrics
from kiosk.ui.widgets import Button, Label, hbox
from signaling.i18n import Catalog

CHECKS = ("camera", "microphone", "speaker", "server", "echo_cancellation", "voice")


class PinPage(Page):
    name = "pin"
    closed = Signal()

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.title = Label("title", center=True)
        self.lead = Label("lead", center=True)
        self.field = QLineEdit()
        self.field.setObjectName("pin_field")
        self.field.setEchoMode(QLineEdit.EchoMode.Password)
        self.field.setMaxLength(12)
        self.field.returnPressed.connect(self._submit)
        self.wrong = Label("bad", center=True)
        self.wrong.hide()
        grid = QGridLayout()
        self.keys: list[Button] = []
        for i, digit in enumerate("123456789"):
            b = Button(digit)
            b.setObjectName(f"pin_{digit}")
            b.clicked.connect(lambda _=False, d=digit: self.field.insert(d))
            grid.addWidget(b, i // 3, i % 3)
            self.keys.append(b)
        self.clear_btn = Button()
        self.zero = Button("0")
        self.zero.setObjectName("pin_0")
        self.zero.clicked.connect(lambda: self.field.insert("0"))
        self.ok = Button(kind="primary")
        self.ok.setObjectName("pin_ok")
        self.clear_btn.clicked.connect(self.field.clear)
        self.ok.clicked.connect(self._submit)
        grid.addWidget(self.clear_btn, 3, 0)
        grid.addWidget(self.zero, 3, 1)
        grid.addWidget(self.ok, 3, 2)
        self.keys += [self.zero]
        self.cancel = Button(kind="small")
        self.cancel.clicked.connect(self._close)
        pad = QWidget()
        pad.setLayout(grid)
        pad.setMaximumWidth(720)
        self.box.addWidget(self.title)
        self.box.addWidget(self.lead)
        top = hbox(self.cancel, self.field, stretch_ends=False)
        top.insertStretch(1, 1)
        top.addStretch(1)
        self.box.addLayout(top)
        self.box.addWidget(self.wrong)
        self.box.addLayout(hbox(pad, stretch_ends=True))
        self.box.addStretch(1)

    def _submit(self) -> None:
        pin = self.field.text()
        self.field.clear()
        if not self.ctx.port.unlock_selfcheck(pin):
            self.wrong.show()

    def _close(self) -> None:
        self.clear()
        self.closed.emit()

    def retranslate(self) -> None:
        t = self.ctx.t
        self.title.setText(t("pin.title"))
        self.lead.setText(t("pin.lead"))
        self.field.setAccessibleName(t("pin.field"))
        self.wrong.setText(t("pin.wrong"))
        self.clear_btn.set_text(t("pin.clear"))
        self.ok.set_text(t("pin.ok"))
        self.cancel.set_text(t("pin.cancel"))

    def clear(self) -> None:
        self.field.clear()
        self.wrong.hide()

    def apply_metrics(self, m: Metrics) -> None:
        super().apply_metrics(m)
        self.box.setSpacing(m.mm(2))
        self.field.setMinimumWidth(m.mm(60))

    def focus_order(self) -> list[QWidget]:
        return [self.field, *self.keys[:9], self.clear_btn, self.zero, self.ok, self.cancel]


class SelfCheckPage(Page):
    name = "selfcheck"

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.title = Label("title")
        self.kiosk = Label("small")
        self.kiosk.setProperty("i18n_exempt", True)  # ids, versions: data
        self.status = Label("lead")
        self.rows: dict[str, tuple[Label, Label, Label]] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(32)
        for i, name in enumerate(CHECKS):
            what, verdict, detail = Label(""), Label(""), Label("small")
            detail.setProperty("i18n_exempt", True)  # device names, numbers, error types: for IT staff
            detail.setObjectName(f"check_{name}_detail")
            verdict.setObjectName(f"check_{name}")
            grid.addWidget(what, i, 0)
            grid.addWidget(verdict, i, 1)
            grid.addWidget(detail, i, 2)
            self.rows[name] = (what, verdict, detail)
        grid.setColumnStretch(2, 1)
        self.hint = Label("small")
        self.again = Button(kind="primary")
        self.again.setObjectName("selfcheck_again")
        self.close_btn = Button()
        self.close_btn.setObjectName("selfcheck_close")
        self.again.clicked.connect(self.start)
        self.close_btn.clicked.connect(self.ctx.port.go_back)
        self.box.addWidget(self.title)
        self.box.addWidget(self.kiosk)
        self.box.addWidget(self.status)
        self.box.addLayout(grid)
        self.box.addWidget(self.hint)
        self.box.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.close_btn)
        row.addStretch(1)
        row.addWidget(self.again)
        self.box.addLayout(row)
        self.results: list[Any] = []
        self.running = False

    def on_show(self) -> None:
        self.start()

    def start(self) -> None:
        if self.running:
            return
        self.running = True
        self.results = []
        self.again.setEnabled(False)
        self.retranslate()
        self.ctx.run(self.ctx.port.run_selfcheck(), self.show_results)

    def show_results(self, results: list[Any]) -> None:
        self.running = False
        self.results = list(results)
        self.again.setEnabled(True)
        self.retranslate()

    def retranslate(self) -> None:
        t = self.ctx.t
        self.title.setText(t("selfcheck.title"))
        port: Any = self.ctx.port
        self.kiosk.setText(t("selfcheck.kiosk", id=self.ctx.kiosk_label, version=self.ctx.version,
                             state=t(f"conn.{port.connection}")))
        self.status.setText(t("selfcheck.running") if self.running else "")
        self.status.setVisible(self.running)
        by_name = {r.name: r for r in self.results}
        for name, (what, verdict, detail) in self.rows.items():
            what.setText(t(f"selfcheck.{name}"))
            r = by_name.get(name)
            verdict.setText("" if r is None else t("selfcheck.ok") if r.ok else t("selfcheck.ng"))
            verdict.set_role("ok" if r is not None and r.ok else "bad")
            detail.setText("" if r is None else r.detail)
            visible = name not in ("echo_cancellation", "voice") or r is not None
            for w in (what, verdict, detail):
                w.setVisible(visible)
        self.hint.setText(t("selfcheck.speaker_hint"))
        self.again.set_text(t("selfcheck.again"))
        self.close_btn.set_text(t("selfcheck.close"))

    def clear(self) -> None:
        self.results = []
        self.retranslate()

    def focus_order(self) -> list[QWidget]:
        return [self.again, self.close_btn]


class EnrollPage(QWidget):
    """First start: kiosk number + one-time code from an administrator. The app does the I/O; the
    credential is saved 0600 and never shown."""

    submitted = Signal(int, str)

    def __init__(self, catalog: Catalog, server_url: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.server_url = server_url
        self.setObjectName("page_enroll")
        box = QVBoxLayout(self)
        box.setContentsMargins(64, 40, 64, 40)
        box.setSpacing(24)
        self.title = Label("title")
        self.lead = Label("lead")
        self.server = Label("small")
        self.server.setProperty("i18n_exempt", True)
        self.id_label = Label("")
        self.kiosk_id = QLineEdit()
        self.kiosk_id.setObjectName("enroll_id")
        self.code_label = Label("")
        self.code = QLineEdit()
        self.code.setObjectName("enroll_code")
        self.code.setEchoMode(QLineEdit.EchoMode.Password)
        self.id_label.setBuddy(self.kiosk_id)
        self.code_label.setBuddy(self.code)
        self.error = Label("bad")
        self.error.hide()
        self.submit = Button(kind="primary")
        self.submit.setObjectName("enroll_submit")
        self.submit.clicked.connect(self._submit)
        self.code.returnPressed.connect(self._submit)
        for w in (self.title, self.lead, self.server, self.id_label, self.kiosk_id, self.code_label, self.code,
                  self.error):
            box.addWidget(w)
        box.addStretch(1)
        box.addLayout(hbox(self.submit, stretch_ends=True))
        self.setTabOrder(self.kiosk_id, self.code)
        self.setTabOrder(self.code, self.submit)
        self.retranslate()

    def _submit(self) -> None:
        raw = self.kiosk_id.text().strip()
        if not raw.isdigit():
            self.show_error(self.catalog.t("enroll.bad_id"))
            return
        self.error.hide()
        self.set_busy(True)
        self.submitted.emit(int(raw), self.code.text().strip())

    def set_busy(self, busy: bool) -> None:
        self.submit.setEnabled(not busy)
        self.submit.set_text(self.catalog.t("enroll.busy" if busy else "enroll.submit"))

    def show_error(self, text: str) -> None:
        self.set_busy(False)
        self.code.clear()
        self.error.setText(text)
        self.error.show()

    def retranslate(self) -> None:
        t = self.catalog.t
        self.title.setText(t("enroll.title"))
        self.lead.setText(t("enroll.lead"))
        self.server.setText(t("enroll.server", url=self.server_url))
        self.id_label.setText(t("enroll.kiosk_id"))
        self.kiosk_id.setAccessibleName(t("enroll.kiosk_id"))
        self.code_label.setText(t("enroll.code"))
        self.code.setAccessibleName(t("enroll.code"))
        self.set_busy(False)
