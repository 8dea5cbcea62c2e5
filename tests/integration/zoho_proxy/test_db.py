"""The proxy's pool is the shared pool (tds_common.db.create_pool) with its own server settings."""

from __future__ import annotations

import asyncpg
import pytest

from tests.utils.zoho import proxy_settings
from zoho_proxy.db import create_proxy_pool
from zoho_proxy.state import ProxyState

from .harness import Replica


async def test_proxy_pool_commits_durably_and_decodes_json(database_url: str) -> None:
    pool = await create_proxy_pool(database_url, max_size=2)
    try:
        async with pool.acquire() as connection:
            assert await connection.fetchval("SHOW synchronous_commit") == "on"
            assert await connection.fetchval("SHOW application_name") == "tds-zoho-proxy"
            # The shared JSON codecs are installed: jsonb comes back as Python objects.
            assert await connection.fetchval("""SELECT '{"a": [1]}'::jsonb""") == {"a": [1]}
    finally:
        await pool.close()


@pytest.mark.parametrize("setting", ["on", "off"])
async def test_the_app_commits_as_configured(
    database_url: str, db_pool: asyncpg.Pool, setting: str
) -> None:
    # The server's own default is on: the off case must come from the proxy's setting.
    assert await db_pool.fetchval("SHOW synchronous_commit") == "on"
    settings = proxy_settings(database_url, synchronous_commit=setting)
    async with Replica(settings) as replica:
        state: ProxyState = replica.app.state.proxy
        async with state.pool.acquire() as connection:
            assert await connection.fetchval("SHOW synchronous_commit") == setting
