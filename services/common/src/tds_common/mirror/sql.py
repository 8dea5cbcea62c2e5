"""The set-based statements behind the writer, generated once per table from the specs.

Rows travel as one JSON array per statement (``jsonb_to_recordset($1::text::jsonb)``): one round
trip per table per batch whatever the batch size, typed by the column list, independent of the
connection's codecs. The monotonic rule lives here, in SQL, so concurrent writers (processor
replicas, bulk-sync) are ordered by the database's row locks, not by luck:

- an upsert wins when either side has no version, when it is newer, or when it is as new and the
  stored row is not deleted (the ``>=`` of docs/architecture.md#monotonic-upsert, except that a
  delete at the same version is final);
- a delete wins when it is at least as new; it keeps the stored columns and sets ``deleted_at``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Final

from tds_common.mirror.specs import ChildSpec, Column, MirrorSpec
from tds_common.mirror.values import PG_TYPES

_VERSION: Final = "zoho_last_modified_time"

UPSERT_WINS: Final = (
    f"(excluded.{_VERSION} IS NULL OR t.{_VERSION} IS NULL"
    f" OR excluded.{_VERSION} > t.{_VERSION}"
    f" OR (excluded.{_VERSION} = t.{_VERSION} AND t.deleted_at IS NULL))"
)
DELETE_WINS: Final = (
    f"(excluded.{_VERSION} IS NULL OR t.{_VERSION} IS NULL OR excluded.{_VERSION} >= t.{_VERSION})"
)


@dataclass(frozen=True)
class TableStatements:
    upsert: str
    delete: str


@dataclass(frozen=True)
class ChildStatements:
    clear: str
    insert: str
    mark_deleted: str


def _typed(columns: tuple[Column, ...]) -> list[tuple[str, str]]:
    return [(c.name, PG_TYPES[c.convert]) for c in columns]


def _recordset(fields: list[tuple[str, str]]) -> str:
    spec = ", ".join(f"{name} {pg_type}" for name, pg_type in fields)
    return f"jsonb_to_recordset($1::text::jsonb) AS r({spec})"


def _common(keys: list[str]) -> list[tuple[str, str]]:
    return [("org_id", "text"), *((k, "text") for k in keys)]


_TAIL: Final = [("raw", "jsonb"), (_VERSION, "timestamptz"), ("source", "text")]


_SAME_VERSION: Final = f"excluded.{_VERSION} = t.{_VERSION}"


def _merge(column: str) -> str:
    """The SET clause of one column of a winning upsert.

    A newer version replaces the row. The same version again (a list summary from bulk-sync
    after the webhook's full record, or the other way round) fills gaps instead: it is the
    same record seen through a narrower window, so missing fields keep their stored values
    and ``raw`` keeps keys the narrower view lacks (``line_items``, addresses ...).
    """
    if column == "raw":
        return f"raw = CASE WHEN {_SAME_VERSION} THEN t.raw || excluded.raw ELSE excluded.raw END"
    if column == "source":
        return "source = excluded.source"
    return (
        f"{column} = CASE WHEN {_SAME_VERSION} THEN COALESCE(excluded.{column}, t.{column}) "
        f"ELSE excluded.{column} END"
    )


@cache
def parent_statements(spec: MirrorSpec) -> TableStatements:
    keys = ["org_id", spec.id_column]
    fields = [*_common([spec.id_column]), *_typed(spec.columns), *_TAIL]
    names = [name for name, _ in fields]
    updates = ", ".join(_merge(n) for n in names if n not in keys and n != _VERSION)
    upsert = (
        f"INSERT INTO {spec.table} AS t ({', '.join(names)}, synced_at, deleted_at) "
        f"SELECT {', '.join('r.' + n for n in names)}, clock_timestamp(), NULL "
        f"FROM {_recordset(fields)} "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}, "
        f"{_VERSION} = COALESCE(excluded.{_VERSION}, t.{_VERSION}), "
        f"synced_at = excluded.synced_at, deleted_at = NULL "
        f"WHERE {UPSERT_WINS} RETURNING t.org_id, t.{spec.id_column}"
    )
    tomb = [*_common([spec.id_column]), *_TAIL]
    tomb_names = [name for name, _ in tomb]
    delete = (
        f"INSERT INTO {spec.table} AS t ({', '.join(tomb_names)}, synced_at, deleted_at) "
        f"SELECT {', '.join('r.' + n for n in tomb_names)}, clock_timestamp(), clock_timestamp() "
        f"FROM {_recordset(tomb)} "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
        f"deleted_at = COALESCE(t.deleted_at, excluded.deleted_at), "
        f"{_VERSION} = GREATEST(t.{_VERSION}, excluded.{_VERSION}), "
        f"synced_at = excluded.synced_at "
        f"WHERE {DELETE_WINS} RETURNING t.org_id, t.{spec.id_column}"
    )
    return TableStatements(upsert, delete)


@cache
def child_statements(spec: MirrorSpec, child: ChildSpec) -> ChildStatements:
    parent = spec.id_column
    fields = [*_common([parent, child.key_column]), *_typed(child.columns), *_TAIL]
    names = [name for name, _ in fields]
    owners = f"unnest($1::text[], $2::text[]) AS w(org_id, {parent})"
    match = f"c.org_id = w.org_id AND c.{parent} = w.{parent}"
    return ChildStatements(
        clear=f"DELETE FROM {child.table} AS c USING {owners} WHERE {match}",
        insert=(
            f"INSERT INTO {child.table} ({', '.join(names)}, synced_at) "
            f"SELECT {', '.join('r.' + n for n in names)}, clock_timestamp() "
            f"FROM {_recordset(fields)}"
        ),
        mark_deleted=(
            f"UPDATE {child.table} AS c SET deleted_at = clock_timestamp(), "
            f"synced_at = clock_timestamp() FROM {owners} WHERE {match} AND c.deleted_at IS NULL"
        ),
    )


@dataclass(frozen=True)
class StockStatements:
    lock: str
    winners: str
    upsert: str
    retire: str
    tombstone: str


@cache
def stock_statements(spec: MirrorSpec) -> StockStatements:
    """Stock has no parent row: a version wins for an item when no stored row is newer."""
    fields = [*_common(["item_id", "warehouse_id"]), *_typed(spec.columns), *_TAIL]
    names = [name for name, _ in fields]
    keys = {"org_id", "item_id", "warehouse_id"}
    updates = ", ".join(f"{n} = excluded.{n}" for n in names if n not in keys)
    items = "unnest($1::text[], $2::text[], $3::timestamptz[]) AS k(org_id, item_id, modified)"
    numbered = (
        "unnest($1::text[], $2::text[], $3::timestamptz[]) WITH ORDINALITY "
        "AS k(org_id, item_id, modified, n)"
    )
    return StockStatements(
        # Serialises writers of the same item (processor vs bulk-sync); callers pass sorted keys.
        lock=(
            "SELECT pg_advisory_xact_lock(hashtextextended("
            "'zoho.stock_levels:' || k.org_id || ':' || k.item_id, 0)) "
            "FROM unnest($1::text[], $2::text[]) AS k(org_id, item_id)"
        ),
        # The parents' rule, per item: nothing stored is newer, and an upsert at the version
        # the item was deleted at (every row at that version deleted) stays deleted.
        winners=(
            f"SELECT k.org_id, k.item_id FROM {numbered}, unnest($4::boolean[]) WITH ORDINALITY "
            f"AS d(is_delete, n) WHERE d.n = k.n AND (k.modified IS NULL OR ("
            f"NOT EXISTS (SELECT 1 FROM {spec.table} s WHERE s.org_id = k.org_id "
            f"AND s.item_id = k.item_id AND s.{_VERSION} > k.modified) "
            f"AND (d.is_delete OR NOT EXISTS (SELECT 1 FROM {spec.table} s "
            f"WHERE s.org_id = k.org_id AND s.item_id = k.item_id AND s.{_VERSION} = k.modified "
            f"HAVING bool_and(s.deleted_at IS NOT NULL)))))"
        ),
        upsert=(
            f"INSERT INTO {spec.table} AS t ({', '.join(names)}, synced_at, deleted_at) "
            f"SELECT {', '.join('r.' + n for n in names)}, clock_timestamp(), NULL "
            f"FROM {_recordset(fields)} "
            f"ON CONFLICT (org_id, item_id, warehouse_id) DO UPDATE SET {updates}, "
            f"synced_at = excluded.synced_at, deleted_at = NULL"
        ),
        # Warehouses no longer listed for a winning item are soft-deleted at its version.
        # A deleted item keeps a row of its own (warehouse_id '', deleted) carrying the version
        # it was deleted at, so an older stock event arriving later cannot bring it back.
        tombstone=(
            f"INSERT INTO {spec.table} AS t (org_id, item_id, warehouse_id, raw, {_VERSION}, "
            f"source, synced_at, deleted_at) "
            f"SELECT k.org_id, k.item_id, '', '{{\"tombstone\": true}}'::jsonb, k.modified, "
            f"k.source, clock_timestamp(), clock_timestamp() FROM unnest($1::text[], $2::text[], "
            f"$3::timestamptz[], $4::text[]) AS k(org_id, item_id, modified, source) "
            f"ON CONFLICT (org_id, item_id, warehouse_id) DO UPDATE SET "
            f"{_VERSION} = GREATEST(t.{_VERSION}, excluded.{_VERSION}), "
            f"deleted_at = COALESCE(t.deleted_at, excluded.deleted_at), "
            f"synced_at = excluded.synced_at"
        ),
        retire=(
            f"UPDATE {spec.table} AS s SET deleted_at = clock_timestamp(), "
            f"synced_at = clock_timestamp(), {_VERSION} = COALESCE(k.modified, s.{_VERSION}) "
            f"FROM {items} WHERE s.org_id = k.org_id AND s.item_id = k.item_id "
            f"AND s.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM "
            f"unnest($4::text[], $5::text[], $6::text[]) AS kept(org_id, item_id, warehouse_id) "
            f"WHERE kept.org_id = s.org_id AND kept.item_id = s.item_id "
            f"AND kept.warehouse_id = s.warehouse_id)"
        ),
    )
