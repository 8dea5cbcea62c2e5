"""Reads of the mirror tables that bulk-sync's runs need, as questions: what a listed page
already has, which live rows a full run has not seen or a page did not list, which documents
still lack their line items, which items' stock was refreshed longest ago. The SQL is built
from the specs; the tables' names, columns and keys stay in this package.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from tds_common.catalogue import EntitySpec
from tds_common.mirror.sql import same_content
from tds_common.mirror.writer import DbConnection

Versions = dict[str, datetime | None]
"""Zoho ids with their stored versions (``zoho_last_modified_time``)."""


def _key(spec: EntitySpec) -> str:
    """What identifies a record: stock has one row per item and location, keyed by item."""
    return "item_id" if spec.kind == "stock" else spec.id_field


def _details_pending(spec: EntitySpec) -> str:
    """SQL condition of a live document without its line items: its ``raw`` lacks the child
    list, i.e. it was written from a list summary (see migration 0008)."""
    assert spec.child is not None
    return f"deleted_at IS NULL AND NOT (raw ? '{spec.child.list_field}')"


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
    key = _key(spec)
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


@dataclass(frozen=True)
class StoredRecord:
    """A stored row as Zoho's JSON and its version."""

    raw: dict[str, Any]
    modified: datetime | None
    deleted: bool


async def stored_records(
    conn: DbConnection, spec: EntitySpec, org_id: str, ids: Collection[str]
) -> dict[str, StoredRecord]:
    """The stored record of each of ``ids`` that has a row, deleted ones included."""
    if not ids:
        return {}
    rows = await conn.fetch(
        f"SELECT {spec.id_field} AS id, raw::text AS raw, zoho_last_modified_time AS modified, "
        f"deleted_at IS NOT NULL AS deleted FROM {spec.table} "
        f"WHERE org_id = $1 AND {spec.id_field} = ANY($2::text[])",
        org_id,
        list(ids),
    )
    return {
        r["id"]: StoredRecord(json.loads(r["raw"] or "{}") or {}, r["modified"], r["deleted"])
        for r in rows
    }


async def live_rows_created_between(
    conn: DbConnection,
    spec: EntitySpec,
    org_id: str,
    *,
    after: datetime,
    before: datetime,
    excluding: Collection[str],
) -> Versions:
    """Live rows created strictly between ``after`` and ``before``, other than ``excluding``,
    with their versions (by id). Empty for entities whose table keeps no creation time."""
    if "created_time" not in {c.name for c in spec.columns}:
        return {}
    rows = await conn.fetch(
        f"SELECT {spec.id_field} AS id, zoho_last_modified_time AS modified FROM {spec.table} "
        f"WHERE org_id = $1 AND deleted_at IS NULL AND created_time > $2 AND created_time < $3 "
        f"AND {spec.id_field} <> ALL($4::text[]) ORDER BY {spec.id_field}",
        org_id,
        after,
        before,
        list(excluding),
    )
    return {r["id"]: r["modified"] for r in rows}


async def details_pending_count(conn: DbConnection, spec: EntitySpec, org_id: str) -> int:
    """Live documents of the organization still without their line items (0 for entities
    without line items)."""
    if spec.child is None:
        return 0
    count = await conn.fetchval(
        f"SELECT count(*) FROM {spec.table} WHERE org_id = $1 AND {_details_pending(spec)}",
        org_id,
    )
    return int(count or 0)


async def newest_details_pending(
    conn: DbConnection, spec: EntitySpec, org_id: str, *, excluding: Collection[str], limit: int
) -> Versions:
    """Up to ``limit`` live documents without their line items, other than ``excluding``,
    newest version first (ties and unversioned rows by id), with their versions."""
    if spec.child is None:
        return {}
    rows = await conn.fetch(
        f"SELECT {spec.id_field} AS id, zoho_last_modified_time AS modified FROM {spec.table} "
        f"WHERE org_id = $1 AND {_details_pending(spec)} AND {spec.id_field} <> ALL($2::text[]) "
        f"ORDER BY zoho_last_modified_time DESC NULLS LAST, {spec.id_field} LIMIT $3",
        org_id,
        list(excluding),
        limit,
    )
    return {r["id"]: r["modified"] for r in rows}


@dataclass(frozen=True)
class Completeness:
    rows: int
    """Live rows."""
    details_pending: int
    """Live documents still without their line items (0 for entities without)."""


async def completeness_by_org(conn: DbConnection, spec: EntitySpec) -> dict[str, Completeness]:
    """Per organization that has rows of the entity (deleted ones count too): how complete."""
    pending = f"count(*) FILTER (WHERE {_details_pending(spec)})" if spec.child is not None else "0"
    rows = await conn.fetch(
        f"SELECT org_id, count(*) FILTER (WHERE deleted_at IS NULL) AS rows, "
        f"{pending} AS pending FROM {spec.table} GROUP BY org_id"
    )
    return {r["org_id"]: Completeness(int(r["rows"]), int(r["pending"])) for r in rows}


async def least_recently_synced(
    conn: DbConnection,
    spec: EntitySpec,
    org_id: str,
    *,
    synced_before: datetime,
    excluding: Collection[str],
    limit: int,
) -> list[str]:
    """Up to ``limit`` records (stock: items) with live rows none of which was written since
    ``synced_before``, other than ``excluding``, the longest unwritten first."""
    key = _key(spec)
    rows = await conn.fetch(
        f"SELECT {key} AS id FROM {spec.table} WHERE org_id = $1 AND deleted_at IS NULL "
        f"AND {key} <> ALL($3::text[]) GROUP BY {key} HAVING max(synced_at) < $2 "
        f"ORDER BY max(synced_at), {key} LIMIT $4",
        org_id,
        synced_before,
        list(excluding),
        limit,
    )
    return [r["id"] for r in rows]
