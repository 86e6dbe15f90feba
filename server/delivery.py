"""The one place that holds the hub and the cluster: it tells the queue who is connected (on every node),
and carries out the queue's outboxes — frames to peers and call-room changes — in order. A frame for a
peer on this node goes into its socket's queue; one for a peer on another node is forwarded through the
cluster (Redis), which keeps the order per peer. The engine calls it right after the reply to the request
that caused them has been posted, so a client reads the reply first, then the pushes.

``stamp(peer, msg)``, when given, may replace a frame just before it leaves for one peer: the app uses it
to give each ``session.start`` ICE servers with TURN credentials minted for that call (server/turn.py).

It is also the hub's ``Remote`` (rooms and peers on other nodes, for SDP relay) and the cluster's
receiving end (frames and close requests for sockets held here)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Container
from typing import Any

from server.cluster import Cluster, LocalCluster
from server.queue.outbox import CloseRoom, JoinRoom, LeaveRoom, Outbox, Send
from server.queue.step import PresenceView
from signaling.hub import Hub
from signaling.protocol.codec import dump

log = logging.getLogger("madoguchi.delivery")


class _Either:
    """Membership in either of two collections, without copying them (the presence view of several nodes)."""

    def __init__(self, a: Container[str], b: Container[str]) -> None:
        self.a, self.b = a, b

    def __contains__(self, item: object) -> bool:
        return item in self.a or item in self.b


Stamp = Callable[[str, Any], Any]


class Delivery:
    def __init__(self, cluster: Cluster, stamp: Stamp | None = None) -> None:
        self.cluster = cluster
        self.stamp = stamp
        self.one_node = isinstance(cluster, LocalCluster)  # then the hub alone knows who is connected
        self._hub: Hub | None = None
        cluster.on_frame = self._on_frame
        cluster.on_disconnect = self._on_disconnect

    def attach(self, hub: Hub) -> None:
        """The hub is made after the engine that this delivery serves (the hub's handler needs the engine)."""
        self._hub = hub

    @property
    def hub(self) -> Hub:
        assert self._hub is not None, "Delivery.attach(hub) first"
        return self._hub

    # ------------------------------------------------------------ the queue's sink
    async def presence(self) -> PresenceView:
        if self.one_node:
            return PresenceView(self.hub.connections.keys())  # a live view: no copy per operation
        return PresenceView(_Either(await self.cluster.snapshot(), self.hub.connections))

    async def deliver(self, outbox: Outbox) -> None:
        hub, cluster = self.hub, self.cluster
        forwarded: list[asyncio.Future[bool]] = []
        for action in outbox.actions:
            match action:
                case Send(peer=peer, msg=msg):
                    if self.stamp is not None:
                        msg = self.stamp(peer, msg)
                    if not hub.post(peer, msg):  # queued in call order: the frames share Redis round trips
                        forwarded.append(cluster.forward_nowait(peer, dump(msg)))
                case JoinRoom(session_id=sid, peer=peer):
                    hub.join_room(sid, peer)
                    await cluster.join_room(sid, peer)
                case LeaveRoom(session_id=sid, peer=peer):
                    hub.leave_room(sid, peer)
                    await cluster.leave_room(sid, peer)
                case CloseRoom(session_id=sid):
                    hub.close_room(sid)
                    await cluster.close_room(sid)
        for result in await asyncio.gather(*forwarded, return_exceptions=True):
            if isinstance(result, BaseException):
                log.warning("a frame for another node was not delivered: %s", result)

    # ------------------------------------------------------------ the hub's remote side
    async def room(self, session_id: int) -> set[str]:
        return await self.cluster.room(session_id)

    async def forward(self, peer: str, text: str) -> bool:
        return await self.cluster.forward(peer, text)

    # ------------------------------------------------------------ for routes and handlers
    def is_connected(self, peer: str) -> bool:
        return self.hub.is_connected(peer)

    async def disconnect(self, peer: str, code: int, reason: str) -> None:
        """Close a peer's socket wherever it is (revocation, an account disabled)."""
        if self.hub.is_connected(peer):
            await self.hub.disconnect(peer, code, reason)
        else:
            await self.cluster.disconnect(peer, code, reason)

    # ------------------------------------------------------------ from other nodes
    async def _on_frame(self, peer: str, text: str) -> None:
        self.hub.post(peer, text)

    async def _on_disconnect(self, peer: str, code: int, reason: str) -> None:
        await self.hub.disconnect(peer, code, reason)
