"""Reads of the mirror tables that bulk-sync's runs need: what a listed page already has, and
which live rows a full run has not seen. The tables' columns and keys stay in this package."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from tds_common.catalogue import EntitySpec
from tds_common.mirror.sql import same_content
from tds_common.mirror.writer import DbConnection

Versions = dict[str, datetime | None]


@dataclass(frozen=True)
class Stored:
    modified: datetime | None
    deleted: bool
    complete: bool
    """The row holds its line items (``raw`` carries the child list), or the entity has none."""
    same: bool = True
    """The listed summary agrees with the stored content on every key both carry."""


async def stored_rows(
    conn: DbConnection, spec: EntitySpec, org_id: str, listed: Mapping[str, Mapping[str, Any]]
) -> dict[str, Stored]:
    """The stored version of each listed id that has a row (parent tables only), and whether
    its content agrees with the listed summary (``tds_common.mirror.sql.same_content``)."""
    if not listed:
        return {}
    complete = f"(t.raw ? '{spec.child.list_field}')" if spec.child is not None else "true"
    summaries = json.dumps([{"id": i, "raw": r} for i, r in listed.items()], default=str)
    records = await conn.fetch(
        f"SELECT t.{spec.id_field} AS id, t.zoho_last_modified_time AS modified, "
        f"t.deleted_at IS NOT NULL AS deleted, {complete} AS complete, "
        f"{same_content('l', 't')} AS same FROM {spec.table} t "
        f"JOIN jsonb_to_recordset($2::text::jsonb) AS l(id text, raw jsonb) "
        f"ON t.{spec.id_field} = l.id WHERE t.org_id = $1",
        org_id,
        summaries,
    )
    return {r["id"]: Stored(r["modified"], r["deleted"], r["complete"], r["same"]) for r in records}


async def unseen_live_rows(
    conn: DbConnection,
    spec: EntitySpec,
    org_id: str,
    *,
    run_id: UUID,
    entity: str,
    started_at: datetime,
) -> tuple[Versions, int]:
    """Live rows neither seen by the run (``tds_sync_run_seen``) nor written since it started,
    with their versions, and how many live rows the entity has. Stock is keyed by item (one
    row per item and location), so an item counts once and only when none of its rows was."""
    key = "item_id" if spec.kind == "stock" else spec.id_field
    unseen = (
        f"NOT EXISTS (SELECT 1 FROM tds_sync_run_seen s WHERE s.run_id = $3 AND s.entity = $4 "
        f"AND s.zoho_id = t.{key}) AND t.synced_at < $2"
    )
    rows = await conn.fetch(
        f"SELECT t.{key} AS id, max(t.zoho_last_modified_time) AS modified, "
        f"bool_and({unseen}) AS candidate FROM {spec.table} t "
        f"WHERE t.org_id = $1 AND t.deleted_at IS NULL GROUP BY t.{key} ORDER BY t.{key}",
        org_id,
        started_at,
        run_id,
        entity,
    )
    found = {r["id"]: r["modified"] for r in rows if r["candidate"]}
    return found, len(rows)
