"""The server's garbage-collector policy (server/gc_policy.py) on the real collector: bursts of connections are
frozen once they settle, and a refresh at a quiet moment reclaims cycles that died while frozen."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from server.gc_policy import GcPolicy


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Node:
    """Stands for a connection's objects: a reference cycle, as sockets, tasks and protocols form."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def thawed() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # leave the test process as it was: nothing stays frozen behind the next test


def test_freezes_a_burst_only_once_it_has_settled(thawed: None) -> None:
    clock = Clock()
    policy = GcPolicy(freeze_after_connects=100, settle_s=3.0, refresh_s=0, clock=clock)
    assert policy.step(connects_total=99, calls_open=0) is None           # not a burst yet
    assert policy.step(connects_total=150, calls_open=0) is None          # a burst, still arriving
    clock.t += 2.0
    assert policy.step(connects_total=150, calls_open=0) is None          # not settled for 3 s yet
    before = gc.get_freeze_count()
    clock.t += 1.5
    assert policy.step(connects_total=150, calls_open=0) == "freeze"
    assert gc.get_freeze_count() > before and policy.freezes == 1
    clock.t += 10
    assert policy.step(connects_total=200, calls_open=0) is None          # 50 more: under the threshold
    clock.t += 10
    assert policy.step(connects_total=200, calls_open=0) is None


def test_refresh_waits_for_a_quiet_moment_and_reclaims_frozen_cycles(thawed: None) -> None:
    clock = Clock()
    policy = GcPolicy(freeze_after_connects=1, settle_s=0.0, refresh_s=60.0, clock=clock)
    node = Node()
    alive = weakref.ref(node)
    assert policy.step(connects_total=1, calls_open=0) == "freeze"        # the connection's objects are frozen
    del node                                                              # ... and then the connection closes
    gc.collect()
    assert alive() is not None, "a frozen cycle is not collected (what the refresh is for)"
    clock.t += 61
    assert policy.step(connects_total=1, calls_open=2) is None            # calls open: no pause now
    assert alive() is not None
    assert policy.step(connects_total=1, calls_open=0) == "refresh"
    assert alive() is None and policy.reclaimed >= 1 and policy.refreshes == 1
    assert policy.last_refresh_pause_s > 0
    assert policy.step(connects_total=1, calls_open=0) is None            # not again before refresh_s
