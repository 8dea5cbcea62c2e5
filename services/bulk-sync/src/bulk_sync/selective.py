"""Selective runs: read exactly the given ids (full detail) and mirror them.

A record Zoho no longer has (404) is marked deleted: that is what Zoho says about it now. Stock
reads the items' Inventory details in chunks. Ids are committed ``selective_chunk`` at a time
with the position in the checkpoint, so a resumed run continues after the last chunk committed.
Explicitly asked ids are read whatever the run's detail budget says.
"""

from __future__ import annotations

from typing import Any

from bulk_sync.context import PageResult, RunContext, commit_page, gone_from_zoho
from bulk_sync.zoho_reads import read_records, read_stock
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
    for zoho_id, found in (await read_records(ctx, chunk, ctx.lane)).items():
        if found is None:
            result.add(gone_from_zoho(ctx, zoho_id))
            result.gone += 1
        else:
            record, source = found
            result.add(Change(ctx.entity, ctx.org_id, zoho_id, "upsert", record, source))


async def _stock(ctx: RunContext, chunk: list[str], result: PageResult) -> None:
    found = await read_stock(ctx, chunk, ctx.lane)
    for zoho_id in chunk:
        detail = found.get(zoho_id)
        if detail is None:
            result.add(gone_from_zoho(ctx, zoho_id))
            result.gone += 1
        else:
            result.add(Change("stock", ctx.org_id, zoho_id, "upsert", detail, "inventory"))
