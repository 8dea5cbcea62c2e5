"""Full and incremental runs of one entity: page through its list with the keyset cursor.

Per page: list call → skip what the cursor already handled → look up the stored versions →
write the summaries newer than their rows (documents' line items are read afterwards, newest
first, by :mod:`bulk_sync.details`) → stock per warehouse from Inventory ``itemdetails`` (up to
``itemdetails_chunk`` items per call) → commit rows + checkpoint together. Warehouses are one
unpaginated list without versions.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from bulk_sync.context import PageResult, RunContext, commit_page, record_id
from bulk_sync.cursor import Cursor
from bulk_sync.spans import page_span
from bulk_sync.stored import need
from bulk_sync.zoho_reads import read_stock
from tds_common.catalogue import get_entity
from tds_common.events import record_time
from tds_common.mirror import Change
from tds_common.mirror.reads import stored_rows

logger = logging.getLogger(__name__)


async def sync_listed(ctx: RunContext, state: dict[str, Any], since: datetime | None) -> None:
    """Page until the list is exhausted; the cursor lives in ``state`` (saved per page)."""
    spec = get_entity(ctx.entity)
    if not spec.paginated:
        await _sync_warehouses(ctx, state)
        return
    cursor = Cursor.from_json(state.get("cursor"), since)
    id_field = spec.id_field
    s = ctx.settings
    filter_by = s.list_filter_by.get(ctx.entity)
    while not cursor.done:
        with page_span(ctx):  # a trace per page, linked to the run
            calls = ctx.proxy.calls
            params = cursor.params(s.per_page, s.cursor_overlap_seconds)
            if filter_by:
                params["filter_by"] = filter_by  # else Zoho may list active records only
            if ctx.list_source:
                params["source"] = ctx.list_source
            result = PageResult()  # before the list call: its records are no older than read_at
            page = await ctx.proxy.list_page(ctx.entity, ctx.org_id, params, ctx.lane)
            keyed: dict[str, tuple[dict[str, Any], datetime | None]] = {}
            for record in page.records:
                zoho_id = record_id(record, id_field)
                if zoho_id is None:
                    result.errors.append(f"{ctx.entity}: a listed record has no {id_field}")
                    continue
                keyed.setdefault(zoho_id, (record, record_time(record)))
            on_page = [(i, t) for i, (_, t) in keyed.items()]
            chosen, after = cursor.step(on_page, page.has_more, s.cursor_overlap_seconds)
            if after.paging != cursor.paging:
                logger.warning(
                    "Zoho ignored the last_modified_time filter; paging linearly",
                    extra={"entity": ctx.entity, "org_id": ctx.org_id, "run_id": str(ctx.run_id)},
                )
            cursor = after
            fresh = [(i, *keyed[i]) for i in chosen]
            if ctx.entity == "stock":
                await _stock_changes(ctx, [i for i, _, _ in fresh], result)
            else:
                await _record_changes(ctx, fresh, page.source, result)
            state["cursor"] = cursor.to_json()
            state["high_water"] = cursor.to_json()["high_water"]
            listed = len(fresh) + len(result.errors)
            source = "inventory" if ctx.entity == "stock" else page.source
            await commit_page(
                ctx,
                result,
                state,
                listed=listed,
                handled=listed,
                api_calls=ctx.proxy.calls - calls,
                source=source,
            )


async def _record_changes(
    ctx: RunContext,
    fresh: list[tuple[str, dict[str, Any], datetime | None]],
    source: str,
    result: PageResult,
) -> None:
    """Summaries newer than their rows are written; line items come later, newest first, from
    the completeness step (:mod:`bulk_sync.details`), within the day's budget."""
    spec = get_entity(ctx.entity)
    async with ctx.pool.acquire() as conn:
        stored = await stored_rows(conn, spec, ctx.org_id, {i: r for i, r, _ in fresh})
    for zoho_id, record, modified in fresh:
        result.seen.append(zoho_id)
        if need(spec, modified, stored.get(zoho_id)) == "write":
            result.add(Change(ctx.entity, ctx.org_id, zoho_id, "upsert", record, source))
        else:
            result.unchanged += 1


async def _stock_changes(ctx: RunContext, item_ids: list[str], result: PageResult) -> None:
    """Stock rows of listed items from Inventory item details; absent items are gone."""
    found = await read_stock(ctx, item_ids, ctx.lane)
    for zoho_id in item_ids:
        detail = found.get(zoho_id)
        if detail is None:
            result.gone += 1
            continue
        result.seen.append(zoho_id)
        result.add(Change("stock", ctx.org_id, zoho_id, "upsert", detail, "inventory"))


async def _sync_warehouses(ctx: RunContext, state: dict[str, Any]) -> None:
    """One unpaginated list (no last_modified_time): every warehouse is written."""
    calls = ctx.proxy.calls
    page = await ctx.proxy.list_page("warehouses", ctx.org_id, {}, ctx.lane, paged=False)
    result = PageResult()
    for record in page.records:
        zoho_id = record_id(record, "warehouse_id")
        if zoho_id is None:
            result.errors.append("warehouses: a listed record has no warehouse_id")
            continue
        result.seen.append(zoho_id)
        result.add(Change("warehouses", ctx.org_id, zoho_id, "upsert", record, page.source))
    state["cursor"] = {"done": True}
    listed = len(page.records)
    await commit_page(
        ctx,
        result,
        state,
        listed=listed,
        handled=listed,
        api_calls=ctx.proxy.calls - calls,
        source=page.source,
    )
