"""Helpers for the cluster tests: the test Redis, nodes with recorded callbacks, a clock tests advance."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis.asyncio as aioredis

from server.cluster import LocalCluster, RedisCluster
from server.db.seed import seed_demo
from server.db.session import make_engine, make_sessionmaker
from server.migrate import upgrade_async
from server.settings import Settings
from tests.support import WAIT_S, ManualClock, eventually, make_settings, reset_pg


async def seeded_settings(tmp_path: Any, backend: str = "sqlite", **overrides: Any) -> Settings:
    """Settings of a migrated, seeded database that every server started with them shares (as nodes do)."""
    settings = make_settings(tmp_path, backend, **overrides)
    if backend == "pg":
        await reset_pg(settings.database_url)
    await upgrade_async(settings.database_url)
    engine = make_engine(settings.database_url)
    async with make_sessionmaker(engine)() as db, db.begin():
        await seed_demo(db)
    await engine.dispose()
    return settings


def redis_url() -> str:
    """The test Redis (a db of its own). Skipped without one, except in CI, where skipping would hide a failure."""
    url = os.environ.get("MADOGUCHI_TEST_REDIS_URL", "")
    if not url:
        if os.environ.get("MADOGUCHI_REQUIRE_PG"):
            pytest.fail("MADOGUCHI_REQUIRE_PG is set (CI) but MADOGUCHI_TEST_REDIS_URL is not: "
                        "the Redis cluster tests would be skipped")
        pytest.skip("MADOGUCHI_TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/15): "
                    "the Redis cluster tests need a real Redis")
    return url


@dataclass
class Recorder:
    """Everything the cluster called back on one node, in order, with 'wait until'."""

    frames: list[tuple[str, str]] = field(default_factory=list)
    disconnects: list[tuple[str, int, str]] = field(default_factory=list)
    lost: list[tuple[str, frozenset[str]]] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    gates: dict[str, asyncio.Event] = field(default_factory=dict)  # peer -> frames to it wait for this

    async def _note(self, what: list[Any], item: Any) -> None:
        what.append(item)
        async with self.changed:
            self.changed.notify_all()

    async def on_frame(self, peer: str, text: str) -> None:
        if peer in self.gates:
            await self.gates[peer].wait()
        await self._note(self.frames, (peer, text))

    async def on_disconnect(self, peer: str, code: int, reason: str) -> None:
        await self._note(self.disconnects, (peer, code, reason))

    async def on_node_lost(self, node: str, peers: frozenset[str]) -> None:
        await self._note(self.lost, (node, peers))

    async def until(self, pred: Callable[[], bool], timeout: float = WAIT_S) -> None:
        await eventually(pred, timeout=timeout, changed=self.changed, what="the recorded callbacks")

    def texts(self, peer: str) -> list[str]:
        return [t for p, t in self.frames if p == peer]


Node = LocalCluster | RedisCluster


def attach(node: Node) -> Recorder:
    rec = Recorder()
    node.on_frame, node.on_disconnect, node.on_node_lost = rec.on_frame, rec.on_disconnect, rec.on_node_lost
    return rec


@dataclass
class RedisNodes:
    """Nodes of one test cluster: their own key prefix in the test db, removed afterwards."""

    url: str
    prefix: str
    clock: ManualClock
    admin: aioredis.Redis
    nodes: list[RedisCluster] = field(default_factory=list)

    async def node(self, node_id: str, *, start: bool = True, **kw: Any) -> tuple[RedisCluster, Recorder]:
        kw.setdefault("autotick", False)
        node = RedisCluster(self.url, node_id, self.clock, prefix=self.prefix, **kw)
        rec = attach(node)
        self.nodes.append(node)
        if start:
            await node.start()
        return node, rec

    def key(self, name: str) -> str:
        return self.prefix + name


async def drop_prefix(url: str, prefix: str) -> None:
    admin = aioredis.from_url(url, decode_responses=True)
    keys = [k async for k in admin.scan_iter(match=prefix + "*", count=1000)]
    if keys:
        await admin.delete(*keys)
    await admin.aclose()


@asynccontextmanager
async def redis_nodes() -> AsyncIterator[RedisNodes]:
    """A fresh cluster namespace. Each test gets its own prefix instead of FLUSHDB, so two test runs sharing
    the test db (a developer's and CI's) never wipe each other; its keys are deleted at the end."""
    url = redis_url()
    admin = aioredis.from_url(url, decode_responses=True)
    env = RedisNodes(url, f"t-{uuid.uuid4().hex[:12]}:", ManualClock(1_000_000.0), admin)
    try:
        yield env
    finally:
        for node in env.nodes:
            await node.close(graceful=False)
        await admin.aclose()
        await drop_prefix(url, env.prefix)
