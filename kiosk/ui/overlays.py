"""Layers over the current screen: "connection lost, reconnecting" (or "out of service"),
"are you still there?", and a guest's announcement 「○○（手話通訳）が参加します」 awaiting the resident's tap."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from kiosk.ui.port import UiContext
from kiosk.ui.widgets import Button, Card, Label, hbox


class Overlay(QWidget):
    """Dims the window and shows a card in the middle; follows the parent's size."""

    def __init__(self, ctx: UiContext, parent: QWidget) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("overlay")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        outer = QVBoxLayout(self)
        self.card = Card()
        self.card.setMaximumWidth(1100)
        self.card.box.setContentsMargins(48, 40, 48, 40)
        self.card.box.setSpacing(24)
        outer.addStretch(1)
        outer.addLayout(hbox(self.card, stretch_ends=True))
        outer.addStretch(1)
        self.hide()

    def cover(self) -> None:
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())
        self.raise_()
        self.show()


class OfflineOverlay(Overlay):
    """Shown after the server has been unreachable for ``delay_ms`` (brief blips do not flash the screen)."""

    def __init__(self, ctx: UiContext, parent: QWidget, delay_ms: int = 1500) -> None:
        super().__init__(ctx, parent)
        self.setObjectName("overlay")
        self.title = Label("title", center=True)
        self.lead = Label("lead", center=True)
        self.kept = Label("banner", center=True)
        self.elapsed = Label("small", center=True)
        self.elapsed.setObjectName("offline_elapsed")
        for w in (self.title, self.lead, self.kept, self.elapsed):
            self.card.box.addWidget(w)
        self.since: float | None = None
        self.starting = True
        self.ticket_kept = False
        self.stopped: str | None = None  # "revoked" / "replaced": out of service, no reconnecting
        self._delay = QTimer(self)
        self._delay.setSingleShot(True)
        self._delay.setInterval(delay_ms)
        self._delay.timeout.connect(self._appear)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self.retranslate)

    def set_online(self, online: bool, *, ticket_kept: bool = False, inline: bool = False) -> None:
        """``inline``: a call is going on; its media does not need the server, so the call screen shows a
        banner instead and this layer stays away."""
        self.ticket_kept = ticket_kept
        self.stopped = None
        if online or inline:
            if online:
                self.starting = False
                self.since = None
            self._delay.stop()
            self._tick.stop()
            self.hide()
            return
        if self.since is None:
            self.since = time.monotonic()
        if not self.isVisible() and not self._delay.isActive():
            self._delay.start()
        self.retranslate()

    def set_stopped(self, reason: str) -> None:
        """The server ended this kiosk for good: say so at once, calmly, and who can help."""
        self.stopped = reason
        self.ticket_kept = False
        self._delay.stop()
        self._tick.stop()
        self.retranslate()
        self.cover()

    def _appear(self) -> None:
        self.retranslate()
        self.cover()
        self._tick.start()

    def retranslate(self) -> None:
        t = self.ctx.t
        if self.stopped is not None:
            self.title.setText(t(f"stopped.{self.stopped}.title"))
            self.lead.setText(t(f"stopped.{self.stopped}.lead"))
            self.lead.setVisible(True)
            self.kept.setVisible(False)
            self.elapsed.setVisible(False)
            return
        self.title.setText(t("offline.starting") if self.starting else t("offline.title"))
        self.lead.setText(t("offline.lead"))
        self.lead.setVisible(not self.starting)
        self.kept.setText(t("offline.ticket_kept"))
        self.kept.setVisible(self.ticket_kept)
        secs = int(time.monotonic() - self.since) if self.since is not None else 0
        self.elapsed.setText(t("offline.elapsed", seconds=secs))
        self.elapsed.setVisible(not self.starting and secs >= 5)


