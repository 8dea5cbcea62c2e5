"""The proxy's PostgreSQL pool: the shared library's pool with the proxy's session settings.

Budget and token rows change on every Zoho call, and they are what keeps us under Zoho's limits:
a window that lost its last calls in a database crash or failover would let the proxy spend them
again. So commits wait for the WAL flush by default (``synchronous_commit=on``);
``ZOHO_PROXY_SYNCHRONOUS_COMMIT=off`` trades that for a cheaper commit (``python -m bench
zoho_proxy`` measures the difference). The setting is per connection: nothing else in the
database is affected.
"""

from __future__ import annotations

from typing import Final

import asyncpg

from tds_common.db import create_pool

APPLICATION_NAME: Final = "tds-zoho-proxy"


async def create_proxy_pool(
    dsn: str, *, synchronous_commit: str = "on", min_size: int = 1, max_size: int = 10
) -> asyncpg.Pool:
    """Open the pool; an unreachable database becomes ``UpstreamUnavailableError``."""
    server_settings = {
        "synchronous_commit": synchronous_commit,
        "application_name": APPLICATION_NAME,
    }
    return await create_pool(
        dsn, min_size=min_size, max_size=max_size, server_settings=server_settings
    )
