"""The cluster contract both implementations keep, its exceptions, and the per-peer ordered dispatcher."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from signaling.tasks import cancel_all

log = logging.getLogger("madoguchi.cluster")

FrameHandler = Callable[[str, str], Awaitable[None]]  # (peer, serialized frame)
DisconnectHandler = Callable[[str, int, str], Awaitable[None]]  # (peer, close code, reason)
NodeLostHandler = Callable[[str, frozenset[str]], Awaitable[None]]  # (node id, peers that left with it)
Qualities = dict[int, dict[str, dict[str, Any]]]  # session id -> side -> latest stats


class ClusterError(Exception):
    pass


class ClusterUnavailable(ClusterError):
    """Redis could not be reached, or a command failed; nothing was changed or sent (or it is unknown)."""


class NodeIdInUse(ClusterError):
    """Another live process keeps refreshing this node id: two nodes must never share one."""


class Cluster(Protocol):
    """What crosses nodes: presence, forwarding, disconnect control, rooms, live quality, pending invites.

    Callbacks run on the node that holds the peer, in order per peer; they are set before ``start()``.
    """

    node_id: str
    on_frame: FrameHandler | None
    on_disconnect: DisconnectHandler | None
    on_node_lost: NodeLostHandler | None

    async def start(self) -> None: ...
    async def close(self, graceful: bool = True) -> None: ...
    async def tick(self) -> None: ...

    async def register(self, peer: str) -> int: ...
    async def unregister(self, peer: str, seq: int | None = None) -> bool: ...
    async def snapshot(self) -> dict[str, str]: ...
    async def locate(self, peer: str) -> str | None: ...

    async def forward(self, peer: str, text: str) -> bool: ...
    def forward_nowait(self, peer: str, text: str) -> asyncio.Future[bool]: ...
    async def disconnect(self, peer: str, code: int, reason: str) -> bool: ...

    async def join_room(self, session_id: int, peer: str) -> None: ...
    async def leave_room(self, session_id: int, peer: str) -> None: ...
    async def close_room(self, session_id: int) -> set[str]: ...
    async def room(self, session_id: int) -> set[str]: ...

    async def put_quality(self, session_id: int, side: str, stats: dict[str, Any]) -> None: ...
    async def drop_quality(self, session_id: int) -> None: ...
    async def qualities(self) -> Qualities: ...

    async def add_invite(self, session_id: int, staff_id: int) -> None: ...
    async def take_invite(self, session_id: int, staff_id: int) -> bool: ...
    async def drop_invites(self, session_id: int) -> None: ...
    async def invites(self) -> set[tuple[int, int]]: ...

    async def hold_lease(self, name: str, ttl_s: float) -> bool:
        """Take or renew the named lease for this node for ``ttl_s``: True while this node holds it (one node
        of the region at a time, e.g. the one that sends alert e-mails)."""
        ...


class Receiver:
    """The receiving end both implementations share: a frame or a close request for a socket held here goes to
    the callbacks the server set."""

    on_frame: FrameHandler | None = None
    on_disconnect: DisconnectHandler | None = None

    async def _frame(self, peer: str, text: str) -> None:
        if self.on_frame is None:
            log.warning("no on_frame handler: frame for %s dropped", peer)
            return
        await self.on_frame(peer, text)

    async def _disconnect(self, peer: str, code: int, reason: str) -> None:
        if self.on_disconnect is not None:
            await self.on_disconnect(peer, code, reason)


Job = Callable[[], Awaitable[None]]


class PeerDispatch:
    """Runs callbacks in arrival order per peer, peers independently: a slow socket delays only its own frames."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[Job]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def push(self, peer: str, job: Job) -> None:
        queue = self._queues.get(peer)
        if queue is not None:
            queue.append(job)
            return
        self._queues[peer] = deque([job])
        task = asyncio.get_running_loop().create_task(self._drain(peer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self, peer: str) -> None:
        queue = self._queues[peer]
        try:
            while queue:
                try:
                    await queue[0]()
                except Exception:
                    log.exception("cluster callback failed for %s", peer)
                queue.popleft()
        finally:
            del self._queues[peer]

    async def idle(self, timeout: float | None = None) -> bool:
        """Wait until every queued callback has run (a graceful close); False if some still had not in time
        (a socket stuck in its send)."""
        try:
            async with asyncio.timeout(timeout):
                while self._tasks:
                    await asyncio.gather(*list(self._tasks), return_exceptions=True)
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        await cancel_all(self._tasks)


def fresh(stamped: dict[str, tuple[float, Any]], now: float, ttl_s: float) -> dict[str, Any]:
    """The values of ``key -> (time, value)`` not older than ``ttl_s``."""
    return {k: v for k, (t, v) in stamped.items() if now - t <= ttl_s}


def quality_key(session_id: int, side: str) -> str:
    return f"{session_id}:{side}"


def invite_key(session_id: int, staff_id: int) -> str:
    return f"{session_id}:{staff_id}"


def split_pair(key: str) -> tuple[int, str]:
    sid, _, rest = key.partition(":")
    return int(sid), rest


def to_qualities(values: dict[str, Any]) -> Qualities:
    out: Qualities = {}
    for key, stats in values.items():
        sid, side = split_pair(key)
        out.setdefault(sid, {})[side] = stats
    return out


def to_invites(keys: Any) -> set[tuple[int, int]]:
    out = set()
    for key in keys:
        sid, staff = split_pair(key)
        out.add((sid, int(staff)))
    return out
