"""Garbage-collector policy for a long-running signaling node.

CPython's full (generation 2) collection walks every tracked object. A node
holding thousands of WebSockets has millions of them, so one full collection
stalls the event loop for a second or more (bench/README.md: a 1.4 s relay
stall with 10,000 sockets). Objects that live as long as their connection do
not need scanning while they live, so:

* after start-up, and after each burst of new connections has settled, the
  node moves everything alive into the permanent generation (``gc.freeze()``,
  O(1)); full collections then walk only what came after. Right before a
  burst is frozen, one full collection of the *unfrozen* part (what came
  since the last freeze: the burst, so its cost follows the burst, not the
  heap) frees what is already dead, so nothing dead is frozen;
* frozen objects are never collected, so a connection that was alive when it
  was frozen and closes later stays in memory if it dies in a reference cycle
  (each closed socket does: asyncio's transport keeps a bound method of
  itself; about 6 kB of heap per connection, bench/gc_policy.py). A *refresh*
  (thaw everything, one full collection, freeze what is left) reclaims it.
  It runs at a quiet moment (no call room open on this node) once
  ``refresh_s`` has passed, and in any case, calls open or not, once the
  objects frozen since the last refresh exceed ``refresh_growth`` times what
  was alive after it: what frozen-then-closed connections can hold stays a
  bounded fraction of the live heap, and each full pass pays for a
  proportional amount of new frozen objects (CPython's own rule for full
  collections, with 25 %, is the same idea).

The policy owns no thread: :meth:`GcPolicy.step` is called from the server's
tick loop; the clock is injected.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

log = logging.getLogger("madoguchi.gc")

Action = Literal["freeze", "refresh"]


@dataclass
class GcPolicy:
    freeze_after_connects: int = 500   # new connections since the last freeze that make a burst worth freezing
    settle_s: float = 3.0              # no new connection for this long: the burst is over
    refresh_s: float = 3600.0          # thaw, collect and freeze again at a quiet moment at most this often (0: never)
    refresh_growth: float = 0.5        # ... and at once, calls or not, when frozen-since-refresh > this x live after it
    clock: Callable[[], float] = time.monotonic
    freezes: int = 0
    refreshes: int = 0
    forced_refreshes: int = 0          # refreshes made for the bound while calls were open or before refresh_s
    freed_before_freeze: int = 0       # dead objects the collection before a freeze kept out of the frozen heap
    reclaimed: int = 0                 # objects the refreshes found unreachable
    frozen_at_refresh: int = 0         # objects frozen by the last refresh (or start-up): what was alive then
    frozen_since_refresh: int = 0      # objects frozen by bursts since
    last_refresh_pause_s: float = 0.0
    last_freeze_pause_s: float = 0.0
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
        self.frozen_at_refresh = gc.get_freeze_count()
        self.frozen_since_refresh = 0

    def over_bound(self) -> bool:
        return self.frozen_since_refresh > self.refresh_growth * max(self.frozen_at_refresh, 1)

    def step(self, connects_total: int, calls_open: int) -> Action | None:
        """Apply the policy; returns what it did, or None."""
        now = self.clock()
        if connects_total != self._last_connects:
            self._last_connects, self._last_connect_change = connects_total, now
        quiet_refresh = self.refresh_s > 0 and calls_open == 0 and now - self._last_refresh >= self.refresh_s
        if quiet_refresh or self.over_bound():
            self._refresh(connects_total, now, forced=not quiet_refresh)
            return "refresh"
        burst = connects_total - self._connects_at_freeze
        if burst >= self.freeze_after_connects and now - self._last_connect_change >= self.settle_s:
            self._freeze(connects_total, burst)
            return "freeze"
        return None

    def _freeze(self, connects_total: int, burst: int) -> None:
        t0 = time.perf_counter()
        self.freed_before_freeze += gc.collect()  # walks the unfrozen objects only: this burst, not the heap
        added = len(gc.get_objects())
        gc.freeze()
        self.last_freeze_pause_s = time.perf_counter() - t0
        self.frozen_since_refresh += added
        self.freezes += 1
        self._connects_at_freeze = connects_total
        log.info("gc: froze %d objects after %d new connections in %.0f ms", added, burst,
                 self.last_freeze_pause_s * 1000)

    def _refresh(self, connects_total: int, now: float, *, forced: bool) -> None:
        t0 = time.perf_counter()
        gc.unfreeze()
        self.reclaimed += gc.collect()
        gc.freeze()
        self.last_refresh_pause_s = time.perf_counter() - t0
        self.frozen_at_refresh = gc.get_freeze_count()
        self.frozen_since_refresh = 0
        self.refreshes += 1
        self.forced_refreshes += int(forced)
        self.freezes += 1
        self._connects_at_freeze = connects_total
        self._last_refresh = now
        log.info("gc: %s refresh collected in %.0f ms; %d objects frozen",
                 "bounded" if forced else "quiet-moment", self.last_refresh_pause_s * 1000, self.frozen_at_refresh)
