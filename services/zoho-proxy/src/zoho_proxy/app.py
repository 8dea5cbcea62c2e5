"""App factory of the zoho-proxy service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tds_common.app import create_service_app
from tds_common.health import HealthRegistry
from zoho_proxy import metrics
from zoho_proxy.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    health = HealthRegistry(failure_threshold=settings.ready_failure_threshold)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        yield

    return create_service_app(
        title="TDS zoho-proxy", lifespan=lifespan, health=health, http_metrics=metrics.HTTP
    )
