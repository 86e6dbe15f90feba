"""What crosses server nodes (DESIGN §7): presence, node liveness, forwarding, disconnect control, call rooms,
live call quality and pending invites. Independent of FastAPI and of the queue.

One contract (:class:`Cluster`), two implementations: :class:`LocalCluster` (one node, in memory, the
embedded default) and :class:`RedisCluster` (several nodes sharing one Redis). :func:`make_cluster` picks.

Contract, in short:

- ``register(peer) -> seq`` when this node holds the peer's socket; ``unregister(peer, seq) -> bool`` when it
  closes: True means the peer has really left (False: it is connected elsewhere by now, or its node was
  already reported lost), so only then is the departure processed. A newer registration on another node
  closes the older socket with 4002 (``on_disconnect`` there).
- ``snapshot() -> {peer: node id}`` for peers on live nodes: one round trip that reads only the changes
  since the last snapshot (a second when a node joined or left); ``locate(peer) -> node id | None``.
- ``forward(peer, text) -> bool`` hands a serialized frame to the node holding the peer, which calls
  ``on_frame(peer, text)``; ``disconnect(peer, code, reason) -> bool`` likewise calls ``on_disconnect``.
  Order is kept per peer from one sender; False: no live node holds the peer. ``forward_nowait`` queues
  at once and returns the future (an outbox of many frames then shares round trips).
- ``on_node_lost(node id, peers)`` runs once cluster-wide, on one survivor, when a node's lease lapses;
  ``peers`` are those whose latest registration was there. Then those entries are removed. If the handler
  raises it is retried on a later tick (it should tolerate a repeat). A node that finds its own lease lapsed
  closes its sockets with 1001 and starts a new life (so reports itself lost).
- ``tick()`` = ``refresh()`` (lease) + ``watch()`` (lost nodes, stale quality/invites); RedisCluster runs
  both every ``heartbeat_s`` unless ``autotick=False`` (tests drive it).

Redis key layout (prefix ``madoguchi:``; an *instance* is one life of a node, ``<node id>#<life>``)::

    seq                   STRING  registration counter (seq numbers, increasing cluster-wide)
    presence-log          STREAM  every change of ``where`` (p=peer, l=location, "" = gone); MAXLEN ~100k
    nodes                 HASH    node id -> current life
    lives:<node>          STRING  life counter of a node id
    alive:<node>          STRING  the node's live life; PX ttl_s (3 s), refreshed every heartbeat_s (1 s)
    where                 HASH    peer -> "<instance>|<seq>" of its latest registration
    peers:<instance>      HASH    peer -> seq, the sockets that instance holds
    chan:<instance>       pub/sub "f\\n<peer>\\n<frame>" | "d\\n<peer>\\n<guard seq>\\n<code>\\n<reason>"
    lost:<instance>       STRING  lock (SET NX PX lock_ttl_s) held by the survivor handling that loss
    room:<session>        SET     peers of a call room; PX 24 h, renewed on join
    quality               HASH    "<session>:<side>" -> JSON [time, stats]; older than quality_ttl_s ignored
    invites               HASH    "<session>:<staff id>" -> time; older than invite_ttl_s ignored

Exceptions::

    ClusterError
     ├── ClusterUnavailable   Redis unreachable or a command failed (nothing, or an unknown part, was done)
     └── NodeIdInUse          another live process keeps this node id's lease (start-up)
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable

from server.cluster.base import (
    Cluster,
    ClusterError,
    ClusterUnavailable,
    DisconnectHandler,
    FrameHandler,
    NodeIdInUse,
    NodeLostHandler,
    Qualities,
)
from server.cluster.local import LocalCluster
from server.cluster.redis_cluster import RedisCluster

__all__ = [
    "Cluster",
    "ClusterError",
    "ClusterUnavailable",
    "DisconnectHandler",
    "FrameHandler",
    "LocalCluster",
    "NodeIdInUse",
    "NodeLostHandler",
    "Qualities",
    "RedisCluster",
    "default_node_id",
    "make_cluster",
]


def default_node_id() -> str:
    """Host and process: unique per uvicorn process (set MADOGUCHI_NODE_ID for a stable, readable name)."""
    return f"{socket.gethostname()}-{os.getpid()}"


def make_cluster(redis_url: str, node_id: str, clock: Callable[[], float] = time.time) -> Cluster:
    """RedisCluster when a Redis URL is configured, else LocalCluster."""
    if redis_url:
        return RedisCluster(redis_url, node_id, clock)
    return LocalCluster(node_id, clock)
