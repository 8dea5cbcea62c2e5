"""App factory of the processor service: the consumer loop plus its small HTTP surface.

The lifespan opens, in dependency order, the PostgreSQL pool, the zoho-proxy client and the DLQ
producer, then runs the consumer as a task. On shutdown (SIGTERM through uvicorn) it stops the
loop after the in-flight batch, lets the consumer commit and leave the group, and closes the
rest in reverse, all within ``shutdown_timeout_seconds``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from processor import metrics
from processor.consumer import EventConsumer
from processor.deadletters import DeadLetterPublisher
from processor.pipeline import BatchProcessor
from processor.proxy import RecordFetcher
from processor.reads import ThinReads
from processor.replay_api import replay_router
from processor.settings import Settings
from processor.stats import stats_router
from tds_common.app import create_service_app
from tds_common.auth import require_bearer
from tds_common.db import check_pool, create_pool
from tds_common.health import HealthRegistry
from tds_common.kafka import check_producer, create_consumer, create_producer
from tds_common.kafka_durability import topic_durability_check
from tds_common.proxy_client import ProxyClient, proxy_http_client
from tds_common.retention import retention_loop
from tds_common.settings import loggable
from tds_common.worker import BackgroundLoop

logger = logging.getLogger(__name__)


def create_app(
    settings: Settings, *, proxy_transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    health = HealthRegistry(failure_threshold=settings.ready_failure_threshold)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        logger.info("starting processor", extra={"settings": loggable(settings)})
        pool = await create_pool(
            settings.database_url.get_secret_value(), max_size=settings.db_pool_max_size
        )
        app.state.pool = pool
        http = proxy_http_client(settings.zoho_proxy_url, settings.proxy, proxy_transport)
        producer = create_producer(settings.kafka_bootstrap_servers, settings.kafka)
        consumer: EventConsumer | None = None
        loop: BackgroundLoop | None = None
        pruning: BackgroundLoop | None = None
        stop_pruning = asyncio.Event()
        reads = ThinReads(RecordFetcher(ProxyClient(http)), settings.proxy.max_concurrency)
        try:
            await producer.start()
            app.state.producer = producer  # the DLQ's, and the replay API's
            processor = BatchProcessor(
                pool,
                reads,
                DeadLetterPublisher(producer, settings.topics.dead_letters),
                settings,
            )
            kafka = create_consumer(
                settings.kafka_bootstrap_servers,
                settings.consumer,
                settings.kafka,
                max_partition_fetch_bytes=4 * 1024 * 1024,
            )
            consumer = EventConsumer(kafka, settings.topics.events, processor, settings.consumer)
            app.state.consumer = consumer
            loop = BackgroundLoop(consumer.run(), name="consumer", label="consumer loop")

            async def consumer_started() -> None:
                if consumer is not None and not consumer.consuming:
                    raise RuntimeError(f"not consuming {settings.topics.events} yet")

            if settings.retention.enabled:
                pruning = BackgroundLoop(
                    retention_loop(pool, settings.retention, stop_pruning),
                    name="retention",
                    label="retention loop",
                )
            health.add_liveness("consumer", loop.alive)
            health.add_readiness("consumer", consumer_started)
            health.add_readiness("postgres", lambda: check_pool(pool))
            health.add_readiness("kafka", lambda: check_producer(producer))
            health.add_advisory("kafka_topics", topic_durability_check(settings))
            yield
        finally:
            stop_pruning.set()
            if pruning is not None:
                await pruning.wait_stopped(settings.shutdown_timeout_seconds)
            if consumer is not None and loop is not None:
                consumer.stop.set()
                await loop.wait_stopped(settings.shutdown_timeout_seconds)
            await reads.close()
            await producer.stop()
            await http.aclose()
            await pool.close()

    app = create_service_app(
        title="TDS processor", lifespan=lifespan, health=health, http_metrics=metrics.HTTP
    )
    # Health and metrics stay open; the API wants one of PROCESSOR_API_TOKENS.
    api_auth = [require_bearer(settings.api_tokens)]
    app.include_router(stats_router(), dependencies=api_auth)
    app.include_router(replay_router(), dependencies=api_auth)
    return app
