"""Application factory: ``create_app(settings)`` wires DB, hub, queue, routes and the tick loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from server import __version__, account_watch
from server.admin_page import router as admin_page_router
from server.api import ws
from server.api.routes import (
    admin,
    admin_catalog,
    appointments,
    attachments,
    audit,
    auth,
    cases,
    forms,
    health,
    prints,
    services,
    sessions,
)
from server.api.ws_handler import ServerHandler
from server.api_docs_page.routes import router as api_docs_page_router
from server.attempt_limits import make_limits
from server.cluster import Cluster, LocalCluster, RedisCluster, default_node_id
from server.context import AppContext
from server.db.session import make_engine, make_read_engine, make_sessionmaker
from server.delivery import Delivery
from server.edge.ops import docs_router
from server.edge.web import install_web_edge
from server.forms.registry import forms_in
from server.gc_policy import GcPolicy
from server.guest_page import router as guest_router
from server.languages import server_packs
from server.metrics import Metrics
from server.migrate import upgrade_async
from server.monitor import install_request_ids
from server.monitor import router as monitor_router
from server.monitor.alert_senders import senders
from server.monitor.alert_watch import AlertWatch, Outlet
from server.monitor.snapshot import build_snapshot
from server.password_hashing import PasswordHashing
from server.queue.clock import Clock, SystemClock
from server.queue.engine import QueueEngine, recover_after_restart
from server.queue.presence import peers_lost
from server.reports.api import router as reports_router
from server.retention.run import periods
from server.retention.schedule import RetentionSchedule
from server.settings import Settings, get_settings
from server.signing_key import check_signing_key
from server.turn import call_credentials
from server.web_common import router as web_common_router
from signaling.hub import Hub
from signaling.tasks import cancel_and_wait, every, within

log = logging.getLogger("madoguchi.server")
TICK_S = 0.5
SHUTDOWN_STEP_S = 10.0  # each step of a node's shutdown; past it the step is logged and left behind


async def _tick(ctx: AppContext, gc_policy: GcPolicy) -> None:
    """Timers that must hold across nodes live in the database; this loop applies them."""
    async def step() -> None:
        gc_policy.step(ctx.hub.connects_total, len(ctx.hub.rooms))
        await ctx.engine.tick()

    await every(TICK_S, step, log, "queue tick failed")


def create_app(settings: Settings | None = None, *, migrate: bool = True, clock: Clock | None = None) -> FastAPI:
    """``clock``: the time every rule reads (tests pass a ManualClock and advance it)."""
    settings = settings or get_settings()
    check_signing_key(settings)  # before anything listens: a forgeable key never serves a request
    periods(settings.retention_days)  # every kind of personal record has a retention period, or no start
    forms_in(settings.forms_dir)  # every form definition is checked before anything listens (FormDefinitionError)
    server_packs(settings)  # a broken language file stops the start (LanguagePackError names it)
    the_clock = clock or SystemClock()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            await upgrade_async(settings.database_url)
        db_engine = make_engine(settings.database_url)
        maker = make_sessionmaker(db_engine)
        read_engine = make_read_engine(settings.database_url, db_engine)
        metrics = Metrics()
        node_id = settings.node_id or default_node_id()
        cluster: Cluster = (RedisCluster(settings.redis_url, node_id, prefix=settings.redis_prefix,
                                          ttl_s=settings.node_lease_s, heartbeat_s=settings.node_lease_s / 5)
                            if settings.redis_url else LocalCluster(node_id))
        delivery = Delivery(cluster, stamp=call_credentials(settings))
        queue = QueueEngine(maker, settings, the_clock, metrics, delivery, cluster)
        hashing = PasswordHashing(settings.hash_queue, nice=settings.hash_nice)
        await hashing.warm_up()
        ctx = AppContext(maker=maker, reader=make_sessionmaker(read_engine), settings=settings, metrics=metrics,
                         clock=the_clock, engine=queue, delivery=delivery, limits=make_limits(settings),
                         hashing=hashing)
        handler = ServerHandler(ctx)
        hub = Hub(handler, rate_per_s=settings.ws_rate_per_s, burst=settings.ws_burst,
                  remote=None if delivery.one_node else delivery)
        hub.on_message_counted = metrics.count_message
        delivery.attach(hub)
        app.state.ctx, app.state.hub, app.state.settings = ctx, hub, settings

        async def node_lost(node: str, peers: frozenset[str]) -> None:
            log.warning("server node %s was lost with %d clients; they are treated as disconnected", node, len(peers))
            await queue.run(peers_lost, node, peers)

        cluster.on_node_lost = node_lost
        await cluster.start()
        if delivery.one_node:
            await queue.run(recover_after_restart)
        gc_policy = GcPolicy(freeze_after_connects=settings.gc_freeze_after_connects,
                             refresh_s=settings.gc_refresh_s)
        gc_policy.start()
        ticker = asyncio.create_task(_tick(ctx, gc_policy), name="queue-tick")
        watcher = asyncio.create_task(account_watch.run(ctx, handler.version_of), name="account-watch")
        background = [ticker, watcher]
        app.state.retention = RetentionSchedule(maker, settings.retention_days, settings.retention_run_s, the_clock)
        # the daily retention run on its own task: a long purge never holds up the queue's timers
        background.append(asyncio.create_task(
            every(TICK_S, app.state.retention.tick, log, "retention tick failed"), name="retention"))
        outlets = [Outlet(sender, settings) for sender in senders(settings)]
        if outlets:  # webhook and/or e-mail configured: alerts leave the page too (server/monitor/alert_watch.py)
            app.state.alert_watch = AlertWatch(
                lambda: build_snapshot(ctx), outlets,
                # one sending node per region; the lease outlives a loaded loop's stall, a dead node's lapses
                lambda: cluster.hold_lease("alerts", max(3 * settings.alert_check_s, 10.0)))
            background.append(asyncio.create_task(app.state.alert_watch.run(settings.alert_check_s),
                                                  name="alert-watch"))
        try:
            yield
        finally:  # every step bounded: one that hangs is named in the log and the node still stops
            for task in background:
                await within(SHUTDOWN_STEP_S, f"stopping {task.get_name()}", cancel_and_wait(task))
            # all at once: one by one, each waiting for its socket's queue to drain, took longer than the
            # shutdown grace on a loaded node
            await within(SHUTDOWN_STEP_S, "closing the clients' sockets", asyncio.gather(
                *(hub.disconnect(peer, 1001, "server shutting down") for peer in list(hub.connections)),
                return_exceptions=True))
            await within(SHUTDOWN_STEP_S, "leaving the cluster", cluster.close())
            if read_engine is not db_engine:
                await within(SHUTDOWN_STEP_S, "closing the read database", read_engine.dispose())
            await within(SHUTDOWN_STEP_S, "closing the database", db_engine.dispose())
            hashing.close()
            await within(SHUTDOWN_STEP_S, "closing the attempt limits", ctx.limits.close())

    # no /docs or /redoc (Swagger UI and ReDoc load from a CDN) and no public schema: server.edge.ops
    app = FastAPI(title="Madoguchi", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    for r in (auth.router, services.router, sessions.router, attachments.router, forms.router, prints.router,
              cases.router, appointments.router, admin.router, admin_catalog.router, audit.router, health.router,
              ws.router):
        app.include_router(r)
    app.include_router(monitor_router)
    app.include_router(reports_router)
    app.include_router(guest_router)
    app.include_router(admin_page_router)
    app.include_router(web_common_router)
    if settings.api_docs:
        app.include_router(docs_router)
        app.include_router(api_docs_page_router)
    install_web_edge(app, settings)
    install_request_ids(app)  # outermost: every line logged for a request carries its id
    return app
