"""Selective runs: read exactly the given ids (full detail) and mirror them.

A record Zoho no longer has (404) is marked deleted: that is what Zoho says about it now. Stock
reads the items' Inventory details in chunks. Ids are committed ``selective_chunk`` at a time
with the position in the checkpoint, so a resumed run continues after the last chunk committed.
Explicitly asked ids are read whatever the run's detail budget says.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bulk_sync.context import PageResult, RunContext, commit_page, record_id
from tds_common.mirror import Change


async def sync_selected(ctx: RunContext, state: dict[str, Any], ids: list[str]) -> None:
    position = int(state.get("position") or 0)
    step = ctx.settings.selective_chunk
    while position < len(ids):
        chunk = ids[position : position + step]
        calls = ctx.proxy.calls
        result = PageResult()
        if ctx.entity == "stock":
            await _stock(ctx, chunk, result)
        else:
            await _records(ctx, chunk, result)
        position += len(chunk)
        state["position"] = position
        # total_items was set to len(ids) when the run was created.
        await commit_page(
            ctx,
            result,
            state,
            listed=0,
            handled=len(chunk),
            api_calls=ctx.proxy.calls - calls,
            source=None,
        )


async def _records(ctx: RunContext, chunk: list[str], result: PageResult) -> None:
    async def read(zoho_id: str) -> tuple[str, tuple[dict[str, Any], str] | None]:
        async with ctx.detail_gate:
            return zoho_id, await ctx.proxy.get_record(ctx.entity, ctx.org_id, zoho_id, ctx.lane)

    for zoho_id, found in await asyncio.gather(*(read(i) for i in chunk)):
        if found is None:
            result.add(Change(ctx.entity, ctx.org_id, zoho_id, "delete", {}, "books"))
            result.gone += 1
        else:
            record, source = found
            result.add(Change(ctx.entity, ctx.org_id, zoho_id, "upsert", record, source))


async def _stock(ctx: RunContext, chunk: list[str], result: PageResult) -> None:
    details = await ctx.proxy.item_details(ctx.org_id, chunk, ctx.lane)
    found = {record_id(d, "item_id"): d for d in details}
    for zoho_id in chunk:
        detail = found.get(zoho_id)
        if detail is None:
            result.add(Change("stock", ctx.org_id, zoho_id, "delete", {}, "inventory"))
            result.gone += 1
        else:
            result.add(Change("stock", ctx.org_id, zoho_id, "upsert", detail, "inventory"))
