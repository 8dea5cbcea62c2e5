"""Zoho records to mirror rows: pure functions, no I/O, so poison shows up before any SQL runs.

A :class:`Change` is what processor (one event) and bulk-sync (one record of a page) hand to the
writer. :func:`map_change` turns it into a :class:`MappedChange`: the parent row and, when the
record carries its child list, the child rows that replace the stored ones. Rows are dicts of
JSON-ready values keyed by column name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache, cached_property
from typing import Any, Literal

from tds_common import pg_json
from tds_common.catalogue import STOCK_FIGURES, STOCK_LISTS, EntitySpec, get_entity
from tds_common.columns import ChildSpec, Column, Converter, MappingError, to_text
from tds_common.events import parse_zoho_timestamp
from tds_common.mirror.copy_rows import text_lines
from tds_common.mirror.sql import child_statements

Operation = Literal["upsert", "delete"]
ChangeKey = tuple[str, str, str]
"""(entity, org_id, zoho_id)."""


@dataclass(frozen=True)
class Change:
    """One version of one Zoho record (or its deletion), ready to be mirrored."""

    entity: str
    org_id: str
    zoho_id: str
    op: Operation
    record: Mapping[str, Any]
    """The record unwrapped from its module key (for a delete: whatever Zoho sent, maybe {})."""
    source: str
    """``webhook``, ``books``, ``inventory`` (or ``replay``): lands in the ``source`` column."""
    last_modified_time: datetime | None = None
    """Overrides the record's own ``last_modified_time`` when given."""
    observed_at: datetime | None = None
    """When Zoho was seen holding this content: a read's start, a webhook's receipt."""
    read: bool = False
    """The content is a read of Zoho's current state (list, detail, not-found, a full run's
    sweep) rather than content a webhook pushed. Two edits in one second share a version, and
    webhooks can arrive in any order, so only a read can settle which content is current."""

    @property
    def key(self) -> ChangeKey:
        return (self.entity, self.org_id, self.zoho_id)

    @property
    def modified(self) -> datetime | None:
        if self.last_modified_time is not None:
            return self.last_modified_time
        try:
            return parse_zoho_timestamp(self.record.get("last_modified_time") or None)
        except ValueError as exc:
            raise MappingError("last_modified_time is not a timestamp") from exc


@dataclass(frozen=True)
class MappedChange:
    change: Change
    spec: EntitySpec
    modified: datetime | None
    row: dict[str, Any]
    """Parent row (for stock: just the key and version)."""
    children: list[dict[str, Any]] | None
    """Child rows replacing the stored ones; None leaves stored children untouched."""
    raw_in_inbox: str | None = None
    """The dedup key of the ``tds_inbox_events`` row, written earlier in the same transaction,
    whose ``raw_payload`` is this upsert's ``raw``: the upsert reads it there rather than have
    PostgreSQL parse the same document twice (see :func:`with_raw_in_inbox`)."""

    @property
    def deleted(self) -> bool:
        return self.change.op == "delete"

    @cached_property
    def row_json(self) -> str:
        """The parent row as the writer's statements take it (one JSON object), rendered once:
        the processor renders it while the batch before is being written."""
        return pg_json.dumps(self.row)

    @cached_property
    def upsert_json(self) -> str:
        """:attr:`row_json` for the upsert: without ``raw`` when it is read from the inbox."""
        if self.raw_in_inbox is None:
            return self.row_json
        row = {name: value for name, value in self.row.items() if name != "raw"}
        row["raw_in_inbox"] = self.raw_in_inbox
        return pg_json.dumps(row)

    @cached_property
    def children_text(self) -> str:
        """The child rows as COPY takes them (:mod:`tds_common.mirror.copy_rows`), one line
        each, rendered once like :attr:`row_json`."""
        child = self.spec.child
        if child is None or not self.children:
            return ""
        return text_lines(self.children, child_statements(self.spec, child).columns)

    def render(self) -> None:
        """Render what the writer sends, ahead of the write."""
        _ = (self.row_json if self.deleted else self.upsert_json), self.children_text


def with_raw_in_inbox(mapped: MappedChange, dedup_key: str | None) -> MappedChange:
    """``mapped`` with its ``raw`` read from the inbox row of ``dedup_key`` (None: sent as is).

    Only for an upsert whose ``raw`` is exactly that row's ``raw_payload`` (a pushed record, not
    one read through zoho-proxy), inserted by this transaction: a row the inbox held already may
    carry no payload (a dead letter PostgreSQL could not store)."""
    if mapped.deleted or mapped.raw_in_inbox == dedup_key:
        return mapped
    return replace(mapped, raw_in_inbox=dedup_key)


def is_thin(spec: EntitySpec, record: Mapping[str, Any], modified: datetime | None) -> bool:
    """Whether an upsert lacks what a complete record has (→ read it through zoho-proxy)."""
    if spec.versioned and modified is None:
        return True
    return any(all(field not in record for field in group) for group in spec.required)


