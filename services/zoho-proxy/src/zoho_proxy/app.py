"""App factory of the zoho-proxy service.

The lifespan opens, in order, the PostgreSQL pool (budgets and the token lease), one
``httpx.AsyncClient`` for Zoho Accounts and the API, and builds the budget, token manager and
Zoho client on top; it closes them in reverse.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Final

import httpx
from fastapi import FastAPI

from tds_common.app import create_service_app
from tds_common.db import check_pool
from tds_common.settings import loggable
from zoho_proxy import metrics
from zoho_proxy.api.routes import budget as budget_routes
from zoho_proxy.api.routes import entities, passthrough
from zoho_proxy.budget import Budget
from zoho_proxy.db import create_proxy_pool
from zoho_proxy.health import ProxyHealthRegistry
from zoho_proxy.scopes import ScopeVerdicts
from zoho_proxy.settings import Settings
from zoho_proxy.state import ProxyState
from zoho_proxy.tokens import TokenManager, credential_key
from zoho_proxy.zoho.client import ZohoClient

logger = logging.getLogger(__name__)

HTTP_POOL_SLACK: Final = 10
"""Connections beyond max_in_flight per product, for the token endpoint and bursts."""


def create_app(settings: Settings) -> FastAPI:
    health = ProxyHealthRegistry(failure_threshold=settings.ready_failure_threshold)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logger.info("starting zoho-proxy", extra={"settings": loggable(settings)})
        if not settings.accepted_tokens():
            logger.warning("ZOHO_PROXY_CLIENT_TOKENS is empty: every call is refused (401)")
        # Each resource is closed by the stack in reverse order as soon as it is open, so a start
        # that fails half-way, a cancellation and a normal stop all release the same things.
        async with AsyncExitStack() as resources:
            pool = await create_proxy_pool(
                settings.database_url.get_secret_value(),
                synchronous_commit=settings.synchronous_commit,
            )
            resources.push_async_callback(pool.close)
            connections = settings.max_in_flight * 2 + HTTP_POOL_SLACK
            http = httpx.AsyncClient(
                timeout=settings.request_timeout_seconds,
                limits=httpx.Limits(
                    max_connections=connections, max_keepalive_connections=connections
                ),
            )
            resources.push_async_callback(http.aclose)
            budget = Budget(pool, settings)
            # Release writes still in flight reach the database before the pool closes.
            resources.push_async_callback(budget.drain)
            tokens = TokenManager(pool, http, settings)
            scopes = ScopeVerdicts(
                pool,
                credential_key(
                    settings.zoho_client_id, settings.zoho_refresh_token.get_secret_value()
                ),
                settings.scope_denial_ttl_seconds,
            )
            client = ZohoClient(http, budget, tokens, settings, scopes)
            app.state.proxy = ProxyState(settings, budget, tokens, client, pool)
            health.add_readiness("postgres", lambda: check_pool(pool))
            health.add_condition("zoho_token", lambda: _token_problem(tokens))
            yield

    app = create_service_app(
        title="TDS zoho-proxy",
        lifespan=lifespan,
        health=health,
        http_metrics=metrics.HTTP,
        max_body_bytes=settings.max_request_body_bytes,
    )
    app.include_router(entities.router)
    app.include_router(passthrough.router)
    app.include_router(budget_routes.router)
    return app


def _token_problem(tokens: TokenManager) -> str | None:
    if tokens.state == "ok":
        return None
    return f"{tokens.state}: {tokens.last_error or 'no detail'}"
