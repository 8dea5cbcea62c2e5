"""The simulator's FastAPI app: Zoho's surface, the control API and health probes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from zoho_sim import control
from zoho_sim.routes import oauth, zoho
from zoho_sim.settings import SimSettings
from zoho_sim.state import SimState

logger = logging.getLogger(__name__)


def create_app(settings: SimSettings) -> FastAPI:
    """One app plays Zoho Accounts and the API host; state lives in ``app.state.sim``."""
    state = SimState(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logger.info(
            "zoho-sim ready: orgs %s, scale %s, seed %s",
            sorted(state.orgs),
            state.scale,
            state.seed,
        )
        try:
            yield
        finally:
            await state.webhooks.close()

    app = FastAPI(
        title="zoho-sim",
        lifespan=lifespan,
        docs_url="/_sim/docs",
        openapi_url="/_sim/openapi.json",
        redoc_url=None,
    )
    app.state.sim = state
    app.include_router(oauth.router)
    app.include_router(zoho.router)
    app.include_router(control.router)

    @app.get("/health", include_in_schema=False)
    @app.get("/ready", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "healthy"}

    return app
