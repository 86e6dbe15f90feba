"""The resident's side of 書かない窓口 (issue 11 item 4), no widgets: a form the specialist filled arrives
(``form.show``), the window shows it in large text, and the resident answers 「この内容でよい」 or 「なおしてほしい」
(marking the fields that are wrong, or asking for it to be explained again). The answer names the content hash it
answered; the server refuses a tap on a form that was replaced meanwhile (the newer one is shown instead).

``form`` events carry ``state`` and ``show`` (the :class:`~signaling.protocol.messages.FormShow` on the screen,
or None):

- ``showing``      a form waits for the resident (``notice``: ``replaced`` when a newer revision replaced the one
                   on the screen, ``offline`` / ``error`` when the answer did not get through)
- ``sending``      the answer is on its way
- ``confirmed``    the resident confirmed it (the server stored it)
- ``change_sent``  the specialist was asked to change it
- ``idle``         nothing to show (the call ended, the privacy reset)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from signaling.client import ClientError, RequestFailed, SignalingClient
from signaling.protocol.errors import ErrorCode
from signaling.protocol.messages import FormAnswer, FormShow
from signaling.protocol.replies import FormAnswered


class FormConfirmDesk:
    def __init__(self, client: SignalingClient, emit: Callable[[str, dict[str, Any]], None],
                 touch: Callable[[], None]) -> None:
        self.client = client
        self._emit = emit
        self._touch = touch
        self.show: FormShow | None = None
        self.state = "idle"

    def on_show(self, msg: FormShow) -> None:
        current = self.show
        if current is not None and current.confirmation_id == msg.confirmation_id and current.revision > msg.revision:
            return  # an older revision delivered late (a reconnect's re-send): keep the newer one
        # the specialist changed the form the resident is reading (or just answering): say so
        replaced = current is not None and current.confirmation_id == msg.confirmation_id
        self.show = msg
        self._touch()
        self._set("showing", notice="replaced" if replaced else None)

    async def answer(self, confirm: bool, changes: list[str] | None = None,
                     reason: Literal["wrong", "explain"] | None = None) -> str:
        """「この内容でよい」 (``confirm``) or 「なおしてほしい」 with the fields marked 「ここがちがう」; returns
        the new state."""
        show = self.show
        if show is None or self.state == "sending":
            return self.state
        self._touch()
        marked = [f.key for f in show.content.fields if f.key in (changes or [])]
        msg = FormAnswer(confirmation_id=show.confirmation_id, content_hash=show.content_hash,
                         answer="confirm" if confirm else "change", changes=[] if confirm else marked,
                         reason=None if confirm else reason or ("wrong" if marked else "explain"))
        self._set("sending")
        try:
            reply = await self.client.ask(msg)
        except RequestFailed as exc:
            if self.show is not show:  # a newer revision arrived meanwhile and is on the screen
                return self._set("showing", notice="replaced")
            stale = exc.code == ErrorCode.CONFLICT and exc.details.get("reason") == "stale"
            if exc.code == ErrorCode.CONFLICT and exc.details.get("reason") == "ended":
                return self.forget()
            return self._set("showing", notice="replaced" if stale else "error")
        except ClientError:
            return self._set("showing", notice="offline")
        if self.show is not show:
            return self._set("showing", notice="replaced")
        assert isinstance(reply, FormAnswered)
        self.show = None
        return self._set("confirmed" if reply.state == "confirmed" else "change_sent")

    def forget(self) -> str:
        """The call ended or the privacy reset: nothing of the form stays on the screen."""
        self.show = None
        return self._set("idle") if self.state != "idle" else self.state

    def _set(self, state: str, notice: str | None = None) -> str:
        self.state = state
        self._emit("form", {"state": state, "show": self.show, "notice": notice})
        return state
