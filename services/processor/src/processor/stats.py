"""``GET /api/zoho/sync/stats`` (contract, shape from the original TDS design).

    {"queue": {"pending": 12, "processing": 0, "completed": 1234, "failed": 3, "dead_letter": 2},
     "by_entity": {"products": {"completed": 1000, "dead_letter": 1}, ...},
     "sync_delay_avg_seconds": 0.8, "consumer_lag": 12, "retrying": 1}

``queue`` counts ``tds_sync_queue`` rows by status (from the counts the queue's triggers keep, so
the endpoint never scans the queue), with two sums so that a stall shows:

- ``pending`` is the real backlog: the consumer group's lag on the events topic (messages not
  committed yet, over every partition and replica) plus queue rows not done (``pending``, e.g. a
  replayed dead letter, which also counts in the lag until the processor has taken it);
- ``failed`` counts every event that failed: ``failed`` rows, dead letters, and the events
  failing right now (``retrying``: tried again later, parked once their attempts are spent).

``consumer_lag`` is ``null`` when Kafka cannot tell (then ``pending`` holds only the rows).
The delay is queued (event received) → processing completed (row committed), averaged over the
completions of the last ``stats_window_hours``; ``null`` when there were none.
"""

from __future__ import annotations

from typing import Any, Final

import asyncpg

from processor.attempts import FAILING
from tds_common.db import database_unavailable_as_error

QUEUE_STATUSES: Final = ("pending", "processing", "completed", "failed", "dead_letter")

# Counted by triggers (migration 0014, ``tds_sync_queue_counts``), never by scanning the queue:
# a few rows per entity and status, plus the deltas since the retention pass last folded them.
BY_ENTITY: Final = """
SELECT entity_type, status, sum(n)::bigint AS n FROM tds_sync_queue_counts
GROUP BY entity_type, status HAVING sum(n) <> 0
"""
DELAY: Final = """
SELECT avg(extract(epoch FROM processing_completed_at - queued_at))::float8
FROM tds_sync_queue
WHERE status = 'completed' AND processing_completed_at > now() - make_interval(secs => $1)
"""


async def sync_stats(pool: asyncpg.Pool, window_hours: float, lag: int | None) -> dict[str, Any]:
    with database_unavailable_as_error("PostgreSQL unavailable"):
        async with pool.acquire() as conn:
            rows = await conn.fetch(BY_ENTITY)
            delay = await conn.fetchval(DELAY, window_hours * 3600)
            failing = int(await conn.fetchval(FAILING))
    queue = dict.fromkeys(QUEUE_STATUSES, 0)
    by_entity: dict[str, dict[str, int]] = {}
    for row in rows:
        queue[row["status"]] = queue.get(row["status"], 0) + row["n"]
        by_entity.setdefault(row["entity_type"], {})[row["status"]] = row["n"]
    queue["pending"] += lag or 0
    queue["failed"] += queue["dead_letter"] + failing
    return {
        "queue": queue,
        "by_entity": by_entity,
        "sync_delay_avg_seconds": None if delay is None else round(float(delay), 3),
        "consumer_lag": lag,
        "retrying": failing,
    }
