"""Reading Zoho for a run's steps, one way for all: records in full, at most the run's
``detail_concurrency`` at once (its gate), and stock by item, ``itemdetails_chunk`` items a call.
What an absent record means (deleted, gone, still a candidate) is each step's own decision."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from bulk_sync.context import RunContext, record_id
from tds_common.proxy_client import Lane

Detail = tuple[dict[str, Any], str]
"""A record in full and the Zoho product that had it."""


async def read_records(ctx: RunContext, ids: Sequence[str], lane: Lane) -> dict[str, Detail | None]:
    """Each id's record (None where Zoho has none), in the order asked."""

    async def read(zoho_id: str) -> tuple[str, Detail | None]:
        async with ctx.detail_gate:
            return zoho_id, await ctx.proxy.get_record(ctx.entity, ctx.org_id, zoho_id, lane)

    return dict(await asyncio.gather(*(read(zoho_id) for zoho_id in ids)))


async def read_stock(
    ctx: RunContext, item_ids: Sequence[str], lane: Lane
) -> dict[str, dict[str, Any]]:
    """The Inventory item details (with their warehouses) of the asked items that exist."""
    asked = set(item_ids)
    found: dict[str, dict[str, Any]] = {}
    chunk = ctx.settings.itemdetails_chunk
    for start in range(0, len(item_ids), chunk):
        part = list(item_ids[start : start + chunk])
        for detail in await ctx.proxy.item_details(ctx.org_id, part, lane):
            item_id = record_id(detail, "item_id")
            if item_id in asked:
                found[item_id] = detail
    return found
