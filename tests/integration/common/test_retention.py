"""Retention on the real PostgreSQL: a steady stream, a short retention, a bounded table.

Time is simulated: every tick moves every row one hour into the past and adds a tick's worth of
new rows, so "a retention of five hours" keeps at most six ticks of rows, with no waiting.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import psycopg
import pytest

from tds_common.db import create_pool
from tds_common.migrate import apply_migrations
from tds_common.retention import RetentionSettings, prune

pytestmark = pytest.mark.integration

HOUR_DAYS = 1 / 24
PER_TICK = 200
TICKS = 15
KEPT_TICKS = 5

SETTINGS = RetentionSettings(
    queue_days=KEPT_TICKS * HOUR_DAYS,
    inbox_days=KEPT_TICKS * HOUR_DAYS,
    dead_letter_days=10 * KEPT_TICKS * HOUR_DAYS,
    seen_days=KEPT_TICKS * HOUR_DAYS,
    runs_days=KEPT_TICKS * HOUR_DAYS,
    outbox_days=KEPT_TICKS * HOUR_DAYS,
    attempts_days=KEPT_TICKS * HOUR_DAYS,
    batch_size=50,
)
OUTBOX_PER_TICK = 20


@pytest.fixture(name="pool")
async def fixture_pool(postgres_admin_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A database of this test's own: retention deletes across the whole table."""
    name = f"tds_retention_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = postgres_admin_url.rsplit("/", 1)[0] + f"/{name}"
    apply_migrations(url)
    pool = await create_pool(url, max_size=2)
    yield pool
    await pool.close()
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _age_one_hour(pool: asyncpg.Pool) -> None:
    await pool.execute("UPDATE tds_inbox_events SET received_at = received_at - interval '1 hour'")
    await pool.execute(
        "UPDATE tds_sync_queue SET queued_at = queued_at - interval '1 hour', "
        "processing_completed_at = processing_completed_at - interval '1 hour'"
    )
    await pool.execute(
        "UPDATE tds_sync_runs SET completed_at = completed_at - interval '1 hour', "
        "requested_at = requested_at - interval '1 hour'"
    )
    await pool.execute(
        "UPDATE tds_outbox SET updated_at = updated_at - interval '1 hour', "
        "created_at = created_at - interval '1 hour'"
    )
    await pool.execute(
        "UPDATE tds_processor_attempts SET last_failed_at = last_failed_at - interval '1 hour', "
        "first_failed_at = first_failed_at - interval '1 hour'"
    )


async def _events(pool: asyncpg.Pool, tick: int, count: int, status: str) -> None:
    """``count`` inbox events with their queue rows, all in ``status``."""
    inbox_status = "processed" if status == "completed" else status
    await pool.execute(
        """
        WITH inbox AS (
            INSERT INTO tds_inbox_events (event_id, source_type, entity_type, entity_id,
                event_type, org_id, dedup_key, status, raw_payload)
            SELECT 'e', 'webhook', 'invoices', g::text, 'upsert', '1',
                $1 || ':' || g, $2, '{"invoice": {}}'
            FROM generate_series(1, $3) g
            RETURNING id)
        INSERT INTO tds_sync_queue (inbox_event_id, entity_type, status, processing_completed_at)
        SELECT id, 'invoices', $4, now() FROM inbox
        """,
        f"{tick}:{status}",
        inbox_status,
        count,
        status,
    )


async def _run(pool: asyncpg.Pool, run_type: str, status: str) -> uuid.UUID:
    run_id = uuid.uuid4()
    await pool.execute(
        "INSERT INTO tds_sync_runs (id, run_type, entity_type, source_type, status, org_id, "
        "completed_at) VALUES ($1, $2, 'invoices', 'books', $3, '1', "
        "CASE WHEN $3 = 'running' THEN NULL ELSE now() END)",
        run_id,
        run_type,
        status,
    )
    await pool.execute(
        "INSERT INTO tds_sync_run_seen (run_id, entity, zoho_id) "
        "SELECT $1, 'invoices', g::text FROM generate_series(1, 20) g",
        run_id,
    )
    return run_id


async def _writes(pool: asyncpg.Pool, tick: int, count: int, status: str) -> None:
    await pool.execute(
        "INSERT INTO tds_outbox (org_id, entity, op, local_ref, idempotency_key, status) "
        "SELECT '1', 'customers', 'create', $1 || ':' || g, $1 || ':' || g, $2 "
        "FROM generate_series(1, $3) g",
        f"{tick}:{status}",
        status,
        count,
    )


async def _attempts(pool: asyncpg.Pool, tick: int, count: int) -> None:
    await pool.execute(
        "INSERT INTO tds_processor_attempts (dedup_key, entity_type, kafka_topic, "
        "kafka_partition, kafka_offset, attempts) "
        "SELECT $1 || ':' || g, 'invoices', 'events', 0, g, 1 FROM generate_series(1, $2) g",
        f"{tick}",
        count,
    )


