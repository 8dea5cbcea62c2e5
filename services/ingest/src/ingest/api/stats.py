"""``GET /api/zoho/webhooks/inbox/stats``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ingest.api.deps import StateDep

router = APIRouter(tags=["webhooks"])


@router.get("/api/zoho/webhooks/inbox/stats")
async def inbox_stats(state: StateDep) -> dict[str, Any]:
    """Webhooks received, accepted and rejected (by reason and entity) over 5m/1h/24h.

    Counted in memory by this replica only, since it started; sum over replicas, or use the
    ``tds_ingest_webhooks_total`` metric, for the whole deployment.
    """
    return state.stats.snapshot()
