"""``GET /api/zoho/sync/stats``: the route; the counts and their meaning are in processor.stats."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from processor.api.deps import StateDep
from processor.stats import sync_stats

router = APIRouter(tags=["sync"])


@router.get("/api/zoho/sync/stats")
async def get_sync_stats(state: StateDep) -> dict[str, Any]:
    """Queue counts by status (pending = the real backlog) and by entity, the sync delay."""
    lag = await state.consumer.backlog()
    return await sync_stats(state.pool, state.settings.stats_window_hours, lag)
