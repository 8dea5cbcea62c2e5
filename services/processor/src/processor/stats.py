"""``GET /api/zoho/sync/stats`` (contract, shape from the original TDS design).

    {"queue": {"pending": 0, "processing": 0, "completed": 1234, "failed": 0, "dead_letter": 2},
     "by_entity": {"products": {"completed": 1000, "dead_letter": 1}, ...},
     "sync_delay_avg_seconds": 0.8}

The delay is queued (event received) → processing completed (row committed), averaged over the
completions of the last ``stats_window_hours``; ``null`` when there were none.
"""

from __future__ import annotations

from typing import Any, Final

import asyncpg
from fastapi import APIRouter, Request

from tds_common.db import CONNECTION_ERRORS
from tds_common.errors import UpstreamUnavailableError

QUEUE_STATUSES: Final = ("pending", "processing", "completed", "failed", "dead_letter")

_BY_ENTITY: Final = """
SELECT entity_type, status, count(*) AS n FROM tds_sync_queue GROUP BY entity_type, status
"""
_DELAY: Final = """
SELECT avg(extract(epoch FROM processing_completed_at - queued_at))::float8
FROM tds_sync_queue
WHERE status = 'completed' AND processing_completed_at > now() - make_interval(secs => $1)
"""


async def sync_stats(pool: asyncpg.Pool, window_hours: float) -> dict[str, Any]:
    try:
        async with pool.acquire() as conn:
            rows = await conn.fetch(_BY_ENTITY)
            delay = await conn.fetchval(_DELAY, window_hours * 3600)
    except CONNECTION_ERRORS as exc:
        raise UpstreamUnavailableError("PostgreSQL unavailable") from exc
    queue = dict.fromkeys(QUEUE_STATUSES, 0)
    by_entity: dict[str, dict[str, int]] = {}
    for row in rows:
        queue[row["status"]] = queue.get(row["status"], 0) + row["n"]
        by_entity.setdefault(row["entity_type"], {})[row["status"]] = row["n"]
    return {
        "queue": queue,
        "by_entity": by_entity,
        "sync_delay_avg_seconds": None if delay is None else round(float(delay), 3),
    }


def stats_router() -> APIRouter:
    router = APIRouter(tags=["sync"])

    @router.get("/api/zoho/sync/stats")
    async def get_sync_stats(request: Request) -> dict[str, Any]:
        """Queue counts by status and by entity, and the average sync delay."""
        state = request.app.state
        return await sync_stats(state.pool, state.settings.stats_window_hours)

    return router
