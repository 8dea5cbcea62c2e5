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
from bulk_sync.context import PageResult, RunContext, commit_page
from bulk_sync.zoho_reads import read_stock
from tds_common.catalogue import get_entity
from tds_common.mirror import Change
from tds_common.mirror.reads import least_recently_synced
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
        return await least_recently_synced(
            conn,
            get_entity("stock"),
            ctx.org_id,
            synced_before=ctx.started_at,
            excluding=skip,
            limit=ctx.settings.itemdetails_chunk,
        )


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
        details = await read_stock(ctx, ids, LANE)  # one call: ids are one chunk at most
        spent += 1
        for zoho_id, detail in details.items():
            change = Change(
                entity="stock",
                org_id=ctx.org_id,
                zoho_id=zoho_id,
                op="upsert",
                record=detail,
                source="inventory",
                observed_at=read_at,
                read=True,
            )
            result.add(change)
        refreshed += len(result.changes)
        state["stock_refreshed"] = int(state.get("stock_refreshed") or 0) + len(result.changes)
        await commit_page(
            ctx, result, state, listed=0, handled=0, api_calls=ctx.proxy.calls - calls, source=None
        )
    if refreshed:
        logger.info(
            "refreshed the stock of items",
            extra={"items": refreshed, "org_id": ctx.org_id, "run_id": str(ctx.run_id)},
        )
    return refreshed
