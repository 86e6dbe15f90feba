"""The specialist's callback list (折り返し電話, issue 12 item 4): the tasks of their municipality and services, claim
one, record how the call went. No widgets, no sockets of its own: the :class:`~staff_console.controller.StaffController`
owns one desk and hands it its requests and the server's ``callback.snapshot``. Event (through the controller's
emitter): ``callbacks`` (``items``: open and claimed tasks, earliest band first; ``mine``: the ones I hold).

The numbers are personal data: the desk keeps only what the server sent this account (its own municipality's
tasks) and forgets them at sign-out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from signaling.protocol.messages import CallbackClaim, CallbackList, CallbackOutcomeSet, CallbackSnapshot, ServerMessage
from signaling.protocol.models import CallbackItem, CallbackOutcome
from signaling.protocol.replies import CallbackTask, CallbackTasks, Reply

OUTCOMES: tuple[CallbackOutcome, ...] = ("reached", "no_answer", "wrong_number", "resolved")


class CallbackDesk:
    def __init__(self, request: Callable[[Any], Awaitable[Reply | None]], emit: Callable[[str, dict[str, Any]], None],
                 my_id: Callable[[], int | None]) -> None:
        self._request = request
        self._emit = emit
        self._my_id = my_id
        self.items: list[CallbackItem] = []

    def mine(self) -> list[CallbackItem]:
        me = self._my_id()
        return [i for i in self.items if i.state == "claimed" and i.claimed_by == me]

    async def refresh(self) -> list[CallbackItem]:
        reply = await self._request(CallbackList())
        if isinstance(reply, CallbackTasks):
            self._set(list(reply.items))
        return self.items

    async def claim(self, callback_id: int) -> CallbackItem | None:
        """Take the task (one console wins; a refusal comes out as an ``error`` event)."""
        reply = await self._request(CallbackClaim(callback_id=callback_id))
        return reply.item if isinstance(reply, CallbackTask) else None

    async def record(self, callback_id: int, outcome: CallbackOutcome, note: str = "") -> CallbackItem | None:
        reply = await self._request(CallbackOutcomeSet(callback_id=callback_id, outcome=outcome, note=note.strip()))
        return reply.item if isinstance(reply, CallbackTask) else None

    def forget(self) -> None:
        self._set([])

    def on_message(self, msg: ServerMessage) -> bool:
        if isinstance(msg, CallbackSnapshot):
            self._set(list(msg.items))
            return True
        return False

    def _set(self, items: list[CallbackItem]) -> None:
        self.items = items
        self._emit("callbacks", {"items": list(items), "mine": self.mine()})
