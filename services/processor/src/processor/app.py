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
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from fastapi import FastAPI

from processor import metrics
from processor.api import dead_letters, retention, stats
from processor.api.deps import ProcessorState
from processor.collector import tuned_collector
from processor.consumer import EventConsumer
from processor.deadletters import DeadLetterPublisher
from processor.pipeline import BatchProcessor
from processor.proxy import RecordFetcher
from processor.reads import ThinReads
from processor.retention import Retention
from processor.settings import Settings
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


def create_app(
    settings: Settings, *, proxy_transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    health = HealthRegistry(failure_threshold=settings.ready_failure_threshold)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logger.info("starting processor", extra={"settings": loggable(settings)})
        # Each resource is closed by the stack in reverse order as soon as it is open, so a start
        # that fails half-way, a cancellation and a normal stop all release the same things.
        async with AsyncExitStack() as resources:
            pool = await create_pool(
                settings.database_url.get_secret_value(), max_size=settings.db_pool_max_size
            )
            resources.push_async_callback(pool.close)
            http = proxy_http_client(settings.zoho_proxy_url, settings.proxy, proxy_transport)
            resources.push_async_callback(http.aclose)
            producer = create_producer(settings.kafka_bootstrap_servers, settings.kafka)
            resources.push_async_callback(producer.stop)
            reads = ThinReads(RecordFetcher(ProxyClient(http)), settings.proxy.max_concurrency)
            resources.push_async_callback(reads.close)
            await producer.start()
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
            pruner = Retention(pool, settings.retention)
            app.state.processor = ProcessorState(settings, pool, producer, consumer, pruner)
            loop = BackgroundLoop(consumer.run(), name="consumer", label="consumer loop")
            resources.push_async_callback(loop.wait_stopped, settings.shutdown_timeout_seconds)
            # The loop finishes its in-flight batch, commits and leaves the group.
            resources.callback(consumer.stop.set)

            async def consumer_started() -> None:
                if not consumer.consuming:
                    raise RuntimeError(f"not consuming {settings.topics.events} yet")

            if settings.retention.enabled:
                stop_pruning = asyncio.Event()
                pruning = BackgroundLoop(
                    pruner.run(stop_pruning),
                    name="retention",
                    label="retention loop",
                )
                resources.push_async_callback(
                    pruning.wait_stopped, settings.shutdown_timeout_seconds
                )
                resources.callback(stop_pruning.set)
            health.add_liveness("consumer", loop.alive)
            health.add_readiness("consumer", consumer_started)
            health.add_readiness("postgres", lambda: check_pool(pool))
            health.add_readiness("kafka", lambda: check_producer(producer))
            health.add_advisory("kafka_topics", topic_durability_check(settings))
            # Start-up is done: what exists now lives as long as the service.
            resources.enter_context(tuned_collector(settings.gc))
            yield

    app = create_service_app(
        title="TDS processor",
        lifespan=lifespan,
        health=health,
        http_metrics=metrics.HTTP,
        max_body_bytes=settings.max_request_body_bytes,
    )
    # Health and metrics stay open; the API wants one of PROCESSOR_API_TOKENS.
    api_auth = [require_bearer(settings.api_tokens)]
    app.include_router(stats.router, dependencies=api_auth)
    app.include_router(dead_letters.router, dependencies=api_auth)
    app.include_router(retention.router, dependencies=api_auth)
    return app
