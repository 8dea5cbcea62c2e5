"""App factory of the ingest service: webhooks in, durable in Kafka.

The lifespan connects the producer (retrying for ``kafka_start_timeout_seconds``), and on
shutdown flushes it. uvicorn stops accepting connections on SIGTERM and lets in-flight requests
finish (``shutdown_timeout_seconds``) before the lifespan's shutdown runs, so every request that
was answered 202 was acknowledged by the broker and nothing buffered is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ingest import metrics
from ingest.api import stats as stats_routes
from ingest.api import webhooks
from ingest.api.deps import IngestState
from ingest.api.request_id import RequestIdMiddleware
from ingest.errors import InvalidRecordError
from ingest.publisher import EventPublisher, Publisher
from ingest.settings import Settings
from ingest.stats import InboxStats
from tds_common.app import create_service_app
from tds_common.health import HealthRegistry
from tds_common.kafka_durability import topic_durability_check
from tds_common.settings import loggable

logger = logging.getLogger(__name__)


def create_app(settings: Settings, *, publisher: Publisher | None = None) -> FastAPI:
    """The ingest app; ``publisher`` replaces the Kafka one in unit tests."""
    health = HealthRegistry(failure_threshold=settings.ready_failure_threshold)
    if publisher is None:
        publisher = EventPublisher(
            settings.kafka_bootstrap_servers,
            settings.topics.events,
            kafka=settings.kafka,
            timeout_seconds=settings.publish_timeout_seconds,
            retry_after_seconds=settings.retry_after_seconds,
            # In-flight requests finish first (uvicorn); the flush gets half of the stop budget.
            flush_timeout_seconds=settings.shutdown_timeout_seconds / 2,
        )
        health.add_advisory("kafka_topics", topic_durability_check(settings))
    health.add_readiness("kafka", publisher.check)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.ingest = IngestState(
            settings=settings,
            publisher=publisher,
            stats=InboxStats(max_window_seconds=settings.stats_max_window_seconds),
        )
        logger.info("ingest starting", extra={"settings": loggable(settings)})
        async with AsyncExitStack() as resources:
            await publisher.start(within_seconds=settings.kafka_start_timeout_seconds)
            resources.callback(logger.info, "ingest stopped; producer flushed")
            resources.push_async_callback(publisher.stop)
            yield

    app = create_service_app(
        title="TDS ingest",
        lifespan=lifespan,
        health=health,
        http_metrics=metrics.HTTP,
        max_body_bytes=None,  # webhooks are bounded while read (INGEST_MAX_BODY_BYTES), counted
    )

    @app.exception_handler(InvalidRecordError)
    async def _invalid_record(request: Request, exc: InvalidRecordError) -> JSONResponse:
        return JSONResponse(
            {"error_code": exc.error_code, "message": str(exc), "errors": exc.errors},
            status_code=exc.http_status,
        )

    app.include_router(webhooks.router)
    app.include_router(stats_routes.router)
    app.add_middleware(RequestIdMiddleware)
    return app
