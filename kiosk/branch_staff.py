"""「支所の職員を呼ぶ」 on the kiosk (issue 12 item 6), no widgets: the resident calls a person at the branch from any
screen; the place in the queue is kept (the server touches no ticket). ``branch_call`` events carry ``state``:

- ``calling``  staff of the branch's municipality were told; waiting for one to answer
- ``coming``   one answered (``branch.call_state``): 「職員が来ます」
- ``nobody``   nobody could be told now (nobody signed in): ask at the counter
- ``too_soon`` staff answered a moment ago; the server refuses a new call before its interval
- ``offline``  the server cannot be reached
- ``idle``     nothing to show (after the privacy reset, unless staff are still on their way)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from signaling.client import NotConnected, RequestFailed, SignalingClient
from signaling.protocol.errors import ErrorCode
from signaling.protocol.messages import BranchCall, BranchCallState
from signaling.protocol.replies import BranchCallPlaced


class BranchStaff:
    def __init__(self, client: SignalingClient, emit: Callable[[str, dict[str, Any]], None]) -> None:
        self.client = client
        self._emit = emit
        self.state = "idle"
        self.call_id: int | None = None

    async def call(self) -> str:
        try:
            reply = await self.client.ask(BranchCall())
        except RequestFailed as exc:
            return self._set("too_soon" if exc.code == ErrorCode.CONFLICT else "offline")
        except NotConnected:
            return self._set("offline")
        assert isinstance(reply, BranchCallPlaced)
        self.call_id = reply.call_id
        if self.state == "coming" and reply.repeated:
            return self.state
        return self._set("calling" if reply.recipients else "nobody")

    def on_state(self, msg: BranchCallState) -> None:
        if msg.state == "acknowledged":
            self.call_id = msg.call_id
            self._set("coming")

    def forget(self) -> None:
        """The privacy reset: a call still on its way stays on the screen for whoever is there."""
        if self.state != "calling":
            self._set("idle")

    def _set(self, state: str) -> str:
        self.state = state
        self._emit("branch_call", {"state": state})
        return state
