"""App factory of the processor service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from processor import metrics
from processor.settings import Settings
from tds_common.app import create_service_app
from tds_common.health import HealthRegistry


def create_app(settings: Settings) -> FastAPI:
    health = HealthRegistry(failure_threshold=settings.ready_failure_threshold)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        yield

    return create_service_app(
        title="TDS processor", lifespan=lifespan, health=health, http_metrics=metrics.HTTP
    )
