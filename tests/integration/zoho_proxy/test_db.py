"""The proxy's pool is the shared pool (tds_common.db.create_pool) with its own server settings."""

from __future__ import annotations

import asyncpg

from zoho_proxy.db import create_proxy_pool


async def test_proxy_pool_commits_asynchronously_and_decodes_json(
    database_url: str, db_pool: asyncpg.Pool
) -> None:
    default = await db_pool.fetchval("SHOW synchronous_commit")
    assert default != "off"  # the setting below is the proxy pool's own
    pool = await create_proxy_pool(database_url, max_size=2)
    try:
        async with pool.acquire() as connection:
            assert await connection.fetchval("SHOW synchronous_commit") == "off"
            assert await connection.fetchval("SHOW application_name") == "tds-zoho-proxy"
            # The shared JSON codecs are installed: jsonb comes back as Python objects.
            assert await connection.fetchval("""SELECT '{"a": [1]}'::jsonb""") == {"a": [1]}
    finally:
        await pool.close()