def _value(column: Column, record: Mapping[str, Any], prefix: str = "") -> Any:
    raw: Any = None
    for field in column.sources:
        raw = record.get(prefix + field) if prefix else None
        if raw in (None, ""):
            raw = record.get(field)
        if raw not in (None, ""):
            break
    try:
        return column.convert(raw)
    except MappingError as exc:
        raise MappingError(f"{column.name}: {exc}") from exc


Plan = tuple[tuple[str, tuple[str, ...], Converter], ...]
"""Per column: its name, the fields it reads (first non-empty wins) and its converter."""


@cache
def _plan(owner: EntitySpec | ChildSpec) -> Plan:
    """The columns of an entity or child table (both hashed by identity: cheap per record)."""
    return tuple((c.name, c.sources, c.convert) for c in owner.columns)


def _fill(row: dict[str, Any], plan: Plan, record: Mapping[str, Any]) -> None:
    """:func:`_value` for every column of ``plan``, unrolled: this runs for every field of
    every record and child row, the largest share of mapping's time."""
    name = ""
    try:
        for name, sources, convert in plan:
            raw = None
            for field in sources:
                raw = record.get(field)
                if raw is not None and raw != "":
                    break
            row[name] = convert(raw)
    except MappingError as exc:
        raise MappingError(f"{name}: {exc}") from exc


def _base(change: Change, spec: EntitySpec, stamp: str | None) -> dict[str, Any]:
    return {
        "org_id": change.org_id,
        spec.id_field: change.zoho_id,
        "zoho_last_modified_time": stamp,
        "source": change.source,
        "observed_at": change.observed_at.isoformat() if change.observed_at else None,
        "observed_by": "read" if change.read else "push",
    }


def _child_rows(
    change: Change, spec: EntitySpec, child: ChildSpec, stamp: str | None
) -> list[dict[str, Any]] | None:
    items = change.record.get(child.list_field)
    if items is None:
        return None
    if not isinstance(items, list):
        raise MappingError(f"{child.list_field} is not a list")
    base = _base(change, spec, stamp)
    plan = _plan(child)
    rows: dict[str, dict[str, Any]] = {}
    for position, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise MappingError(f"{child.list_field}[{position}] is not an object")
        key = to_text(item.get(child.key_column))
        if key is None:
            raise MappingError(f"{child.list_field}[{position}] has no {child.key_column}")
        row = dict(base)
        row[child.key_column] = key
        _fill(row, plan, item)
        row["raw"] = dict(item)
        rows[key] = row  # a repeated child id: the later entry wins, as in Zoho's own UI
    return list(rows.values())


def _stock_rows(change: Change, spec: EntitySpec, stamp: str | None) -> list[dict[str, Any]] | None:
    present = [(name, prefix) for name, prefix in STOCK_LISTS if name in change.record]
    if not present:
        return None
    name, prefix = next(((n, p) for n, p in present if change.record[n]), present[0])
    entries = change.record[name]
    if not isinstance(entries, list):
        raise MappingError(f"{name} is not a list")
    rows: dict[str, dict[str, Any]] = {}
    for position, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise MappingError(f"{name}[{position}] is not an object")
        warehouse_id = to_text(entry.get(prefix + "id"))
        if warehouse_id is None:
            raise MappingError(f"{name}[{position}] has no {prefix}id")
        row = _base(change, spec, stamp)
        row["warehouse_id"] = warehouse_id
        row["warehouse_name"] = to_text(entry.get(prefix + "name"))
        for figure in STOCK_FIGURES:
            row[figure] = _value(next(c for c in spec.columns if c.name == figure), entry, prefix)
        row["raw"] = dict(entry)
        rows[warehouse_id] = row
    return list(rows.values())


def map_change(change: Change) -> MappedChange:
    """Rows for one change; :class:`MappingError` when the record cannot be stored."""
    try:
        spec = get_entity(change.entity)
    except KeyError as exc:
        raise MappingError(f"unknown entity {change.entity!r}") from exc
    record_id = change.record.get(spec.id_field)
    if record_id not in (None, "") and str(record_id) != change.zoho_id:
        raise MappingError(f"{spec.id_field} {record_id!r} does not match {change.zoho_id!r}")
    modified = change.modified
    stamp = modified.isoformat() if modified else None
    row = _base(change, spec, stamp)
    row["raw"] = dict(change.record)
    if change.op == "delete":
        return MappedChange(change, spec, modified, row, None)
    if spec.kind == "stock":
        return MappedChange(change, spec, modified, row, _stock_rows(change, spec, stamp))
    _fill(row, _plan(spec), change.record)
    children = _child_rows(change, spec, spec.child, stamp) if spec.child else None
    return MappedChange(change, spec, modified, row, children)
