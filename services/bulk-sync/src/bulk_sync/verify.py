"""The verifier: a budgeted comparison of mirror rows with Zoho, repairing what differs.

Zoho never retries a webhook, and an incremental run only sees what changed after its
high-water mark: an old record the mirror lost (or marks deleted by mistake), a row whose
columns were written wrong, or a deletion whose webhook was dropped stay wrong until the next
full run. So every incremental run of products, customers, invoices, bills, credit notes and
price lists also verifies: it lists pages of Zoho's list sorted by ``created_time`` (a stable
order) and compares them with the mirror. A page's record differs when its row is missing or
deleted, carries another version, or holds another value in a typed column's Zoho field; the
listed record is then written (a read, which wins at the stored version). Rows created inside
the page's ``created_time`` range but not listed are read once in detail: a record Zoho no
longer has is marked deleted at its stored version.

Each run verifies ``verify_max_calls`` pages at most (None: as many as the budget allows, i.e.
everything), within the bulk lane's share of today's budget minus ``detail_headroom_calls``,
continuing where the previous run stopped and wrapping around at the end: a sample per run when
the budget is short, the whole list when it allows. What it found is ``drift_rows`` on the run
and ``tds_mirror_drift_rows{entity}``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Final

from bulk_sync.allowance import calls_allowed
from bulk_sync.context import PageResult, RunContext, commit_page, gone_from_zoho, record_id
from tds_common.catalogue import EntitySpec, get_entity
from tds_common.events import record_time
from tds_common.mirror import Change, DbConnection
from tds_common.mirror.reads import (
    StoredRecord,
    Versions,
    live_rows_created_between,
    stored_records,
)

logger = logging.getLogger(__name__)

LANE: Final = "bulk"


def verifies(entity: str, mode: str) -> bool:
    return mode == "incremental" and get_entity(entity).verified


async def _pages_allowed(ctx: RunContext, spent: int) -> int:
    product = get_entity(ctx.entity).products[0]
    return await calls_allowed(
        ctx,
        cap=ctx.settings.verify_max_calls,
        spent=spent,
        product=product,
        step="verification",
        unbounded=1,
    )


async def _start_page(conn: DbConnection, ctx: RunContext) -> int:
    """Where the previous completed run's verification stopped (1 the first time)."""
    value = await conn.fetchval(
        "SELECT (checkpoint -> $2::text ->> 'verify_next_page')::int FROM tds_sync_runs "
        "WHERE org_id = $1 AND entity_type = $2 AND status = 'completed' "
        "AND checkpoint -> $2::text ? 'verify_next_page' ORDER BY completed_at DESC LIMIT 1",
        ctx.org_id,
        ctx.entity,
    )
    return int(value) if isinstance(value, int) and value >= 1 else 1


def _fields(spec: EntitySpec) -> tuple[str, ...]:
    """The Zoho fields the typed columns read (what people query)."""
    return tuple(field for column in spec.columns for field in column.sources)


def differs(spec: EntitySpec, listed: dict[str, Any], stored: StoredRecord | None) -> bool:
    """Whether a listed record and its stored row disagree (pure)."""
    if stored is None or stored.deleted:
        return True
    if record_time(listed) != stored.modified:
        return True
    return any(
        field in listed and stored.raw.get(field) != listed[field] for field in _fields(spec)
    )


async def verify(ctx: RunContext, state: dict[str, Any]) -> int:
    """Verify pages within the allowance; returns the rows found different (and repaired)."""
    if state.get("verified"):  # a resumed run: verified before its crash
        return int(state.get("drift_rows") or 0)
    spec = get_entity(ctx.entity)
    id_field = spec.id_field
    async with ctx.pool.acquire() as conn:
        page_no = int(state.get("verify_page") or await _start_page(conn, ctx))
    first_page, spent, ends = page_no, 0, 0
    drift = int(state.get("drift_rows") or 0)
    while ends < 2 and await _pages_allowed(ctx, spent) > 0:
        calls = ctx.proxy.calls
        result = PageResult()
        page = await ctx.proxy.list_page(ctx.entity, ctx.org_id, _params(ctx, page_no), LANE)
        spent += 1
        listed = {i: r for r in page.records if (i := record_id(r, id_field)) is not None}
        async with ctx.pool.acquire() as conn:
            stored = await stored_records(conn, spec, ctx.org_id, listed)
            missing = await _unlisted(conn, spec, ctx.org_id, page.records, set(listed))
        for zoho_id, record in listed.items():
            if differs(spec, record, stored.get(zoho_id)):
                drift += 1
                result.add(Change(ctx.entity, ctx.org_id, zoho_id, "upsert", record, page.source))
        drift += await _confirm_gone(ctx, missing, result)
        spent += len(missing)
        ends += not page.has_more
        page_no = page_no + 1 if page.has_more else 1
        state["verify_page"] = page_no
        state["drift_rows"] = drift
        await commit_page(
            ctx, result, state, listed=0, handled=0, api_calls=ctx.proxy.calls - calls, source=None
        )
        if page_no == first_page:
            break  # the whole list, once
    state["verify_next_page"] = page_no
    if drift:
        logger.warning(
            "verification found rows different from Zoho; repaired",
            extra={
                "rows": drift,
                "entity": ctx.entity,
                "org_id": ctx.org_id,
                "run_id": str(ctx.run_id),
            },
        )
    state["verified"] = True
    return drift


def _params(ctx: RunContext, page_no: int) -> dict[str, str]:
    params = {
        "page": str(page_no),
        "per_page": str(ctx.settings.per_page),
        "sort_column": "created_time",
        "sort_order": "A",
    }
    filter_by = ctx.settings.list_filter_by.get(ctx.entity)
    if filter_by:
        params["filter_by"] = filter_by
    return params


async def _unlisted(
    conn: DbConnection,
    spec: EntitySpec,
    org_id: str,
    records: list[dict[str, Any]],
    listed: set[str],
) -> Versions:
    """Live rows created strictly inside the page's created_time range that it did not list."""
    times = [t for r in records if (t := record_time(r, "created_time")) is not None]
    if len(times) < 2:
        return {}
    return await live_rows_created_between(
        conn, spec, org_id, after=min(times), before=max(times), excluding=listed
    )


async def _confirm_gone(ctx: RunContext, missing: Versions, result: PageResult) -> int:
    """Read each unlisted row's record; the ones Zoho no longer has are marked deleted."""
    gone = 0
    for zoho_id, modified in missing.items():
        read_at = datetime.now(UTC)
        if await ctx.proxy.get_record(ctx.entity, ctx.org_id, zoho_id, LANE) is None:
            gone += 1
            result.add(gone_from_zoho(ctx, zoho_id, modified, observed_at=read_at))
    return gone
