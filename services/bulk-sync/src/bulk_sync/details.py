"""The completeness step: documents still without their line items get their detail read.

Zoho's lists are summaries; a document's line items cost one detail call each, and an org's daily
quota may not cover one per document. Lists therefore write summaries only, and this step, run
after the list of every full and incremental run of invoices, bills, credit notes and price
lists, reads the details of the documents still lacking them, **newest first**, for as long as

- the run's cap (``max_detail_calls_per_run``) allows, and
- the bulk lane's share of today's budget, as zoho-proxy reports it (``GET /api/zoho/budget``:
  what is left above the reserve kept for live traffic), minus ``detail_headroom_calls`` left
  for the list calls of the organization's other runs.

What is left is carried over to the next run and the next day; the run records it
(``details_pending``). "Pending" is derived from the row itself (its ``raw`` lacks the line-item
list: it was written from a summary), so a webhook carrying the whole record clears it too.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from bulk_sync.allowance import calls_allowed
from bulk_sync.context import PageResult, RunContext, commit_page, gone_from_zoho
from bulk_sync.zoho_reads import read_records
from tds_common.catalogue import get_entity
from tds_common.mirror import Change
from tds_common.mirror.reads import Versions, details_pending_count, newest_details_pending
from tds_common.proxy_client import Lane

logger = logging.getLogger(__name__)

DETAIL_LANE: Final[Lane] = "bulk"
"""Background work: the lowest lane, and the one the proxy keeps off the daily reserve."""


def has_details(entity: str) -> bool:
    """Whether the entity's list leaves out something only a detail read brings."""
    return get_entity(entity).child is not None


async def complete_details(ctx: RunContext, state: dict[str, Any]) -> int:
    """Read pending details newest first within the allowance; returns how many stay pending."""
    spec = get_entity(ctx.entity)
    if spec.child is None:
        return 0
    tried: set[str] = set()  # a detail that still lacks its lines is not read twice in a run
    while True:
        allowance = await calls_allowed(
            ctx,
            cap=ctx.settings.max_detail_calls_per_run,
            spent=ctx.detail_calls,
            product=spec.products[0],
            step="detail reads",
            unbounded=ctx.settings.details_batch,
        )
        if allowance <= 0:
            break
        async with ctx.pool.acquire() as conn:
            batch = await newest_details_pending(
                conn,
                spec,
                ctx.org_id,
                excluding=tried,
                limit=min(allowance, ctx.settings.details_batch),
            )
        if not batch:
            break
        tried.update(batch)
        calls = ctx.proxy.calls
        result = await _read(ctx, batch)
        ctx.detail_calls += len(batch)
        state["detail_calls"] = ctx.detail_calls
        await commit_page(
            ctx, result, state, listed=0, handled=0, api_calls=ctx.proxy.calls - calls, source=None
        )
    async with ctx.pool.acquire() as conn:
        left = await details_pending_count(conn, spec, ctx.org_id)
    if left:
        logger.info(
            "documents still lack their details (carried over)",
            extra={
                "details_pending": left,
                "entity": ctx.entity,
                "org_id": ctx.org_id,
                "run_id": str(ctx.run_id),
            },
        )
    return left


async def _read(ctx: RunContext, batch: Versions) -> PageResult:
    result = PageResult()  # before the reads: they are no older than its read_at
    found = await read_records(ctx, list(batch), DETAIL_LANE)
    for zoho_id, modified in batch.items():
        detail = found[zoho_id]
        if detail is None:
            result.add(gone_from_zoho(ctx, zoho_id, modified))
            result.gone += 1
        else:
            result.add(Change(ctx.entity, ctx.org_id, zoho_id, "upsert", detail[0], detail[1]))
    return result
