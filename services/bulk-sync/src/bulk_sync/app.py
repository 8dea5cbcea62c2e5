"""App factory of the bulk-sync service: the sync API plus the worker that executes runs.

The lifespan opens, in dependency order, the PostgreSQL pool, the zoho-proxy client and the
command producer, then (unless ``worker_enabled`` is off) starts the consumer of
``tds.sync.requests`` as a task. On shutdown it sets the stop event: the run in progress
finishes the page in flight, checkpoints and leaves its command uncommitted (the next start
resumes it); everything is closed in reverse within ``shutdown_timeout_seconds``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from bulk_sync import gauges, metrics
from bulk_sync.api import routes, sweeps
from bulk_sync.api.deps import BulkSyncState
from bulk_sync.executor import RunExecutor
from bulk_sync.proxy import SyncProxy
from bulk_sync.settings import Settings
from bulk_sync.worker import SyncWorker
from bulk_sync.writeback import lifecycle as writeback
from bulk_sync.writeback import routes as writeback_routes
from tds_common.app import create_service_app
from tds_common.auth import require_bearer
from tds_common.db import check_pool, create_pool
from tds_common.health import HealthRegistry
from tds_common.kafka import check_producer, create_consumer, create_producer
from tds_common.kafka_durability import topic_durability_check
from tds_common.proxy_client import ProxyClient, proxy_http_client
from tds_common.settings import loggable
from tds_common.worker import BackgroundLoop

logger = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    health = HealthRegistry(failure_threshold=settings.ready_failure_threshold)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logger.info("starting bulk-sync", extra={"settings": loggable(settings)})
        # Each resource is closed by the stack in reverse order as soon as it is open, so a start
        # that fails half-way, a cancellation and a normal stop all release the same things.
        async with AsyncExitStack() as resources:
            pool = await create_pool(
                settings.database_url.get_secret_value(), max_size=settings.db_pool_max_size
            )
            resources.push_async_callback(pool.close)
            http = proxy_http_client(settings.zoho_proxy_url, settings.proxy)
            resources.push_async_callback(http.aclose)
            producer = create_producer(settings.kafka_bootstrap_servers, settings.kafka)
            resources.push_async_callback(producer.stop)
            await producer.start()
            # One stop event for the worker and the gauges: the run in progress checkpoints.
            stop = asyncio.Event()
            worker: SyncWorker | None = None
            if settings.worker_enabled:
                proxy = SyncProxy(ProxyClient(http), settings.proxy, stop)
                executor = RunExecutor(pool, proxy, settings.sync, stop)
                consumer = create_consumer(
                    settings.kafka_bootstrap_servers, settings.consumer, settings.kafka
                )
                worker = SyncWorker(
                    consumer, settings.topics.sync_requests, executor, settings.consumer, stop
                )
                loop = BackgroundLoop(worker.run(), name="sync-worker", label="sync worker")
                resources.push_async_callback(loop.wait_stopped, settings.shutdown_timeout_seconds)
                health.add_liveness("worker", loop.alive)
            app.state.bulk_sync = BulkSyncState(settings, pool, producer, worker)
            health.add_readiness("postgres", lambda: check_pool(pool))
            health.add_readiness("kafka", lambda: check_producer(producer))
            health.add_advisory("kafka_topics", topic_durability_check(settings))
            gauge = asyncio.create_task(gauges.watch(pool, stop), name="db-gauges")
            resources.push_async_callback(asyncio.wait_for, gauge, None)
            resources.callback(stop.set)
            await resources.enter_async_context(writeback.relaying(settings, pool, health))
            yield

    app = create_service_app(
        title="TDS bulk-sync",
        lifespan=lifespan,
        health=health,
        http_metrics=metrics.HTTP,
        max_body_bytes=settings.max_request_body_bytes,
    )
    # Health and metrics stay open; the API wants one of BULK_SYNC_API_TOKENS.
    api_auth = [require_bearer(settings.api_tokens)]
    app.include_router(routes.router, dependencies=api_auth)
    app.include_router(writeback_routes.router, dependencies=api_auth)
    app.include_router(sweeps.router, dependencies=api_auth)
    return app
