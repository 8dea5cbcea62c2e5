"""Starting and stopping the write-back relay inside bulk-sync's lifespan.

``async with relaying(settings, pool, health): yield`` — the relay runs as a background task on
its own zoho-proxy client (the ``write`` lane) unless ``BULK_SYNC_WRITEBACK__ENABLED`` is
false; on exit it finishes the write in flight (bounded by the shutdown budget) and closes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from bulk_sync.settings import Settings
from bulk_sync.writeback.client import WriteClient
from bulk_sync.writeback.relay import Relay
from tds_common.errors import ConfigurationError
from tds_common.health import HealthRegistry
from tds_common.proxy_client import ProxyClient, proxy_http_client
from tds_common.worker import BackgroundLoop


@asynccontextmanager
async def relaying(
    settings: Settings, pool: asyncpg.Pool, health: HealthRegistry
) -> AsyncIterator[None]:
    if not settings.writeback.enabled:
        yield
        return
    if settings.writeback.lease_seconds <= settings.proxy.timeout_seconds:
        # a lease shorter than one call would let a second relay take a write still in flight
        raise ConfigurationError(
            "BULK_SYNC_WRITEBACK__LEASE_SECONDS must exceed BULK_SYNC_PROXY__TIMEOUT_SECONDS"
        )
    stop = asyncio.Event()
    async with proxy_http_client(settings.zoho_proxy_url, settings.proxy) as http:
        relay = Relay(pool, WriteClient(ProxyClient(http)), settings.writeback, stop)
        loop = BackgroundLoop(relay.run(), name="writeback-relay", label="write-back relay")
        health.add_liveness("writeback", loop.alive)
        try:
            yield
        finally:
            stop.set()
            await loop.wait_stopped(settings.shutdown_timeout_seconds)
