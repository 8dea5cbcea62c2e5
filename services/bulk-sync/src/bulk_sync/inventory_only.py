"""Products only Zoho Inventory has (composite items): listed after Books', merged by id.

Books' item list is the products' primary source, but items that exist only in Inventory
(composite items, ``is_combo_product``: docs/zoho-api.md "Inventory v1 endpoints") are not in
it; without a second list a full run would never mirror them, and would sweep the ones a webhook
wrote. So after Books' list, full and incremental product runs page through Inventory's item
list (``GET /v1/products?source=inventory``) with the same keyset cursor, kept in the run's
checkpoint under ``products:inventory``. Inventory lists the shared items too (UNCONFIRMED); they
are unchanged against the rows Books just wrote and cost nothing but the list calls. What
Books lacks is written with ``source = 'inventory'``, and a full run counts every id Inventory
listed as seen, so its sweep deletes only what neither product lists.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Final

from bulk_sync.context import RunContext
from bulk_sync.listing import sync_listed
from tds_common.mirror import DbConnection

CHECKPOINT_KEY: Final = "products:inventory"


def lists_inventory_too(entity: str, mode: str) -> bool:
    return entity == "products" and mode in ("full", "incremental")


async def inventory_high_water(conn: DbConnection, org_id: str) -> datetime | None:
    """The newest ``last_modified_time`` a completed run saw in Inventory's item list."""
    value = await conn.fetchval(
        "SELECT max((checkpoint -> $2::text ->> 'high_water')::timestamptz) FROM tds_sync_runs "
        "WHERE org_id = $1 AND entity_type = 'products' AND status = 'completed' "
        "AND run_type IN ('full', 'incremental')",
        org_id,
        CHECKPOINT_KEY,
    )
    return value if isinstance(value, datetime) else None


async def sync_inventory_only(ctx: RunContext, requested_since: datetime | None) -> None:
    """Page Inventory's item list from the run's checkpoint; an incremental run starts at
    ``requested_since`` or else Inventory's own high-water mark, a full run at the beginning."""
    async with ctx.pool.acquire() as conn:
        saved = await conn.fetchval(
            "SELECT checkpoint -> $2::text FROM tds_sync_runs WHERE id = $1",
            ctx.run_id,
            CHECKPOINT_KEY,
        )
        since = None
        if ctx.mode == "incremental":
            since = requested_since or await inventory_high_water(conn, ctx.org_id)
    state: dict[str, Any] = dict(saved or {})
    if (state.get("cursor") or {}).get("done"):
        return
    inventory = dataclasses.replace(ctx, list_source="inventory", checkpoint_key=CHECKPOINT_KEY)
    await sync_listed(inventory, state, since)
