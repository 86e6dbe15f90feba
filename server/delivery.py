"""The one place that holds the hub: it tells the queue who is connected, and carries out the queue's
outboxes — frames to peers and call-room changes — in order. The engine calls it right after the reply
to the request that caused them has been posted, so a client reads the reply first, then the pushes."""

from __future__ import annotations

from server.queue.outbox import CloseRoom, JoinRoom, LeaveRoom, Outbox, Send
from server.queue.step import PresenceView
from signaling.hub import Hub


class Delivery:
    def __init__(self, hub: Hub | None = None) -> None:
        self._hub = hub

    def attach(self, hub: Hub) -> None:
        """The hub is made after the engine that this delivery serves (the hub's handler needs the engine)."""
        self._hub = hub

    @property
    def hub(self) -> Hub:
        assert self._hub is not None, "Delivery.attach(hub) first"
        return self._hub

    async def presence(self) -> PresenceView:
        return PresenceView(self.hub.connections.keys())

    async def deliver(self, outbox: Outbox) -> None:
        hub = self.hub
        for action in outbox.actions:
            match action:
                case Send(peer=peer, msg=msg):
                    hub.post(peer, msg)
                case JoinRoom(session_id=sid, peer=peer):
                    hub.join_room(sid, peer)
                case LeaveRoom(session_id=sid, peer=peer):
                    hub.leave_room(sid, peer)
                case CloseRoom(session_id=sid):
                    hub.close_room(sid)

    def is_connected(self, peer: str) -> bool:
        return self.hub.is_connected(peer)

    async def disconnect(self, peer: str, code: int, reason: str) -> None:
        await self.hub.disconnect(peer, code, reason)
