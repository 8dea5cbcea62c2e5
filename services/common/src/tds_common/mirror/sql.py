"""The set-based statements behind the writer, generated once per table from the specs.

Rows travel as one JSON array per statement (``jsonb_to_recordset($1::text::jsonb)``): one round
trip per table per batch whatever the batch size, typed by the column list, independent of the
connection's codecs. Child rows, which are only ever replaced whole, are copied instead
(:mod:`tds_common.mirror.copy_rows`). The monotonic rule of :mod:`tds_common.mirror.rules`
lives here in SQL for parent rows, so concurrent writers (processor replicas, bulk-sync) are
ordered by the database's row locks, not by luck. ``observed_at`` / ``observed_by`` say when
and how Zoho was seen holding a row's content (a read, or a webhook's push); they settle two
contents at one version.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Final

from tds_common.catalogue import EntitySpec
from tds_common.columns import PG_TYPES, ChildSpec, Column

_VERSION: Final = "zoho_last_modified_time"


def same_content(new: str, old: str) -> str:
    """SQL for :func:`tds_common.mirror.rules.same_content`: no key both carry differs."""
    return (
        f"NOT EXISTS (SELECT 1 FROM jsonb_each({new}.raw) AS e(key, value) "
        f"WHERE {old}.raw -> e.key <> e.value)"
    )


_NEWER_READ: Final = (
    "(excluded.observed_by = 'read' AND excluded.observed_at IS NOT NULL "
    "AND (t.observed_at IS NULL OR excluded.observed_at >= t.observed_at))"
)

UPSERT_WINS: Final = (
    f"(CASE WHEN t.{_VERSION} IS NULL THEN true "
    f"WHEN excluded.{_VERSION} IS NULL THEN false "
    f"WHEN excluded.{_VERSION} <> t.{_VERSION} THEN excluded.{_VERSION} > t.{_VERSION} "
    f"WHEN {_NEWER_READ} THEN true "
    f"WHEN t.deleted_at IS NOT NULL THEN false "
    f"ELSE {same_content('excluded', 't')} END)"
)
DELETE_WINS: Final = (
    f"(CASE WHEN t.{_VERSION} IS NULL THEN true "
    f"WHEN excluded.observed_by = 'read' THEN {_NEWER_READ} "
    f"AND (excluded.{_VERSION} IS NULL OR excluded.{_VERSION} >= t.{_VERSION}) "
    f"WHEN excluded.{_VERSION} IS NULL THEN false "
    f"ELSE excluded.{_VERSION} >= t.{_VERSION} END)"
)


@dataclass(frozen=True)
class TableStatements:
    upsert: str
    delete: str
    conflicts: str
    """Of upserts that lost: those at the stored (live) version whose content disagrees."""


@dataclass(frozen=True)
class ChildStatements:
    clear: str
    columns: tuple[str, ...]
    """What a child row carries: the columns a COPY of the rows fills (synced_at: its default)."""
    mark_deleted: str
    revive: str
    """Children deleted with their parent come back when it is restored at their version."""


def _typed(columns: tuple[Column, ...]) -> list[tuple[str, str]]:
    return [(c.name, PG_TYPES[c.convert]) for c in columns]


def _recordset(fields: list[tuple[str, str]]) -> str:
    spec = ", ".join(f"{name} {pg_type}" for name, pg_type in fields)
    return f"jsonb_to_recordset($1::text::jsonb) AS r({spec})"


def _common(keys: list[str]) -> list[tuple[str, str]]:
    return [("org_id", "text"), *((k, "text") for k in keys)]


_TAIL: Final = [
    ("raw", "jsonb"),
    (_VERSION, "timestamptz"),
    ("source", "text"),
    ("observed_at", "timestamptz"),
    ("observed_by", "text"),
]


_SAME_VERSION: Final = f"excluded.{_VERSION} = t.{_VERSION}"


def _merge(name: str, sources: tuple[str, ...]) -> str:
    """The SET clause of one column of a winning upsert.

    A newer version replaces the row. At the same version the winner is the same content seen
    through another window (a list summary after the webhook's full record) or what a read
    found Zoho holding now: either way the fields it carries are right, including the ones it
    clears, and the fields it does not carry keep their stored values (``raw`` keeps keys the
    narrower view lacks: ``line_items``, addresses ...).
    """
    if name == "raw":
        return f"raw = CASE WHEN {_SAME_VERSION} THEN t.raw || excluded.raw ELSE excluded.raw END"
    if name == "observed_at":
        return (
            f"observed_at = CASE WHEN {_SAME_VERSION} "
            f"THEN GREATEST(t.observed_at, excluded.observed_at) ELSE excluded.observed_at END"
        )
    if name == "observed_by":
        return (
            f"observed_by = CASE WHEN {_SAME_VERSION} AND t.observed_at > excluded.observed_at "
            f"THEN t.observed_by ELSE excluded.observed_by END"
        )
    if not sources:
        return f"{name} = excluded.{name}"
    carried = ", ".join(f"'{field}'" for field in sources)
    return (
        f"{name} = CASE WHEN {_SAME_VERSION} AND NOT (excluded.raw ?| ARRAY[{carried}]) "
        f"THEN t.{name} ELSE excluded.{name} END"
    )


_RAW_FROM_INBOX: Final = (
    "COALESCE(r.raw, (SELECT i.raw_payload FROM tds_inbox_events i "
    "WHERE i.dedup_key = r.raw_in_inbox))"
)
"""An upsert's ``raw``: sent, or the payload of the inbox row the same transaction wrote for
the event (:attr:`tds_common.mirror.mapping.MappedChange.raw_in_inbox`): the document is parsed
once, and its compressed value is stored again as it is. Only evaluated when none was sent."""


@cache
def parent_statements(spec: EntitySpec) -> TableStatements:
    keys = ["org_id", spec.id_field]
    fields = [*_common([spec.id_field]), *_typed(spec.columns), *_TAIL]
    names = [name for name, _ in fields]
    sources = {c.name: c.sources for c in spec.columns}
    updates = ", ".join(
        _merge(n, sources.get(n, ())) for n in names if n not in keys and n != _VERSION
    )
    upsert = (
        f"INSERT INTO {spec.table} AS t ({', '.join(names)}, synced_at, deleted_at) "
        f"SELECT {', '.join(_RAW_FROM_INBOX if n == 'raw' else 'r.' + n for n in names)}, "
        f"clock_timestamp(), NULL "
        f"FROM {_recordset([*fields, ('raw_in_inbox', 'text')])} "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}, "
        f"{_VERSION} = COALESCE(excluded.{_VERSION}, t.{_VERSION}), "
        f"synced_at = excluded.synced_at, deleted_at = NULL "
        f"WHERE {UPSERT_WINS} RETURNING t.org_id, t.{spec.id_field}"
    )
    tomb = [*_common([spec.id_field]), *_TAIL]
    tomb_names = [name for name, _ in tomb]
    delete = (
        f"INSERT INTO {spec.table} AS t ({', '.join(tomb_names)}, synced_at, deleted_at) "
        f"SELECT {', '.join('r.' + n for n in tomb_names)}, clock_timestamp(), clock_timestamp() "
        f"FROM {_recordset(tomb)} "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
        f"deleted_at = COALESCE(t.deleted_at, excluded.deleted_at), "
        f"{_VERSION} = GREATEST(t.{_VERSION}, excluded.{_VERSION}), "
        f"observed_at = GREATEST(t.observed_at, excluded.observed_at), "
        f"observed_by = excluded.observed_by, synced_at = excluded.synced_at "
        f"WHERE {DELETE_WINS} RETURNING t.org_id, t.{spec.id_field}"
    )
    conflicts = (
        f"SELECT r.org_id, r.{spec.id_field}, t.observed_at "
        f"FROM jsonb_to_recordset($1::text::jsonb) AS "
        f"r(org_id text, {spec.id_field} text, raw jsonb, {_VERSION} timestamptz) "
        f"JOIN {spec.table} AS t "
        f"ON t.org_id = r.org_id AND t.{spec.id_field} = r.{spec.id_field} "
        f"WHERE t.{_VERSION} = r.{_VERSION} AND t.deleted_at IS NULL "
        f"AND NOT {same_content('r', 't')}"
    )
    return TableStatements(upsert, delete, conflicts)


@cache
def child_statements(spec: EntitySpec, child: ChildSpec) -> ChildStatements:
    parent = spec.id_field
    fields = [*_common([parent, child.key_column]), *_typed(child.columns), *_TAIL]
    names = [name for name, _ in fields]
    owners = f"unnest($1::text[], $2::text[]) AS w(org_id, {parent})"
    match = f"c.org_id = w.org_id AND c.{parent} = w.{parent}"
    return ChildStatements(
        clear=f"DELETE FROM {child.table} AS c USING {owners} WHERE {match}",
        columns=tuple(names),
        mark_deleted=(
            f"UPDATE {child.table} AS c SET deleted_at = clock_timestamp(), "
            f"synced_at = clock_timestamp() FROM {owners} WHERE {match} AND c.deleted_at IS NULL"
        ),
        revive=(
            f"UPDATE {child.table} AS c SET deleted_at = NULL, synced_at = clock_timestamp() "
            f"FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS w(org_id, {parent}, "
            f"modified) WHERE {match} AND c.deleted_at IS NOT NULL AND c.{_VERSION} = w.modified"
        ),
    )


@dataclass(frozen=True)
class StockStatements:
    lock: str
    state: str
    """Every stored row of the items; :mod:`tds_common.mirror.rules` decides per item."""
    upsert: str
    retire: str
    tombstone: str


@cache
def stock_statements(spec: EntitySpec) -> StockStatements:
    """Stock has no parent row: an item's rows are read under a lock and judged in Python."""
    fields = [*_common(["item_id", "warehouse_id"]), *_typed(spec.columns), *_TAIL]
    names = [name for name, _ in fields]
    keys = {"org_id", "item_id", "warehouse_id"}
    updates = ", ".join(f"{n} = excluded.{n}" for n in names if n not in keys)
    items = "unnest($1::text[], $2::text[], $3::timestamptz[]) AS k(org_id, item_id, modified)"
    return StockStatements(
        # Serialises writers of the same item (processor vs bulk-sync); callers pass sorted keys.
        lock=(
            "SELECT pg_advisory_xact_lock(hashtextextended("
            "'zoho.stock_levels:' || k.org_id || ':' || k.item_id, 0)) "
            "FROM unnest($1::text[], $2::text[]) AS k(org_id, item_id)"
        ),
        state=(
            f"SELECT s.org_id, s.item_id, s.warehouse_id, s.{_VERSION} AS modified, "
            f"s.deleted_at IS NOT NULL AS deleted, s.observed_at, s.observed_by, s.raw::text "
            f"AS raw FROM {spec.table} s JOIN unnest($1::text[], $2::text[]) AS k(org_id, "
            f"item_id) ON s.org_id = k.org_id AND s.item_id = k.item_id"
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
            f"source, observed_at, observed_by, synced_at, deleted_at) "
            f"SELECT k.org_id, k.item_id, '', '{{\"tombstone\": true}}'::jsonb, k.modified, "
            f"k.source, k.observed_at, k.observed_by, clock_timestamp(), clock_timestamp() "
            f"FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], "
            f"$5::timestamptz[], $6::text[]) AS k(org_id, item_id, modified, source, "
            f"observed_at, observed_by) "
            f"ON CONFLICT (org_id, item_id, warehouse_id) DO UPDATE SET "
            f"{_VERSION} = GREATEST(t.{_VERSION}, excluded.{_VERSION}), "
            f"observed_at = GREATEST(t.observed_at, excluded.observed_at), "
            f"observed_by = excluded.observed_by, deleted_at = clock_timestamp(), "
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
