"""Deletions found by a full run: rows Zoho no longer lists are soft-deleted, and only when safe.

Zoho has no feed of deletions (docs/zoho-api.md#incremental-sync). A full run records every id it
listed in ``tds_sync_run_seen``; once its list is exhausted, a live mirror row of the
organization that was neither seen nor written since the run started is a *candidate*. Three
guards stand between a candidate and a deletion:

1. **Only a complete list.** A run that fails or is interrupted never gets here, and a list
   answer that cannot say whether more pages follow fails the run (:mod:`bulk_sync.proxy`).
2. **Only a proven listing, or Zoho's word.** When the walk relied on offsets it could not
   prove (:mod:`bulk_sync.cursor`: linear paging because Zoho ignored the filter, or a crowded
   second that never settled), a record can have slid past a page unseen. Each candidate is
   then read from Zoho first: one that exists is written (and is no longer a candidate); only
   Zoho's "does not exist" (code 1002) lets it be deleted.
3. **Not too many at once.** A sweep that would delete more than ``max_sweep_share`` of the
   entity's live rows stops short: nothing is deleted, the run ends ``needs_confirmation``
   (:mod:`bulk_sync.held`) until a person confirms it. The check comes before the reads of
   guard 2, so a suspicious sweep spends no budget until confirmed.

The deletion itself is a delete at the stored version through
:func:`tds_common.mirror.write_changes` (a newer webhook write that lands meanwhile still wins),
in the transaction that completes the entity, and only of candidates that are still candidates
then.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from bulk_sync import metrics
from bulk_sync.context import PageResult, RunContext, commit_page, gone_from_zoho
from bulk_sync.zoho_reads import read_records, read_stock
from tds_common.catalogue import get_entity
from tds_common.mirror import Change, DbConnection, map_change, write_changes
from tds_common.mirror.reads import Versions, unseen_live_rows

logger = logging.getLogger(__name__)

SWEEP_CHUNK: Final = 1000


@dataclass(frozen=True)
class Decision:
    """What the sweep of one entity will do."""

    delete: dict[str, datetime | None]
    """Candidates to delete, with their stored versions (empty when held)."""
    held: bool = False
    candidates: int = 0
    live: int = 0
    verified: int = 0
    """Candidates read from Zoho first (the listing was not proven complete)."""


async def decide(ctx: RunContext, state: dict[str, Any]) -> Decision:
    """The sweep of a full run whose list is exhausted: held, or what to delete.

    ``state["sweep"]`` remembers a hold; ``confirmed`` in it (set by the confirm call) lets the
    sweep past the share guard.
    """
    sweep_state = state.get("sweep") or {}
    async with ctx.pool.acquire() as conn:
        found, live = await _candidates(conn, ctx)
        checkpoint = await conn.fetchval(
            "SELECT checkpoint FROM tds_sync_runs WHERE id = $1", ctx.run_id
        )
    guard = ctx.settings.max_sweep_share * live
    if found and len(found) > guard and not sweep_state.get("confirmed"):
        logger.warning(
            "full run %s would delete %d of %d live %s rows of org %s (more than %.1f%%): held "
            "until confirmed",
            ctx.run_id,
            len(found),
            live,
            ctx.entity,
            ctx.org_id,
            100 * ctx.settings.max_sweep_share,
        )
        return Decision({}, held=True, candidates=len(found), live=live)
    if listings_proven(ctx.entity, state, checkpoint) or not found:
        return Decision(found, candidates=len(found), live=live)
    gone = await _confirm_gone(ctx, state, found)
    return Decision(gone, candidates=len(found), live=live, verified=len(found))


def listings_proven(entity: str, state: dict[str, Any], checkpoint: Any) -> bool:
    """Whether every listing of the entity in this run was proven complete: its own, and any
    further list of it kept under ``<entity>:<source>`` (Inventory's products list)."""
    listings = [state]
    if isinstance(checkpoint, dict):
        listings += [v for k, v in checkpoint.items() if k.startswith(f"{entity}:")]
    return all(
        bool((listing.get("cursor") or {}).get("proven", True))
        for listing in listings
        if isinstance(listing, dict)
    )


async def delete(conn: DbConnection, ctx: RunContext, decision: Decision) -> int:
    """Mark the decided rows deleted; inside the transaction that completes the entity."""
    if not decision.delete:
        return 0
    still, _ = await _candidates(conn, ctx)  # a webhook may have written one meanwhile
    changes = [
        map_change(gone_from_zoho(ctx, zoho_id, still[zoho_id]))
        for zoho_id in decision.delete
        if zoho_id in still
    ]
    deleted = 0
    for start in range(0, len(changes), SWEEP_CHUNK):
        deleted += len(await write_changes(conn, changes[start : start + SWEEP_CHUNK]))
    if deleted:
        logger.info(
            "marked rows deleted (not in Zoho)",
            extra={
                "rows": deleted,
                "entity": ctx.entity,
                "org_id": ctx.org_id,
                "run_id": str(ctx.run_id),
            },
        )
        metrics.RECORDS.labels(ctx.entity, "deleted").inc(deleted)
    return deleted


async def _candidates(conn: DbConnection, ctx: RunContext) -> tuple[Versions, int]:
    """Live rows neither seen by the run nor written since it started (with their versions),
    and how many live rows the entity has."""
    return await unseen_live_rows(
        conn,
        get_entity(ctx.entity),
        ctx.org_id,
        run_id=ctx.run_id,
        entity=ctx.entity,
        started_at=ctx.started_at,
    )


async def _confirm_gone(
    ctx: RunContext, state: dict[str, Any], found: dict[str, datetime | None]
) -> dict[str, datetime | None]:
    """Ask Zoho about each candidate: write those it has, keep those it does not."""
    ids = list(found)
    alive = PageResult()
    calls = ctx.proxy.calls
    if ctx.entity == "stock":
        for item, detail in (await read_stock(ctx, ids, ctx.lane)).items():
            alive.seen.append(item)
            alive.add(Change("stock", ctx.org_id, item, "upsert", detail, "inventory"))
    else:
        for zoho_id, answer in (await read_records(ctx, ids, ctx.lane)).items():
            if answer is not None:
                record, source = answer
                alive.seen.append(zoho_id)
                alive.add(Change(ctx.entity, ctx.org_id, zoho_id, "upsert", record, source))
    if alive.seen:
        logger.info(
            "rows missing from an unproven listing exist in Zoho: written, not deleted",
            extra={
                "rows": len(alive.seen),
                "entity": ctx.entity,
                "org_id": ctx.org_id,
                "run_id": str(ctx.run_id),
            },
        )
    await commit_page(
        ctx,
        alive,
        state,
        listed=0,
        handled=len(alive.seen),
        api_calls=ctx.proxy.calls - calls,
        source=None,
    )
    exists = set(alive.seen)
    return {zoho_id: v for zoho_id, v in found.items() if zoho_id not in exists}
