"""Calls from a branch's kiosk for a person at the branch (「支所の職員を呼ぶ」, issue 12 item 6), as a console of that
municipality receives them: ``branch.called`` adds one, ``branch.call_state`` (a colleague answered) or this
console's own ``branch.ack`` removes it. No widgets, no sockets of its own; event ``branch_calls`` (``calls``:
the open ones, oldest first)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from signaling.protocol.messages import BranchAck, BranchCalled, BranchCallState, ServerMessage
from signaling.protocol.replies import BranchCallAcked, Reply


class BranchCallDesk:
    def __init__(self, request: Callable[[Any], Awaitable[Reply | None]],
                 emit: Callable[[str, dict[str, Any]], None]) -> None:
        self._request = request
        self._emit = emit
        self.calls: dict[int, BranchCalled] = {}

    async def answer(self, call_id: int) -> bool:
        """"I am coming": the first answer wins (a refusal — a colleague was first — comes out as an ``error``
        event, and the colleague's answer removes the call here)."""
        ok = isinstance(await self._request(BranchAck(call_id=call_id)), BranchCallAcked)
        if ok:
            self._drop(call_id)
        return ok

    def on_message(self, msg: ServerMessage) -> bool:
        if isinstance(msg, BranchCalled):
            self.calls[msg.call_id] = msg
            self._changed()
            return True
        if isinstance(msg, BranchCallState):
            self._drop(msg.call_id)
            return True
        return False

    def _drop(self, call_id: int) -> None:
        if self.calls.pop(call_id, None) is not None:
            self._changed()

    def _changed(self) -> None:
        self._emit("branch_calls", {"calls": sorted(self.calls.values(), key=lambda c: c.at)})
