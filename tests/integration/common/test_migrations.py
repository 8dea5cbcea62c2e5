"""Migrations on the real PostgreSQL: the contract's control tables and columns exist.

The mirror tables are checked against the catalogue in test_catalogue_schema.py.
"""

from __future__ import annotations

import asyncpg

from tds_common.migrate import apply_migrations

CONTROL_COLUMNS = {
    "tds_inbox_events": {
        "id",
        "event_id",
        "source_type",
        "entity_type",
        "entity_id",
        "event_type",
        "raw_payload",
        "received_at",
        "processed_at",
        "status",
    },
    "tds_sync_queue": {
        "id",
        "inbox_event_id",
        "entity_type",
        "entity_id",
        "zoho_entity_id",
        "priority",
        "status",
        "retry_count",
        "error_message",
        "queued_at",
        "processing_started_at",
        "processing_completed_at",
    },
    "tds_sync_runs": {
        "id",
        "run_type",
        "entity_type",
        "source_type",
        "status",
        "total_items",
        "processed_items",
        "failed_items",
        "started_at",
        "completed_at",
        "error_log",
        "checkpoint",
        "api_calls",
    },
}


async def _columns(pool: asyncpg.Pool, schema: str, table: str) -> set[str]:
    rows = await pool.fetch(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = $1 AND table_name = $2",
        schema,
        table,
    )
    return {r["column_name"] for r in rows}


async def test_control_tables_have_the_contract_columns(db_pool: asyncpg.Pool) -> None:
    for table, expected in CONTROL_COLUMNS.items():
        missing = expected - await _columns(db_pool, "public", table)
        assert not missing, f"{table} lacks {missing}"


async def test_inbox_dedup_key_makes_a_repeat_a_no_op(db_pool: asyncpg.Pool) -> None:
    insert = (
        "INSERT INTO tds_inbox_events (event_id, source_type, entity_type, entity_id, "
        "event_type, org_id, dedup_key) VALUES ($1, 'webhook', 'products', '1', 'upsert', "
        "'org', $2) ON CONFLICT (dedup_key) DO NOTHING RETURNING id"
    )
    assert await db_pool.fetchval(insert, "e1", "org:products:1:t-dedup") is not None
    assert await db_pool.fetchval(insert, "e2", "org:products:1:t-dedup") is None


def test_applying_twice_applies_nothing_new(migration_database_url: str) -> None:
    assert apply_migrations(migration_database_url) == []
