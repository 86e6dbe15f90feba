"""Under the resident's video while the specialist shows a PDF on the kiosk: the page as the resident sees it,
where a press or drag points (the resident sees the pointer), page turning, closing, why a PDF was refused, and
「支所で印刷」 (print it at the resident's branch) with how that print goes.
Widgets only: intents go out as signals, state comes in from the window."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from signaling.qt.pdf import PdfPageView
from staff_console.ui.text import Texts


class SharedDocPanel(QFrame):
    turn = Signal(int)  # the page to show (0-based)
    point = Signal(float, float)
    close_clicked = Signal()
    print_clicked = Signal()  # 支所で印刷: print the PDF shown at the resident's branch

    def __init__(self, texts: Texts, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shared_doc_panel")
        self.texts = texts
        self.state: dict[str, Any] = {"state": "closed"}
        self.pages, self.page, self.name = 0, 0, ""
        self.error: str | None = None
        self.view = PdfPageView()
        self.view.setObjectName("shared_doc_preview")
        self.view.interactive = True
        self.view.setMinimumHeight(240)
        self.view.pointed.connect(self.point.emit)
        self.title = QLabel()
        self.title.setObjectName("sub")
        self.title.setWordWrap(True)
        self.prev_btn = QPushButton()
        self.prev_btn.setObjectName("shared_prev")
        self.prev_btn.clicked.connect(lambda: self.turn.emit(self.page - 1))
        self.page_label = QLabel()
        self.next_btn = QPushButton()
        self.next_btn.setObjectName("shared_next")
        self.next_btn.clicked.connect(lambda: self.turn.emit(self.page + 1))
        self.close_btn = QPushButton()
        self.close_btn.setObjectName("shared_close")
        self.close_btn.clicked.connect(self.close_clicked.emit)
        self.print_btn = QPushButton()
        self.print_btn.setObjectName("shared_print")
        self.print_btn.clicked.connect(self.print_clicked.emit)
        self.print_status = QLabel()
        self.print_status.setObjectName("print_status")
        self.print_status.setWordWrap(True)
        self.printing: dict[str, Any] | None = None  # the last ``print`` event (its state and reason)
        self.status = QLabel()
        self.status.setObjectName("hint")
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        for w in (self.prev_btn, self.page_label, self.next_btn):
            row.addWidget(w)
        row.addStretch(1)
        row.addWidget(self.close_btn)
        print_row = QHBoxLayout()
        print_row.addWidget(self.print_btn)
        print_row.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.title)
        lay.addLayout(row)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.status)
        lay.addLayout(print_row)
        lay.addWidget(self.print_status)
        self.retranslate()

    def set_print(self, data: dict[str, Any]) -> None:
        """A ``print`` event: how the print at the branch goes (shown here whether it was this PDF or another)."""
        self.printing = dict(data)
        self.retranslate()

    def reset(self) -> None:
        self.printing = None
        self.view.load(None)
        self.state, self.pages, self.page, self.name, self.error = {"state": "closed"}, 0, 0, "", None
        self.retranslate()

    def set_state(self, data: dict[str, Any], pdf: bytes | None) -> None:
        state = data.get("state")
        if state == "error":
            self.error = str(data.get("code", ""))
        elif state == "shown":
            self.view.load(pdf)
            self.pages, self.page, self.error = int(data["pages"]), int(data["page"]), None
            self.name = str(data.get("name", ""))
            self.view.set_page(self.page)
            self.state = dict(data)
        elif state == "page":
            self.page = int(data["page"])
            self.view.set_page(self.page)
        elif state == "sending":
            self.error = None
            self.state = {**self.state, "sending": True}
        elif state == "closed":
            self.view.load(None)
            self.state, self.pages, self.page, self.error = {"state": "closed"}, 0, 0, None
        if state in ("shown", "error", "closed"):
            self.state.pop("sending", None)
        self.retranslate()

    def retranslate(self) -> None:
        t = self.texts
        shown = self.pages > 0
        self.title.setText(t.t("share.showing", name=self.name) if shown else t.t("share.title"))
        self.page_label.setText(t.t("share.page", page=self.page + 1, pages=self.pages) if shown else "")
        self.prev_btn.setText(t.t("share.prev"))
        self.next_btn.setText(t.t("share.next"))
        self.close_btn.setText(t.t("share.close"))
        self.prev_btn.setEnabled(shown and self.page > 0)
        self.next_btn.setEnabled(shown and self.page < self.pages - 1)
        self.close_btn.setEnabled(shown)
        self.print_btn.setText(t.t("print.button"))
        busy = self.printing is not None and self.printing.get("state") in ("sending", "printing")
        self.print_btn.setEnabled(shown and not busy)
        self.print_btn.setToolTip(t.t("print.button_hint"))
        self.print_status.setText(self._print_text())
        self.print_status.setVisible(self.printing is not None)
        state = self.printing.get("state") if self.printing is not None else None
        result = "done" if state == "done" else "bad" if state in ("paper_out", "no_printer", "failed") else ""
        if self.print_status.property("result") != result:
            self.print_status.setProperty("result", result)
            self.print_status.style().unpolish(self.print_status)
            self.print_status.style().polish(self.print_status)
        self.view.setVisible(shown)
        if self.error is not None:
            key = f"share.error.{self.error}"
            self.status.setText(t.t(key) if t.has(key) else t.t("share.error.unreadable"))
        elif self.state.get("sending"):
            self.status.setText(t.t("share.sending"))
        else:
            self.status.setText(t.t("share.hint") if shown else "")

    def _print_text(self) -> str:
        p, t = self.printing, self.texts
        if p is None:
            return ""
        state, reason = str(p.get("state", "")), str(p.get("reason") or "")
        text = t.t(f"print.state.{state}", name=p.get("name") or t.t("print.untitled"))
        key = f"print.reason.{reason}"
        if state in ("paper_out", "no_printer", "failed") and reason and t.has(key):
            text += " " + t.t(key)
        return text

    @property
    def active(self) -> bool:
        """Something to show: a PDF on the kiosk, one on its way, or why one was refused."""
        return self.pages > 0 or self.error is not None or bool(self.state.get("sending")) \
            or self.printing is not None
