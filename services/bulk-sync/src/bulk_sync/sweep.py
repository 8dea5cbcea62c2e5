"""Deletions found by a full run: rows Zoho no longer lists are soft-deleted, and only then.

Zoho has no feed of deletions (docs/zoho-api.md#incremental-sync). A full run records every id it
listed in ``tds_sync_run_seen``; once its list is exhausted, a live mirror row of the organization
that was neither seen nor written since the run started is gone from Zoho. It is marked deleted
through :func:`tds_common.mirror.write_changes` (a delete at the stored version, so a newer webhook
write that lands meanwhile still wins), in the transaction that completes the entity. A run that
fails or is interrupted never gets here, so a partial list can never delete anything.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Final

from bulk_sync import metrics
from tds_common.catalogue import get_entity
from tds_common.mirror import Change, DbConnection, get_spec, map_change, write_changes

logger = logging.getLogger(__name__)

SWEEP_CHUNK: Final = 1000


async def sweep_deleted(
    conn: DbConnection, run_id: uuid.UUID, entity: str, org_id: str, started_at: datetime
) -> int:
    """Mark unseen rows deleted; run inside the transaction that completes the entity."""
    spec = get_spec(entity)
    live = (
        f"FROM {spec.table} t WHERE t.org_id = $1 AND t.deleted_at IS NULL "
        f"AND t.synced_at < $2 AND NOT EXISTS (SELECT 1 FROM tds_sync_run_seen s "
        f"WHERE s.run_id = $3 AND s.entity = $4 AND s.zoho_id = t.{spec.id_column})"
    )
    if spec.kind == "stock":
        query = (
            f"SELECT t.item_id AS id, max(t.zoho_last_modified_time) AS modified {live} "
            f"GROUP BY t.item_id ORDER BY t.item_id"
        )
    else:
        query = f"SELECT t.{spec.id_column} AS id, t.zoho_last_modified_time AS modified {live}"
    rows = await conn.fetch(query, org_id, started_at, run_id, entity)
    source = get_entity(entity).products[0]
    changes = [
        map_change(Change(entity, org_id, r["id"], "delete", {}, source, r["modified"]))
        for r in rows
    ]
    deleted = 0
    for start in range(0, len(changes), SWEEP_CHUNK):
        deleted += len(await write_changes(conn, changes[start : start + SWEEP_CHUNK]))
    if deleted:
        logger.info("marked %d %s rows of org %s deleted (not in Zoho)", deleted, entity, org_id)
        metrics.RECORDS.labels(entity, "deleted").inc(deleted)
    return deleted
