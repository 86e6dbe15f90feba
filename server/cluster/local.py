"""One node, no Redis: the embedded default. The same contract as :class:`RedisCluster`, kept in memory."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from server.cluster.base import (
    DisconnectHandler,
    FrameHandler,
    NodeLostHandler,
    PeerDispatch,
    Qualities,
    Receiver,
    fresh,
    invite_key,
    quality_key,
    split_pair,
    to_invites,
    to_qualities,
)


class LocalCluster(Receiver):
    def __init__(self, node_id: str = "local", clock: Callable[[], float] = time.time, *,
                 quality_ttl_s: float = 60.0, invite_ttl_s: float = 3600.0) -> None:
        self.node_id = node_id
        self.clock = clock
        self.quality_ttl_s = quality_ttl_s
        self.invite_ttl_s = invite_ttl_s
        self.on_frame: FrameHandler | None = None
        self.on_disconnect: DisconnectHandler | None = None
        self.on_node_lost: NodeLostHandler | None = None  # never called: a single node outlives nobody
        self.dispatch = PeerDispatch()
        self._peers: dict[str, int] = {}
        self._seq = 0
        self._rooms: dict[int, set[str]] = {}
        self._quality: dict[str, tuple[float, dict[str, Any]]] = {}
        self._invites: dict[str, tuple[float, None]] = {}

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        pass

    async def close(self, graceful: bool = True) -> None:
        if graceful:
            await self.dispatch.idle(timeout=5.0)
        await self.dispatch.close()

    async def tick(self) -> None:
        now = self.clock()
        self._quality = {k: v for k, v in self._quality.items() if now - v[0] <= self.quality_ttl_s}
        self._invites = {k: v for k, v in self._invites.items() if now - v[0] <= self.invite_ttl_s}

    async def hold_lease(self, name: str, ttl_s: float) -> bool:
        return True  # the only node holds every lease

    # ------------------------------------------------------------ presence
    async def register(self, peer: str) -> int:
        self._seq += 1
        self._peers[peer] = self._seq
        return self._seq

    async def unregister(self, peer: str, seq: int | None = None) -> bool:
        current = self._peers.get(peer)
        if current is None or (seq is not None and seq != current):
            return False
        del self._peers[peer]
        return True

    async def snapshot(self) -> dict[str, str]:
        return dict.fromkeys(self._peers, self.node_id)

    async def locate(self, peer: str) -> str | None:
        return self.node_id if peer in self._peers else None

    # ------------------------------------------------------------ forwarding
    async def forward(self, peer: str, text: str) -> bool:
        if peer not in self._peers:
            return False
        self.dispatch.push(peer, lambda: self._frame(peer, text))
        return True

    def forward_nowait(self, peer: str, text: str) -> asyncio.Future[bool]:
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        fut.set_result(peer in self._peers)
        if fut.result():
            self.dispatch.push(peer, lambda: self._frame(peer, text))
        return fut

    async def disconnect(self, peer: str, code: int, reason: str) -> bool:
        if peer not in self._peers:
            return False
        self.dispatch.push(peer, lambda: self._disconnect(peer, code, reason))
        return True

    # ------------------------------------------------------------ rooms
    async def join_room(self, session_id: int, peer: str) -> None:
        self._rooms.setdefault(session_id, set()).add(peer)

    async def leave_room(self, session_id: int, peer: str) -> None:
        members = self._rooms.get(session_id)
        if members is not None:
            members.discard(peer)
            if not members:
                del self._rooms[session_id]

    async def close_room(self, session_id: int) -> set[str]:
        return self._rooms.pop(session_id, set())

    async def room(self, session_id: int) -> set[str]:
        return set(self._rooms.get(session_id, ()))

    # ------------------------------------------------------------ live call quality
    async def put_quality(self, session_id: int, side: str, stats: dict[str, Any]) -> None:
        self._quality[quality_key(session_id, side)] = (self.clock(), dict(stats))

    async def drop_quality(self, session_id: int) -> None:
        for key in [k for k in self._quality if split_pair(k)[0] == session_id]:
            del self._quality[key]

    async def qualities(self) -> Qualities:
        return to_qualities(fresh(self._quality, self.clock(), self.quality_ttl_s))

    # ------------------------------------------------------------ pending invites
    async def add_invite(self, session_id: int, staff_id: int) -> None:
        self._invites[invite_key(session_id, staff_id)] = (self.clock(), None)

    async def take_invite(self, session_id: int, staff_id: int) -> bool:
        entry = self._invites.pop(invite_key(session_id, staff_id), None)
        return entry is not None and self.clock() - entry[0] <= self.invite_ttl_s

    async def drop_invites(self, session_id: int) -> None:
        for key in [k for k in self._invites if split_pair(k)[0] == session_id]:
            del self._invites[key]

    async def invites(self) -> set[tuple[int, int]]:
        return to_invites(fresh(self._invites, self.clock(), self.invite_ttl_s))
