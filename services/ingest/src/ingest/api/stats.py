"""``GET /api/zoho/webhooks/inbox/stats``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query

from ingest.api.deps import StateDep
from ingest.auth import check_token

router = APIRouter(tags=["webhooks"])


@router.get("/api/zoho/webhooks/inbox/stats")
async def inbox_stats(
    state: StateDep,
    x_tds_webhook_token: Annotated[str | None, Header()] = None,
    token: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    """Webhooks received, accepted and rejected (by reason and entity) over 5m/1h/24h.

    Counted in memory by this replica only, since it started; sum over replicas, or use the
    ``tds_ingest_webhooks_total`` metric, for the whole deployment. Needs a webhook token
    unless ``INGEST_STATS_REQUIRE_TOKEN=false``: the path is reachable from the internet.
    """
    if state.settings.stats_require_token:
        check_token(x_tds_webhook_token, token, state.settings.webhook_secrets)
    return state.stats.snapshot()
