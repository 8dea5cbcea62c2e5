"""In-memory records of one org and entity: seeded lazily, changed copy-on-write.

Seeded records are never stored: :func:`zoho_sim.generate.generate` rebuilds one from its index
when asked, so a 50,000-item org costs nothing until it is read. Only records changed through
the control API live in ``_overrides`` (``None`` marks a deletion). Sorted id lists are built
from cheap per-index sort keys (names, timestamps) without generating whole records, shared
across resets of the same dataset, and cached per table version, so paging through 50,000 items
is one sort plus a slice per page.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable
from typing import Any, Final

from zoho_sim.entities import EntitySpec, status_matches
from zoho_sim.generate import (
    OrgContext,
    Record,
    contact_display_name,
    generate,
    item_name,
    item_rate,
    seeded_filter_fields,
)
from zoho_sim.timefmt import to_epoch

SortKey = tuple[tuple[int, Any], str]
_TIME_COLUMNS: Final = frozenset({"created_time", "last_modified_time"})
_VIEW_CACHE_SIZE: Final = 32


def value_key(value: Any) -> tuple[int, Any]:
    """Orders ``""``/null first, then numbers, then strings, so mixed columns still sort."""
    if value is None or value == "":
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | float):
        return (1, value)
    return (2, str(value))


def record_key(column: str, record: Record) -> tuple[int, Any]:
    value = record.get(column, "")
    if column in _TIME_COLUMNS and isinstance(value, str) and value:
        return (1, to_epoch(value))
    return value_key(value)


def _cheap_key(ctx: OrgContext, entity: str, column: str) -> Callable[[int], Any] | None:
    """A sort-key function of the index alone, when the column allows one."""
    if column == "created_time":
        return lambda i: (1, ctx.times(entity, i)[0])
    if column == "last_modified_time":
        return lambda i: (1, ctx.times(entity, i)[1])
    cheap: dict[tuple[str, str], Callable[[int], Any]] = {
        ("items", "name"): lambda i: (2, item_name(ctx, i)),
        ("items", "sku"): lambda i: (2, f"SKU-{i + 1:06d}"),
        ("items", "rate"): lambda i: (1, item_rate(ctx, i)),
        ("contacts", "contact_name"): lambda i: (2, contact_display_name(ctx, i)),
        ("invoices", "invoice_number"): lambda i: (2, f"INV-{i + 1:06d}"),
        ("bills", "bill_number"): lambda i: (2, f"BILL-{i + 1:06d}"),
        ("creditnotes", "creditnote_number"): lambda i: (2, f"CN-{i + 1:06d}"),
        ("pricebooks", "name"): lambda i: (2, f"Price List {i + 1:03d}"),
    }
    return cheap.get((entity, column))


@functools.lru_cache(maxsize=64)
def _seeded_view(ctx: OrgContext, entity: str, count: int, column: str) -> list[SortKey]:
    """All seeded (key, id) pairs sorted ascending; shared by every reset of this dataset."""
    cheap = _cheap_key(ctx, entity, column)
    if cheap is not None:
        rows = [(cheap(i), ctx.entity_id(entity, i)) for i in range(count)]
    else:
        rows = [
            (record_key(column, generate(ctx, entity, i)), ctx.entity_id(entity, i))
            for i in range(count)
        ]
    rows.sort()
    return rows


class Table:
    """One entity's records in one org."""

    def __init__(self, spec: EntitySpec, ctx: OrgContext, count: int) -> None:
        self.spec = spec
        self.ctx = ctx
        self.count = count
        self.version = 0
        self._overrides: dict[str, Record | None] = {}
        self._next_index = count
        self._views: dict[tuple[Any, ...], list[str]] = {}

    @property
    def entity(self) -> str:
        return self.spec.path

    def _seeded_index(self, record_id: str) -> int | None:
        prefix = self.ctx.entity_id(self.entity, 0)[:6]
        if len(record_id) != 18 or not record_id.startswith(prefix) or not record_id.isdigit():
            return None
        index = int(record_id[6:]) - 1
        return index if 0 <= index < self.count else None

    def get(self, record_id: str) -> Record | None:
        """A fresh copy of the record, or None when it does not exist (or was deleted)."""
        if record_id in self._overrides:
            stored = self._overrides[record_id]
            return None if stored is None else _deep_copy(stored)
        index = self._seeded_index(record_id)
        return None if index is None else generate(self.ctx, self.entity, index)

    def __len__(self) -> int:
        live = self.count
        for record_id, stored in self._overrides.items():
            seeded = self._seeded_index(record_id) is not None
            live += (stored is not None) - seeded
        return live

    def new_record(self) -> Record:
        """A generated record with the next unused index (not yet stored)."""
        index = self._next_index
        self._next_index += 1
        return generate(self.ctx, self.entity, index)

    def put(self, record: Record) -> None:
        self._overrides[str(record[self.spec.id_field])] = _deep_copy(record)
        self._changed()

    def delete(self, record_id: str) -> None:
        self._overrides[record_id] = None
        self._changed()

    def _changed(self) -> None:
        self.version += 1
        self._views.clear()

    def _sorted(self, column: str) -> list[SortKey]:
        seeded = _seeded_view(self.ctx, self.entity, self.count, column)
        if not self._overrides:
            return seeded
        rows = [row for row in seeded if row[1] not in self._overrides]
        rows.extend(
            (record_key(column, record), record_id)
            for record_id, record in self._overrides.items()
            if record is not None
        )
        rows.sort()
        return rows

    def query(
        self,
        *,
        column: str,
        descending: bool,
        modified_since: float | None,
        inclusive: bool,
        filter_by: str,
        books: bool = False,
    ) -> list[str]:
        """Ids in list order after the ``last_modified_time`` and ``filter_by`` filters;
        ``books``: without the Inventory-only items Books does not have."""
        cache_key = (column, descending, modified_since, inclusive, filter_by, books)
        cached = self._views.get(cache_key)
        if cached is not None:
            return cached
        rows = self._sorted(column)
        if modified_since is not None:
            rows = self._modified_filter(column, rows, modified_since, inclusive)
        ids = [record_id for _, record_id in rows]
        if filter_by != "Status.All":
            ids = [
                record_id
                for record_id in ids
                if status_matches(self.spec, self._filter_fields(record_id, filter_by), filter_by)
            ]
        if books and self.entity == "items":
            ids = [record_id for record_id in ids if not self.inventory_only(record_id)]
        if descending:
            ids.reverse()
        if len(self._views) >= _VIEW_CACHE_SIZE:
            self._views.clear()
        self._views[cache_key] = ids
        return ids

    def inventory_only(self, record_id: str) -> bool:
        """An item Books does not have (from the index for unchanged seeded items: cheap)."""
        if record_id not in self._overrides:
            index = self._seeded_index(record_id)
            if index is not None:
                return self.ctx.inventory_only(index)
        record = self.get(record_id)
        return bool(record and record.get("is_combo_product"))

    def _filter_fields(self, record_id: str, filter_by: str) -> Record:
        """What ``filter_by`` reads: from the index for unchanged seeded records (cheap), else
        the record itself (Lowstock needs stock figures, so it always generates)."""
        if record_id not in self._overrides and filter_by != "Status.Lowstock":
            index = self._seeded_index(record_id)
            if index is not None:
                return seeded_filter_fields(self.ctx, self.entity, index)
        return self.get(record_id) or {}

    def _modified_filter(
        self, column: str, rows: list[SortKey], since: float, inclusive: bool
    ) -> list[SortKey]:
        if column == "last_modified_time":
            probe = ((1, since), "") if inclusive else ((1, since), "~")
            return rows[bisect.bisect_left(rows, probe) :]
        modified = self._sorted("last_modified_time")
        start = bisect.bisect_left(modified, ((1, since), "") if inclusive else ((1, since), "~"))
        keep = {record_id for _, record_id in modified[start:]}
        return [row for row in rows if row[1] in keep]


def _deep_copy(record: Record) -> Record:
    """Records are JSON-shaped; copying through lists/dicts is faster than ``copy.deepcopy``."""
    return {key: _copy_value(value) for key, value in record.items()}


def _copy_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy_value(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_copy_value(inner) for inner in value]
    return value
