"""List and detail bodies: summaries vs details, paging, sorting and filters.

Zoho's rules: docs/zoho-api.md#pagination and #incremental-sync.

Pure functions of the store and the query parameters; they raise :class:`ZohoError` for bad
parameters (code 2) and missing records (code 1002).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zoho_sim.entities import SPECS, EntitySpec
from zoho_sim.errors import ZohoError, invalid_value, not_found
from zoho_sim.generate import Record
from zoho_sim.settings import ApiSettings
from zoho_sim.state import Org
from zoho_sim.timefmt import parse_ts


def shape(
    spec: EntitySpec,
    record: Record,
    product: str,
    *,
    detail: bool,
    stock_layout: str = "warehouses",
    summary_keeps: frozenset[str] = frozenset(),
) -> Record:
    """A list summary (no line items, addresses …, except ``summary_keeps``) or a detail;
    per-warehouse stock only in Inventory item details, as ``warehouses[]`` or (Locations
    orgs) ``locations[]``."""
    drops: set[str] = set() if detail else set(spec.summary_drops - summary_keeps)
    if spec.path == "items" and (not detail or product != "inventory"):
        drops.add("warehouses")
    shaped = {key: value for key, value in record.items() if key not in drops}
    if stock_layout == "locations" and "warehouses" in shaped:
        shaped["locations"] = [as_location(row) for row in shaped.pop("warehouses")]
    return shaped


def as_location(row: Record) -> Record:
    """A ``warehouses[]`` stock row (or warehouse record) in the Locations vocabulary."""
    renamed: Record = {}
    for key, value in row.items():
        if key.startswith("warehouse_"):
            renamed["location_" + key.removeprefix("warehouse_")] = value
        else:
            renamed[key] = value
    return renamed


def locations_body(org: Org, record_id: str | None) -> dict[str, Any]:
    """``GET /locations`` (unpaginated) or ``/locations/{id}`` for a Locations org."""
    table = org.tables["warehouses"]
    if record_id is not None:
        record = table.get(record_id)
        if record is None:
            raise not_found("Location")
        return {"location": _location(record)}
    ids = table.query(
        column="warehouse_name",
        descending=False,
        modified_since=None,
        inclusive=True,
        filter_by="Status.All",
    )
    return {"locations": [_location(r) for r in map(table.get, ids) if r is not None]}


def _location(warehouse: Record) -> Record:
    location = as_location(warehouse)
    location.update({"type": "warehouse", "parent_location_id": ""})
    return location


def _positive_int(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_value(name) from None
    if value < 1:
        raise invalid_value(name)
    return value


def list_body(
    org: Org, spec: EntitySpec, product: str, params: Mapping[str, str], api: ApiSettings
) -> dict[str, Any]:
    """``{"<list_key>": [...], "page_context": {...}}`` for one page."""
    table = org.tables[spec.path]
    if not spec.paginated:
        ids = table.query(
            column=spec.default_sort,
            descending=False,
            modified_since=None,
            inclusive=True,
            filter_by="Status.All",
        )
        return {spec.list_key: [table.get(i) for i in ids]}
    page = _positive_int(params, "page", 1)
    per_page = _positive_int(params, "per_page", api.max_per_page)
    if per_page > api.max_per_page:
        if api.per_page_over_max == "error":
            raise invalid_value("per_page")
        per_page = api.max_per_page
    column = params.get("sort_column") or spec.default_sort
    if column not in spec.sort_columns:
        raise invalid_value("sort_column")
    default_order = spec.default_order if "sort_column" not in params else "A"
    order = params.get("sort_order") or default_order
    if order not in {"A", "D"}:
        raise invalid_value("sort_order")
    active_only = spec.path in api.default_lists_active_only
    default_filter = "Status.Active" if active_only else spec.all_filter
    filter_by = params.get("filter_by") or default_filter
    if filter_by not in spec.filters:
        raise invalid_value("filter_by")
    since: float | None = None
    raw_since = params.get("last_modified_time")
    if raw_since and spec.path not in api.last_modified_ignored_for:
        try:
            since = parse_ts(raw_since).timestamp()
        except ValueError:
            raise invalid_value("last_modified_time") from None
    ids = table.query(
        column=column,
        descending=order == "D",
        modified_since=since,
        inclusive=api.last_modified_inclusive,
        filter_by=filter_by,
        books=product == "books",
    )
    start = (page - 1) * per_page
    keeps = frozenset({"invoices"} if api.payment_lists_carry_invoices else ())
    rows = []
    for record_id in ids[start : start + per_page]:
        record = table.get(record_id)
        if record is not None:
            rows.append(shape(spec, record, product, detail=False, summary_keeps=keeps))
    return {
        spec.list_key: rows,
        "page_context": {
            "page": page,
            "per_page": per_page,
            "has_more_page": len(ids) > start + per_page,
            "report_name": spec.report_name,
            "applied_filter": filter_by,
            "custom_fields": [],
            "sort_column": column,
            "sort_order": order,
        },
    }


def _books_lacks(org: Org, spec: EntitySpec, product: str, record_id: str) -> bool:
    """An Inventory-only (composite) item asked of Books."""
    return (
        product == "books"
        and spec.path == "items"
        and org.tables["items"].inventory_only(record_id)
    )


def detail_body(org: Org, spec: EntitySpec, product: str, record_id: str) -> dict[str, Any]:
    record = org.tables[spec.path].get(record_id)
    if record is None or _books_lacks(org, spec, product, record_id):
        raise not_found(spec.label)
    layout = org.settings.stock_layout
    return {spec.detail_key: shape(spec, record, product, detail=True, stock_layout=layout)}


def itemdetails_body(org: Org, product: str, params: Mapping[str, str]) -> dict[str, Any]:
    """``GET /itemdetails?item_ids=a,b``: details of the items that exist, in the order asked."""
    raw = params.get("item_ids", "")
    ids = [part.strip() for part in raw.split(",") if part.strip()]
    if not ids:
        raise invalid_value("item_ids")
    spec = SPECS["items"]
    table = org.tables["items"]
    items = []
    for record_id in ids:
        record = table.get(record_id)
        if record is not None and not _books_lacks(org, spec, product, record_id):
            layout = org.settings.stock_layout
            items.append(shape(spec, record, product, detail=True, stock_layout=layout))
    return {"items": items}


def method_not_allowed(method: str) -> ZohoError:
    return ZohoError(405, 37, f"The HTTP method {method} is not allowed for the requested resource")
