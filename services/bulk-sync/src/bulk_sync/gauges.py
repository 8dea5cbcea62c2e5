"""Gauges read from the database, so every bulk-sync replica reports the same truth.

A gauge set only by the replica that did the work is wrong on every other replica (and stale
on that one after the work is undone elsewhere), and alerts take ``max`` over replicas. So
``tds_bulk_sync_sweeps_held``, ``tds_bulk_sync_details_pending`` and ``tds_mirror_drift_rows``
are refreshed from PostgreSQL by one loop per replica: held sweeps every
:data:`HELD_REFRESH_SECONDS` (a cheap query), details pending and drift every
:data:`COMPLETENESS_REFRESH_SECONDS` (a count over the mirror's document tables).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Final

import asyncpg

from bulk_sync import held, metrics
from bulk_sync.completeness import completeness
from tds_common.backoff import sleep_unless_stopping
from tds_common.db import CONNECTION_ERRORS
from tds_common.mirror import DbConnection

logger = logging.getLogger(__name__)

HELD_REFRESH_SECONDS: Final = held.HELD_REFRESH_SECONDS
COMPLETENESS_REFRESH_SECONDS: Final = 300.0


async def refresh_drift(conn: DbConnection) -> None:
    """``tds_mirror_drift_rows{entity}``: what the newest verification of each entity found."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (entity_type) entity_type, drift_rows FROM tds_sync_runs "
        "WHERE drift_rows IS NOT NULL ORDER BY entity_type, completed_at DESC NULLS LAST"
    )
    for row in rows:
        metrics.DRIFT_ROWS.labels(row["entity_type"]).set(row["drift_rows"])


async def refresh_all(conn: DbConnection) -> None:
    """Every gauge of this module, now (at start, and from the loop)."""
    await held.refresh_gauge(conn)
    await completeness(conn)  # sets tds_bulk_sync_details_pending as a side effect
    await refresh_drift(conn)


async def watch(pool: asyncpg.Pool, stop: asyncio.Event) -> None:
    """Keep the gauges true until ``stop`` (a database outage only delays them)."""
    next_completeness = 0.0
    while not stop.is_set():
        try:
            async with pool.acquire() as conn:
                await held.refresh_gauge(conn)
                if time.monotonic() >= next_completeness:
                    await completeness(conn)
                    await refresh_drift(conn)
                    next_completeness = time.monotonic() + COMPLETENESS_REFRESH_SECONDS
        except (*CONNECTION_ERRORS, asyncpg.PostgresError) as exc:
            logger.warning("bulk-sync gauges not refreshed: %s", type(exc).__name__)
        await sleep_unless_stopping(stop, HELD_REFRESH_SECONDS)
