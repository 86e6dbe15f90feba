"""Ringing: an offered resident (who/where/what, a countdown) and an invitation to join a colleague's call."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from signaling.protocol.messages import InviteIncoming, Offer
from staff_console.ui.text import Texts


class OfferDialog(QDialog):
    """Not modal: the queue stays readable behind it. Enter accepts; Esc declines."""

    accepted_offer = Signal(int)
    declined_offer = Signal(int)
    history_requested = Signal(str)  # the case number: show the case's history (README "Cases")

    def __init__(self, texts: Texts, remaining: Callable[[], float], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.texts = texts
        self.remaining = remaining
        self.offer: Offer | None = None
        self.setModal(False)
        self.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, True)
        self.setMinimumWidth(460)
        self.heading = QLabel()
        self.heading.setObjectName("title")
        self.service = QLabel()
        self.service.setObjectName("big")
        self.service.setWordWrap(True)
        self.where = QLabel()
        self.needs = QLabel()
        self.needs.setWordWrap(True)
        self.unmet = QLabel()  # a required skill you lack (sign language): written chat, invite an interpreter
        self.unmet.setObjectName("badge")
        self.unmet.setWordWrap(True)
        self.case = QLabel()  # the resident presented a case number: a continuing matter (README "Cases")
        self.case.setObjectName("badge")
        self.case.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.waited = QLabel()
        self.transferred = QLabel()
        self.transferred.setObjectName("badge")
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.countdown = QLabel()
        self.countdown.setObjectName("hint")
        self.accept_btn = QPushButton()
        self.accept_btn.setObjectName("accept")
        self.accept_btn.setDefault(True)
        self.accept_btn.clicked.connect(self._accept)
        self.decline_btn = QPushButton()
        self.decline_btn.clicked.connect(self._decline)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(22, 18, 22, 18)
        lay.setSpacing(8)
        lay.addWidget(self.heading)
        lay.addWidget(self.service)
        lay.addWidget(self.where)
        lay.addWidget(self.needs)
        lay.addWidget(self.unmet)
        self.case_history = QPushButton()
        self.case_history.setObjectName("case_history_button")
        self.case_history.clicked.connect(
            lambda: self.offer is not None and self.offer.case_number is not None
            and self.history_requested.emit(self.offer.case_number))
        case_row = QHBoxLayout()
        case_row.addWidget(self.case, 1)
        case_row.addWidget(self.case_history)
        lay.addLayout(case_row)
        row = QHBoxLayout()
        row.addWidget(self.waited)
        row.addStretch(1)
        row.addWidget(self.transferred)
        lay.addLayout(row)
        lay.addSpacing(6)
        lay.addWidget(self.bar)
        lay.addWidget(self.countdown)
        buttons = QHBoxLayout()
        buttons.addWidget(self.decline_btn)
        buttons.addStretch(1)
        buttons.addWidget(self.accept_btn)
        lay.addLayout(buttons)
        self._timer = QTimer(self)
        self._timer.setInterval(200)
        self._timer.timeout.connect(self._tick)
        self._flash = False
        self.retranslate()

    def show_offer(self, offer: Offer) -> None:
        self.offer = offer
        self.bar.setMaximum(max(1, int(offer.expires_in_s * 10)))
        self._render()
        self._timer.start()
        self.show()
        self.raise_()
        self.activateWindow()

    def close_offer(self) -> None:
        self._timer.stop()
        self.offer = None
        self.hide()

    def retranslate(self) -> None:
        t = self.texts
        self.setWindowTitle(t.t("offer.window"))
        self.accept_btn.setText(t.t("offer.accept"))
        self.decline_btn.setText(t.t("offer.decline"))
        self.transferred.setText(t.t("offer.transferred"))
        self.case_history.setText(t.t("offer.case_history"))
        self._render()

    def _render(self) -> None:
        o, t = self.offer, self.texts
        if o is None:
            return
        self.heading.setText(t.t("offer.heading"))
        self.service.setText(t.service(o.service_code))
        self.where.setText(t.t("offer.where", where=t.where(o.branch, o.municipality)))
        lang = t.t("offer.language", language=t.language_name(o.language)) if o.language != "ja" else ""
        self.needs.setText("  ".join(x for x in (t.t("offer.needs", needs=t.needs(o.needs)), lang) if x))
        if o.unmet_needs:
            self.unmet.setText(t.t("offer.unmet", needs=t.needs(o.unmet_needs)))
        elif o.written:
            self.unmet.setText(t.t("offer.written"))
        self.unmet.setVisible(bool(o.unmet_needs) or o.written)
        self.case.setText(t.t("offer.case", number=o.case_number) if o.case_number else "")
        self.case.setVisible(o.case_number is not None)
        self.case_history.setVisible(o.case_number is not None)
        self.waited.setText(t.t("offer.waited", waited=t.waited(o.waited_s)))
        self.transferred.setVisible(o.transferred)
        self._tick()

    def _tick(self) -> None:
        left = self.remaining()
        self.bar.setValue(int(left * 10))
        self.countdown.setText(self.texts.t("offer.countdown", n=int(left + 0.999)))
        self._flash = not self._flash
        self.heading.setStyleSheet("color: #c25e00;" if self._flash else "")

    def _accept(self) -> None:
        if self.offer is not None:
            tid = self.offer.ticket_id
            self.close_offer()
            self.accepted_offer.emit(tid)

    def _decline(self) -> None:
        if self.offer is not None:
            tid = self.offer.ticket_id
            self.close_offer()
            self.declined_offer.emit(tid)

    def reject(self) -> None:  # Esc / window close = decline
        self._decline()


class InviteDialog(QDialog):
    answered = Signal(bool)

    def __init__(self, texts: Texts, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.texts = texts
        self.invite: InviteIncoming | None = None
        self.setModal(False)
        self.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, True)
        self.setMinimumWidth(420)
        self.heading = QLabel()
        self.heading.setObjectName("title")
        self.body = QLabel()
        self.body.setWordWrap(True)
        self.note = QLabel()
        self.note.setObjectName("hint")
        self.note.setWordWrap(True)
        self.join_btn = QPushButton()
        self.join_btn.setObjectName("accept")
        self.join_btn.clicked.connect(lambda: self._answer(True))
        self.no_btn = QPushButton()
        self.no_btn.clicked.connect(lambda: self._answer(False))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(22, 18, 22, 18)
        lay.addWidget(self.heading)
        lay.addWidget(self.body)
        lay.addWidget(self.note)
        row = QHBoxLayout()
        row.addWidget(self.no_btn)
        row.addStretch(1)
        row.addWidget(self.join_btn)
        lay.addLayout(row)
        self.retranslate()

    def show_invite(self, invite: InviteIncoming, busy: bool) -> None:
        self.invite = invite
        self.join_btn.setEnabled(not busy)
        self._render(busy)
        self.show()
        self.raise_()

    def retranslate(self) -> None:
        t = self.texts
        self.setWindowTitle(t.t("invite.window"))
        self.heading.setText(t.t("invite.heading"))
        self.join_btn.setText(t.t("invite.join"))
        self.no_btn.setText(t.t("invite.decline"))
        self._render(not self.join_btn.isEnabled())

    def _render(self, busy: bool) -> None:
        if self.invite is None:
            return
        t = self.texts
        self.body.setText(t.t("invite.body", name=self.invite.from_name, service=t.service(self.invite.service_code)))
        self.note.setText(t.t("invite.busy") if busy else t.t("invite.note"))

    def _answer(self, accept: bool) -> None:
        self.hide()
        if self.invite is not None:
            self.invite = None
            self.answered.emit(accept)

    def reject(self) -> None:
        self._answer(False)
