"""「印刷しています」 over the call: the specialist prints a document at the branch's printer (kiosk/printing.py).

Big text, one state at a time, from the controller's ``printing`` event: printing → 「印刷しました。プリンターから
お取りください」 (closes by itself after a while, or with 「閉じる」), or why it could not print (paper out, no
printer, failed), which stays until the resident closes it — the specialist is told the same at once."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

from kiosk.ui.overlays import Overlay
from kiosk.ui.port import UiContext
from kiosk.ui.widgets import Button, Label, hbox

DONE_SHOWN_MS = 20_000  # long enough to walk to the printer and back
STATES = ("printing", "done", "paper_out", "no_printer", "failed")


class PrintOverlay(Overlay):
    def __init__(self, ctx: UiContext, parent: QWidget) -> None:
        super().__init__(ctx, parent)
        self.setObjectName("print_overlay")
        self.title = Label("title", center=True)
        self.title.setObjectName("print_title")
        self.lead = Label("lead", center=True)
        self.name = Label("small", center=True)
        self.close_btn = Button(kind="primary")
        self.close_btn.setObjectName("print_close")
        self.close_btn.clicked.connect(self.dismiss)
        for w in (self.title, self.lead, self.name):
            self.card.box.addWidget(w)
        self.card.box.addLayout(hbox(self.close_btn, stretch_ends=True))
        self.state = ""
        self.doc_name = ""
        self._done = QTimer(self)
        self._done.setSingleShot(True)
        self._done.setInterval(DONE_SHOWN_MS)
        self._done.timeout.connect(self.dismiss)

    def show_state(self, data: dict[str, Any]) -> None:
        state = str(data.get("state", ""))
        if state not in STATES:
            return
        self.state, self.doc_name = state, str(data.get("name") or "")
        self.retranslate()
        self.cover()
        if state == "done":
            self._done.start()
        else:
            self._done.stop()
        if state != "printing":
            self.close_btn.setFocus()

    def dismiss(self) -> None:
        self._done.stop()
        self.state = ""
        self.hide()

    def retranslate(self) -> None:
        if not self.state:
            return
        t = self.ctx.t
        self.title.setText(t(f"print.{self.state}.title"))
        self.title.set_role("title" if self.state in ("printing", "done") else "big")
        self.lead.setText(t(f"print.{self.state}.lead"))
        self.name.setText(t("print.document", name=self.doc_name) if self.doc_name else "")
        self.name.setVisible(bool(self.doc_name))
        self.close_btn.set_text(t("print.close"))
        self.close_btn.setVisible(self.state != "printing")