async def _count(pool: asyncpg.Pool, table: str, where: str = "true") -> int:
    return int(await pool.fetchval(f"SELECT count(*) FROM {table} WHERE {where}"))


async def test_retention_keeps_tables_bounded_under_a_steady_stream(pool: asyncpg.Pool) -> None:
    sizes: list[tuple[int, int, int]] = []
    others: list[tuple[int, int, int]] = []
    for tick in range(TICKS):
        await _age_one_hour(pool)
        await _events(pool, tick, PER_TICK, "completed")
        await _run(pool, "incremental", "completed")
        await _writes(pool, tick, OUTBOX_PER_TICK, "applied")
        await _attempts(pool, tick, OUTBOX_PER_TICK)
        await prune(pool, SETTINGS)
        sizes.append(
            (
                await _count(pool, "tds_sync_queue"),
                await _count(pool, "tds_inbox_events"),
                await _count(pool, "tds_sync_runs"),
            )
        )
        others.append(
            (
                await _count(pool, "tds_outbox"),
                await _count(pool, "tds_processor_attempts"),
                await _count(pool, "tds_sync_queue_counts"),
            )
        )
    bound = (KEPT_TICKS + 1) * PER_TICK
    assert TICKS * PER_TICK > 2 * bound  # the stream outgrows the bound many times over
    assert all(queue <= bound and inbox <= bound for queue, inbox, _ in sizes), sizes
    assert all(runs <= KEPT_TICKS + 1 for _, _, runs in sizes), sizes
    # What is younger than the retention is all still there: the ticks of the last five hours.
    assert sizes[-1][:2] == (KEPT_TICKS * PER_TICK, KEPT_TICKS * PER_TICK)
    assert await _count(pool, "tds_sync_run_seen") <= (KEPT_TICKS + 1) * 20
    write_bound = (KEPT_TICKS + 1) * OUTBOX_PER_TICK
    assert all(outbox <= write_bound and attempts <= write_bound for outbox, attempts, _ in others)
    assert others[-1][:2] == (KEPT_TICKS * OUTBOX_PER_TICK, KEPT_TICKS * OUTBOX_PER_TICK)
    # The queue's count deltas (one per statement) are folded to one row per entity and status.
    assert all(counts <= 1 for _, _, counts in others), others
    counted = await pool.fetchval("SELECT sum(n) FROM tds_sync_queue_counts")
    assert counted == sizes[-1][0]


async def test_dead_letters_and_work_in_flight_outlive_the_normal_retention(
    pool: asyncpg.Pool,
) -> None:
    await _events(pool, 0, 3, "dead_letter")
    await _events(pool, 0, 2, "pending")
    await pool.execute(
        "INSERT INTO tds_dead_letter_values (queue_id, kafka_value) "
        "SELECT id, 'v'::bytea FROM tds_sync_queue WHERE status = 'dead_letter'"
    )
    await _writes(pool, 0, 2, "pending")
    await _writes(pool, 1, 1, "in_flight")
    await _writes(pool, 2, 1, "rejected")
    failed_long_ago = await _run(pool, "full", "failed")
    newest_full = await _run(pool, "full", "completed")
    running = await _run(pool, "full", "running")
    for _ in range(2 * KEPT_TICKS):
        await _age_one_hour(pool)
    await prune(pool, SETTINGS)
    assert await _count(pool, "tds_sync_queue", "status = 'dead_letter'") == 3
    assert await _count(pool, "tds_inbox_events", "status = 'dead_letter'") == 3
    assert await _count(pool, "tds_dead_letter_values") == 3
    assert await _count(pool, "tds_sync_queue", "status = 'pending'") == 2
    # Open writes stay whatever their age; a finished one ages out.
    writes = await pool.fetch("SELECT status FROM tds_outbox ORDER BY id")
    assert [w["status"] for w in writes] == ["pending", "pending", "in_flight"]
    runs = {row["id"] for row in await pool.fetch("SELECT id FROM tds_sync_runs")}
    # The failed run is older than a completed one of its kind; the newest completed run and a
    # run in progress stay whatever their age.
    assert runs == {newest_full, running}
    assert failed_long_ago not in runs

    for _ in range(10 * KEPT_TICKS):
        await _age_one_hour(pool)
    await prune(pool, SETTINGS)
    assert await _count(pool, "tds_sync_queue", "status = 'dead_letter'") == 0
    assert await _count(pool, "tds_inbox_events", "status = 'dead_letter'") == 0
    assert await _count(pool, "tds_dead_letter_values") == 0
    assert await _count(pool, "tds_sync_queue", "status = 'pending'") == 2
