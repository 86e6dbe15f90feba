"""Garbage-collector policy for a long-running signaling node.

CPython's full (generation 2) collection walks every tracked object. A node
holding thousands of WebSockets has millions of them, so one full collection
stalls the event loop for a second or more (bench/README.md: a 1.4 s relay
stall with 10,000 sockets). Objects that live as long as their connection do
not need scanning while they live, so:

* after start-up, and after each burst of new connections has settled, the
  node moves everything alive into the permanent generation (``gc.freeze()``,
  O(1)); full collections then walk only what came after;
* frozen objects are never collected, so reference cycles among them that die
  later (a closed connection's objects) stay in memory. Every ``refresh_s``,
  at a quiet moment (no call room open on this node), the node thaws
  everything, collects it in one full pass, and freezes what is left. That
  one pause lands where it costs nothing: no call is being set up.

The policy owns no thread: :meth:`GcPolicy.step` is called from the server's
tick loop.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("madoguchi.gc")


@dataclass
class GcPolicy:
    freeze_after_connects: int = 500   # new connections since the last freeze that make a burst worth freezing
    settle_s: float = 3.0              # no new connection for this long: the burst is over
    refresh_s: float = 3600.0          # thaw, collect and freeze again at most this often (0: never)
    clock: Callable[[], float] = time.monotonic
    freezes: int = 0
    refreshes: int = 0
    last_refresh_pause_s: float = 0.0
    reclaimed: int = 0                 # objects the refreshes found unreachable
    _connects_at_freeze: int = 0
    _last_connects: int = 0
    _last_connect_change: float = field(default=0.0)
    _last_refresh: float = field(default=0.0)

    def __post_init__(self) -> None:
        now = self.clock()
        self._last_connect_change = now
        self._last_refresh = now

    def start(self) -> None:
        """Once the application is built: start-up objects (app, models, metadata) never need collecting."""
        gc.collect()
        gc.freeze()
        self.freezes += 1

    def step(self, connects_total: int, calls_open: int) -> str | None:
        """Apply the policy; returns what it did ("freeze", "refresh") or None."""
        now = self.clock()
        if connects_total != self._last_connects:
            self._last_connects, self._last_connect_change = connects_total, now
        if self.refresh_s > 0 and calls_open == 0 and now - self._last_refresh >= self.refresh_s:
            self._refresh(connects_total, now)
            return "refresh"
        burst = connects_total - self._connects_at_freeze
        if burst >= self.freeze_after_connects and now - self._last_connect_change >= self.settle_s:
            gc.collect(1)  # the young generations only (cheap): do not freeze their garbage
            gc.freeze()
            self.freezes += 1
            self._connects_at_freeze = connects_total
            log.info("gc: froze the heap after %d new connections", burst)
            return "freeze"
        return None

    def _refresh(self, connects_total: int, now: float) -> None:
        t0 = time.perf_counter()
        gc.unfreeze()
        self.reclaimed += gc.collect()
        gc.freeze()
        self.last_refresh_pause_s = time.perf_counter() - t0
        self.refreshes += 1
        self.freezes += 1
        self._connects_at_freeze = connects_total
        self._last_refresh = now
        log.info("gc: refresh collected in %.0f ms", self.last_refresh_pause_s * 1000)
