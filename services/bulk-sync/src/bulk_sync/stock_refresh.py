"""Stock kept current even when a stock movement does not bump the item.

An incremental run lists items modified since its high-water mark. Whether a stock movement
(adjustment, receive, shipment, transfer) changes the item's ``last_modified_time`` is
UNCONFIRMED (docs/zoho-api.md, "Incremental sync"); if it does not, that list never shows it.
So every incremental stock run, after its list, re-reads the stock of the items it did not just
write, through Inventory ``itemdetails`` (``itemdetails_chunk`` items per call), the items
refreshed longest ago first, as long as the bulk lane's share of today's Inventory budget allows
(minus ``detail_headroom_calls``) and up to ``stock_refresh_max_calls`` calls. Items it cannot
reach this time are the first ones next time. An item missing from ``itemdetails`` is left to
the next full run, which alone decides deletions.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Final

from bulk_sync.allowance import calls_allowed
from bulk_sync.context import PageResult, RunContext, commit_page, record_id
from tds_common.mirror import Change
from tds_common.proxy_client import Lane

logger = logging.getLogger(__name__)

LANE: Final[Lane] = "bulk"


async def _calls_allowed(ctx: RunContext, spent: int) -> int:
    cap = ctx.settings.stock_refresh_max_calls
    return await calls_allowed(
        ctx, cap=cap, spent=spent, product="inventory", step="stock refresh", unbounded=1
    )


async def _stalest(ctx: RunContext, skip: set[str]) -> list[str]:
    """Items with stock rows not written by this run, the longest unrefreshed first."""
    async with ctx.pool.acquire() as conn:
        records = await conn.fetch(
            "SELECT item_id FROM zoho.stock_levels WHERE org_id = $1 AND deleted_at IS NULL "
            "AND item_id <> ALL($3::text[]) GROUP BY item_id HAVING max(synced_at) < $2 "
            "ORDER BY max(synced_at), item_id LIMIT $4",
            ctx.org_id, ctx.started_at, list(skip), ctx.settings.itemdetails_chunk,
        )  # fmt: skip
    return [r["item_id"] for r in records]


async def refresh_stock(ctx: RunContext, state: dict[str, Any]) -> int:
    """Re-read the stock of items the run's list did not bring; returns how many were read."""
    spent = 0
    refreshed = 0
    tried: set[str] = set()
    while await _calls_allowed(ctx, spent) > 0:
        ids = await _stalest(ctx, tried)
        if not ids:
            break
        tried.update(ids)
        calls = ctx.proxy.calls
        result = PageResult()
        # A read of Zoho's current stock: at the stored version (no bump) it still wins.
        read_at = datetime.now(UTC)
        details = await ctx.proxy.item_details(ctx.org_id, ids, LANE)
        spent += 1
        for detail in details:
            zoho_id = record_id(detail, "item_id")
            if zoho_id is not None and zoho_id in tried:
                result.add(Change("stock", ctx.org_id, zoho_id, "upsert", detail, "inventory",
                                  observed_at=read_at, read=True))  # fmt: skip
        refreshed += len(result.changes)
        state["stock_refreshed"] = int(state.get("stock_refreshed") or 0) + len(result.changes)
        await commit_page(ctx, result, state, listed=0, handled=0,
                          api_calls=ctx.proxy.calls - calls, source=None)  # fmt: skip
    if refreshed:
        logger.info("refreshed the stock of items", extra={
            "items": refreshed, "org_id": ctx.org_id, "run_id": str(ctx.run_id),
        })  # fmt: skip
    return refreshed
