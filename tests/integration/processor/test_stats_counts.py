"""``/api/zoho/sync/stats`` never scans the queue: counts kept by triggers (migration 0014).

Each test gets a migrated database of its own: the counts are over the whole queue.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import psycopg
import pytest

from processor.stats import BY_ENTITY, DELAY, sync_stats
from tds_common.db import create_pool
from tds_common.migrate import apply_migrations
from tds_common.retention import RetentionSettings, prune

pytestmark = pytest.mark.integration

OLD_ROWS = 20_000
WINDOW_HOURS = 24.0


@pytest.fixture(name="pool")
async def fixture_pool(postgres_admin_url: str) -> AsyncIterator[asyncpg.Pool]:
    name = f"tds_stats_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = postgres_admin_url.rsplit("/", 1)[0] + f"/{name}"
    apply_migrations(url)
    pool = await create_pool(url, max_size=4)
    yield pool
    await pool.close()
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _grouped(pool: asyncpg.Pool) -> dict[str, dict[str, int]]:
    """The truth, by a full scan."""
    rows = await pool.fetch(
        "SELECT entity_type, status, count(*) AS n FROM tds_sync_queue GROUP BY 1, 2"
    )
    result: dict[str, dict[str, int]] = {}
    for row in rows:
        result.setdefault(row["entity_type"], {})[row["status"]] = row["n"]
    return result


async def _plan(pool: asyncpg.Pool, sql: str, *args: object) -> dict[str, Any]:
    raw = await pool.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args)
    plan: dict[str, Any] = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    return plan


def _scans_of_the_queue(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan] if plan.get("Relation Name") == "tds_sync_queue" else []
    for child in plan.get("Plans", []):
        found += _scans_of_the_queue(child)
    return found


async def test_stats_read_counts_not_the_queue_and_agree_with_it(pool: asyncpg.Pool) -> None:
    await pool.execute(
        "INSERT INTO tds_sync_queue (entity_type, status, queued_at, processing_completed_at) "
        "SELECT CASE WHEN g % 2 = 0 THEN 'invoices' ELSE 'bills' END, 'completed', "
        "now() - interval '30 days', now() - interval '30 days' FROM generate_series(1, $1) g",
        OLD_ROWS,
    )
    await pool.execute(
        "INSERT INTO tds_sync_queue (entity_type, status, queued_at, processing_completed_at) "
        "SELECT 'invoices', s, now() - interval '2 seconds', now() "
        "FROM unnest(ARRAY['completed', 'dead_letter', 'pending', 'pending']) s"
    )
    await pool.execute(
        "UPDATE tds_sync_queue SET status = 'dead_letter' WHERE id IN ("
        "SELECT id FROM tds_sync_queue WHERE entity_type = 'bills' LIMIT 7)"
    )
    await pool.execute(
        "DELETE FROM tds_sync_queue WHERE id IN ("
        "SELECT id FROM tds_sync_queue WHERE entity_type = 'invoices' AND status = 'completed' "
        "LIMIT 100)"
    )
    await pool.execute("ANALYZE tds_sync_queue")

    stats = await sync_stats(pool, WINDOW_HOURS, lag=0)
    truth = await _grouped(pool)
    plans = [await _plan(pool, BY_ENTITY), await _plan(pool, DELAY, WINDOW_HOURS * 3600)]

    assert stats["by_entity"] == truth
    assert stats["queue"]["dead_letter"] == 8
    assert stats["queue"]["pending"] == 2
    assert 0 < stats["sync_delay_avg_seconds"] < 60  # the recent completion only
    assert _scans_of_the_queue(plans[0]) == []  # counts only
    # The delay reads the window's completions through an index range, never the whole queue.
    delay_scans = _scans_of_the_queue(plans[1])
    assert delay_scans and all(
        scan["Node Type"] == "Bitmap Heap Scan" or "Index Cond" in scan for scan in delay_scans
    ), plans[1]


async def test_counts_stay_exact_under_concurrent_writers_and_folds(pool: asyncpg.Pool) -> None:
    """Writers on several connections and the retention's fold at the same time."""

    async def writer(entity: str) -> None:
        for _ in range(40):
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(
                    "INSERT INTO tds_sync_queue (entity_type, status) "
                    "SELECT $1, 'pending' FROM generate_series(1, 5)",
                    entity,
                )
                await conn.execute(
                    "UPDATE tds_sync_queue SET status = 'completed' WHERE id IN ("
                    "SELECT id FROM tds_sync_queue WHERE entity_type = $1 AND status = 'pending' "
                    "LIMIT 3 FOR UPDATE SKIP LOCKED)",
                    entity,
                )

    async def folder() -> None:
        for _ in range(20):
            await prune(pool, RetentionSettings())
            await asyncio.sleep(0)

    await asyncio.gather(writer("invoices"), writer("bills"), folder())
    await prune(pool, RetentionSettings())

    stats = await sync_stats(pool, WINDOW_HOURS, lag=0)
    assert stats["by_entity"] == await _grouped(pool)
    assert sum(stats["by_entity"]["invoices"].values()) == 200
    rows = await pool.fetchval("SELECT count(*) FROM tds_sync_queue_counts")
    assert rows <= 4  # folded: one row per entity and status