class IdleOverlay(Overlay):
    """"Are you still there?" with a countdown and one big Continue button."""

    stay = Signal()

    def __init__(self, ctx: UiContext, parent: QWidget) -> None:
        super().__init__(ctx, parent)
        self.title = Label("title", center=True)
        self.lead = Label("lead", center=True)
        self.lead.setObjectName("idle_countdown")
        self.button = Button(kind="primary")
        self.button.setObjectName("idle_continue")
        self.button.clicked.connect(self._stay)
        self.card.box.addWidget(self.title)
        self.card.box.addWidget(self.lead)
        self.card.box.addLayout(hbox(self.button, stretch_ends=True))
        self.deadline = 0.0
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self.retranslate)

    def warn(self, seconds_left: float) -> None:
        self.deadline = time.monotonic() + seconds_left
        self.retranslate()
        self.cover()
        self.button.setFocus()
        self._tick.start()

    def dismiss(self) -> None:
        self._tick.stop()
        self.hide()

    def _stay(self) -> None:
        self.dismiss()
        self.stay.emit()

    def retranslate(self) -> None:
        t = self.ctx.t
        self.title.setText(t("idle.title"))
        self.lead.setText(t("idle.lead", seconds=max(0, round(self.deadline - time.monotonic()))))
        self.button.set_text(t("idle.continue"))


class GuestLeaveOverlay(Overlay):
    """The resident tapped 「○○さんに退出してもらう」 during the call: ask once more, in big words, before the
    guest is sent out (a mistaken tap on a touch screen must not cut an interpreter off)."""

    confirmed = Signal(str)  # the guest's peer

    def __init__(self, ctx: UiContext, parent: QWidget) -> None:
        super().__init__(ctx, parent)
        self.setObjectName("overlay")
        self.title = Label("title", center=True)
        self.title.setObjectName("guest_out_title")
        self.lead = Label("lead", center=True)
        self.yes = Button(kind="danger")
        self.yes.setObjectName("guest_out_yes")
        self.no = Button(kind="primary")
        self.no.setObjectName("guest_out_no")
        self.yes.clicked.connect(self._yes)
        self.no.clicked.connect(self.dismiss)
        for w in (self.title, self.lead):
            self.card.box.addWidget(w)
        self.card.box.addLayout(hbox(self.no, self.yes, stretch_ends=True))
        self.guest: Any = None  # the Participant

    def ask(self, guest: Any) -> None:
        self.guest = guest
        self.retranslate()
        self.cover()
        self.no.setFocus()

    def dismiss(self) -> None:
        self.guest = None
        self.hide()

    def _yes(self) -> None:
        if self.guest is not None:
            peer = self.guest.peer
            self.dismiss()
            self.confirmed.emit(peer)

    def retranslate(self) -> None:
        t = self.ctx.t
        g = self.guest
        who = t("call.name_role", role=t(f"guest.role.{g.guest_role}"), name=g.display_name) if g is not None else ""
        self.title.setText(t("guest.out_question", who=who))
        self.lead.setText(t("guest.out_note"))
        self.yes.set_text(t("guest.out_yes"))
        self.no.set_text(t("guest.out_no"))


class GuestConsentOverlay(Overlay):
    """The specialist admitted a guest: who it is and two big buttons. Nothing of the guest reaches the call
    before the resident taps 「参加してもらう」; 「お断りする」 keeps the guest out and the consultation goes on."""

    answered = Signal(bool)

    def __init__(self, ctx: UiContext, parent: QWidget) -> None:
        super().__init__(ctx, parent)
        self.setObjectName("overlay")
        self.title = Label("title", center=True)
        self.title.setObjectName("guest_consent_title")
        self.lead = Label("lead", center=True)
        self.note = Label("small", center=True)
        self.agree = Button(kind="primary")
        self.agree.setObjectName("guest_agree")
        self.refuse = Button(kind="danger")
        self.refuse.setObjectName("guest_refuse")
        self.agree.clicked.connect(lambda: self._answer(True))
        self.refuse.clicked.connect(lambda: self._answer(False))
        for w in (self.title, self.lead, self.note):
            self.card.box.addWidget(w)
        self.card.box.addLayout(hbox(self.agree, self.refuse, stretch_ends=True))
        self.request: Any = None

    def ask(self, request: Any) -> None:
        self.request = request
        self.retranslate()
        self.cover()
        self.agree.setFocus()

    def dismiss(self) -> None:
        self.request = None
        self.hide()

    def _answer(self, agree: bool) -> None:
        if self.request is not None:
            self.answered.emit(agree)

    def retranslate(self) -> None:
        t = self.ctx.t
        r = self.request
        role = t(f"guest.role.{r.role}") if r is not None else ""
        self.title.setText(t("guest.joins", name=r.display_name if r is not None else "", role=role))
        self.lead.setText(t("guest.question"))
        self.note.setText(t("guest.note"))
        self.agree.set_text(t("guest.agree"))
        self.refuse.set_text(t("guest.refuse"))
