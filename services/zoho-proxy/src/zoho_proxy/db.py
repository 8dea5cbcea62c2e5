"""The proxy's PostgreSQL pool: the shared library's pool plus ``synchronous_commit=off``.

Budget and token rows change on every Zoho call. Waiting for the WAL flush on each of those
commits would double the cost of a call for data whose loss in a database crash costs little:
a few calls' accounting (Zoho's own headers correct the daily count) or one extra token mint.
Durability of everything else in the database is unaffected: the setting is per connection.
"""

from __future__ import annotations

from typing import Final

import asyncpg

from tds_common.db import create_pool

SERVER_SETTINGS: Final = {"synchronous_commit": "off", "application_name": "tds-zoho-proxy"}


async def create_proxy_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """Open the pool; an unreachable database becomes ``UpstreamUnavailableError``."""
    return await create_pool(
        dsn, min_size=min_size, max_size=max_size, server_settings=SERVER_SETTINGS
    )
