"""The server's garbage-collector policy (server/gc_policy.py) on the real collector, with an injected clock.

Each scenario runs in a fresh interpreter. The collector is process-wide: in the test process, a refresh (thaw
everything, collect everything) would also collect whatever earlier tests left behind, frozen there by the
servers they started (each server's policy freezes the heap at start-up), and run its finalizers inside this
test: an unclosed socket's ResourceWarning then failed the refresh test (seen on a loaded machine, where more
tests leave something behind). Here the heap holds only what the scenario makes, and the test process's heap
is never thawed."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import weakref
from pathlib import Path
from typing import Any

from server.gc_policy import GcPolicy

ROOT = Path(__file__).resolve().parents[1]


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Node:
    """Stands for a connection's objects: a reference cycle, as asyncio's transports form (a bound method of
    themselves), so only the cyclic collector frees them."""

    def __init__(self) -> None:
        self.me = self


def isolated(scenario: str) -> dict[str, Any]:
    """Run ``scenario`` (a function of this module) in a fresh interpreter, warnings as errors; its result."""
    code = f"import json; from tests.test_gc_policy import {scenario} as s; print(json.dumps(s()))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-W", "error", "-c", code], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# ---------------------------------------------------------------- scenarios (run in the child)
def burst_is_frozen_once_settled() -> dict[str, Any]:
    clock = Clock()
    policy = GcPolicy(freeze_after_connects=100, settle_s=3.0, refresh_s=0, refresh_growth=1e9, clock=clock)
    policy.start()
    steps = [policy.step(connects_total=99, calls_open=0),    # not a burst yet
             policy.step(connects_total=150, calls_open=0)]   # a burst, still arriving
    clock.t += 2.0
    steps.append(policy.step(connects_total=150, calls_open=0))  # not settled for 3 s yet
    frozen = gc.get_freeze_count()
    clock.t += 1.5
    steps.append(policy.step(connects_total=150, calls_open=0))
    grew = gc.get_freeze_count() > frozen
    clock.t += 10
    steps.append(policy.step(connects_total=200, calls_open=0))  # 50 more: under the threshold
    clock.t += 10
    steps.append(policy.step(connects_total=200, calls_open=0))
    return {"steps": steps, "frozen_grew": grew, "freezes": policy.freezes}


def dead_objects_are_not_frozen() -> dict[str, Any]:
    clock = Clock()
    policy = GcPolicy(freeze_after_connects=1, settle_s=0.0, refresh_s=0, refresh_growth=1e9, clock=clock)
    policy.start()
    node = Node()
    ref = weakref.ref(node)
    gc.collect(1)  # survives the young collections into the oldest generation, as a burst's objects do
    del node       # ... and dies there in a cycle (a connection closed before its burst settled)
    gc.collect(1)
    dead_but_there = ref() is not None
    action = policy.step(connects_total=1, calls_open=0)
    return {"action": action, "dead_but_there": dead_but_there, "freed": ref() is None,
            "freed_before_freeze": policy.freed_before_freeze}


def quiet_refresh_reclaims_closed_connections() -> dict[str, Any]:
    clock = Clock()
    policy = GcPolicy(freeze_after_connects=1, settle_s=0.0, refresh_s=60.0, refresh_growth=1e9, clock=clock)
    policy.start()
    node = Node()
    ref = weakref.ref(node)
    out: dict[str, Any] = {"freeze": policy.step(connects_total=1, calls_open=0)}  # frozen while alive
    del node                                                                        # ... then it closes
    gc.collect()
    out["kept_while_frozen"] = ref() is not None
    clock.t += 61
    out["calls_open"] = policy.step(connects_total=1, calls_open=2)  # a call is open: not now
    out["kept_during_call"] = ref() is not None
    out["quiet"] = policy.step(connects_total=1, calls_open=0)
    out["freed"] = ref() is None
    out["after"] = policy.step(connects_total=1, calls_open=0)       # not again before refresh_s
    out.update(reclaimed=policy.reclaimed, refreshes=policy.refreshes, forced=policy.forced_refreshes)
    return out


def bound_refreshes_while_calls_stay_open() -> dict[str, Any]:
    clock = Clock()
    policy = GcPolicy(freeze_after_connects=1, settle_s=0.0, refresh_s=3600.0, refresh_growth=0.5, clock=clock)
    policy.start()
    live_after_start = policy.frozen_at_refresh
    first = [Node() for _ in range(10)]
    refs = [weakref.ref(n) for n in first]
    out: dict[str, Any] = {"first": policy.step(connects_total=1, calls_open=1)}
    out["under_bound"] = not policy.over_bound()
    del first                                                        # the first burst's connections close
    gc.collect()
    out["kept_while_frozen"] = all(r() is not None for r in refs)
    clock.t += 1
    out["still_under"] = policy.step(connects_total=1, calls_open=1)  # calls open, refresh_s far off, under bound
    second = [Node() for _ in range(int(live_after_start * 0.5) + 1)]  # a storm: more than half the live heap
    out["second"] = policy.step(connects_total=2, calls_open=1)
    out["over_bound"] = policy.over_bound()
    clock.t += 1
    out["bounded"] = policy.step(connects_total=2, calls_open=1)
    out["freed"] = all(r() is None for r in refs)
    out["second_alive"] = len(second)
    out["after"] = policy.step(connects_total=2, calls_open=1)
    out.update(refreshes=policy.refreshes, forced=policy.forced_refreshes, since=policy.frozen_since_refresh)
    return out


# ---------------------------------------------------------------- tests
def test_freezes_a_burst_only_once_it_has_settled() -> None:
    r = isolated("burst_is_frozen_once_settled")
    assert r["steps"] == [None, None, None, "freeze", None, None]
    assert r["frozen_grew"] and r["freezes"] == 2  # start-up and the burst


def test_nothing_dead_is_frozen_with_a_burst() -> None:
    r = isolated("dead_objects_are_not_frozen")
    assert r["dead_but_there"], "precondition: young collections do not free a cycle in the oldest generation"
    assert r["action"] == "freeze"
    assert r["freed"] and r["freed_before_freeze"] >= 1


def test_refresh_at_a_quiet_moment_reclaims_connections_that_closed_while_frozen() -> None:
    r = isolated("quiet_refresh_reclaims_closed_connections")
    assert r["freeze"] == "freeze"
    assert r["kept_while_frozen"], "a frozen cycle is not collected (what the refresh is for)"
    assert r["calls_open"] is None and r["kept_during_call"]
    assert r["quiet"] == "refresh" and r["freed"] and r["reclaimed"] >= 1
    assert (r["refreshes"], r["forced"]) == (1, 0)
    assert r["after"] is None


def test_frozen_garbage_is_bounded_even_while_calls_stay_open() -> None:
    r = isolated("bound_refreshes_while_calls_stay_open")
    assert r["first"] == "freeze" and r["under_bound"]
    assert r["kept_while_frozen"] and r["still_under"] is None
    assert r["second"] == "freeze" and r["over_bound"]
    assert r["bounded"] == "refresh", "calls are open and refresh_s is far off, but the frozen heap grew past the bound"
    assert r["freed"] and r["second_alive"] > 0
    assert (r["refreshes"], r["forced"], r["since"]) == (1, 1, 0)
    assert r["after"] is None

