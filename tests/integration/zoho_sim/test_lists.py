"""Lists vs details, paging, page_context, sorting and filters, over HTTP.

The rules: docs/zoho-api.md#pagination, #incremental-sync and #entities-and-fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

import pytest

from zoho_sim.entities import SPECS

from .helpers import INVENTORY, TIMESTAMP_RE, SimClient

PAGE_CONTEXT_KEYS = {
    "page",
    "per_page",
    "has_more_page",
    "report_name",
    "applied_filter",
    "custom_fields",
    "sort_column",
    "sort_order",
}
ENTITIES = [
    (f"/{spec.path}", spec.list_key, spec.detail_key, spec.id_field)
    for spec in SPECS.values()
    if spec.paginated
]
DOCUMENTS = [
    spec.path for spec in SPECS.values() if {"line_items", "invoices"} & spec.summary_drops
]
"""Modules whose list summaries leave out what only the detail carries."""


def _ts(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")


@pytest.mark.parametrize(("path", "list_key", "detail_key", "id_field"), ENTITIES)
def test_list_envelope_and_detail_envelope(
    sim: SimClient, path: str, list_key: str, detail_key: str, id_field: str
) -> None:
    body = sim.ok(path, per_page=3)
    assert set(body) == {"code", "message", list_key, "page_context"}
    assert set(body["page_context"]) == PAGE_CONTEXT_KEYS
    rows = body[list_key]
    assert len(rows) == 3
    for row in rows:
        assert re.match(r"^\d{18}$", row[id_field])
        assert re.match(TIMESTAMP_RE, row["last_modified_time"])
        assert re.match(TIMESTAMP_RE, row["created_time"])
        assert row["last_modified_time"][-5:] in ("-0400", "-0500")  # New York, DST or not
    detail = sim.ok(f"{path}/{rows[0][id_field]}")
    assert set(detail) == {"code", "message", detail_key}
    assert detail[detail_key][id_field] == rows[0][id_field]


@pytest.mark.parametrize("path", [p for p in DOCUMENTS if p != "customerpayments"])
def test_transaction_lists_are_summaries_without_line_items(sim: SimClient, path: str) -> None:
    spec = SPECS[path]
    row = sim.ok(f"/{path}", per_page=1)[path][0]
    assert "line_items" not in row and "billing_address" not in row
    detail = sim.ok(f"/{path}/{row[spec.id_field]}")[spec.detail_key]
    assert detail["line_items"], "details carry line items"
    line = detail["line_items"][0]
    assert {"line_item_id", "item_id", "rate", "quantity", "item_total", "stock_on_hand"} <= set(
        line
    )
    assert line["stock_on_hand"] == ""
    assert detail["total"] == row["total"]


def test_payment_lists_leave_out_the_applied_invoices(sim: SimClient) -> None:
    row = sim.ok("/customerpayments", per_page=1, filter_by="PaymentMode.All")["customerpayments"][
        0
    ]
    assert "invoices" not in row
    detail = sim.ok(f"/customerpayments/{row['payment_id']}")["payment"]
    assert detail["invoices"], "details carry the invoices the payment is applied to"
    assert {"invoice_id", "amount_applied"} <= set(detail["invoices"][0])
    assert detail["amount"] == row["amount"]


def test_payment_lists_carry_the_applied_invoices_when_set(sim: SimClient) -> None:
    sim.control("PUT", "/api", json={"payment_lists_carry_invoices": True})
    row = sim.ok("/customerpayments", per_page=1)["customerpayments"][0]
    detail = sim.ok(f"/customerpayments/{row['payment_id']}")["payment"]
    assert row["invoices"] == detail["invoices"] != []
    refused = sim.get("/customerpayments", filter_by="Status.All")  # modes, not statuses
    assert refused.status_code == 400 and refused.json()["code"] == 2


def test_contact_summary_lacks_addresses_and_persons(sim: SimClient) -> None:
    row = sim.ok("/contacts", per_page=1)["contacts"][0]
    assert "contact_persons" not in row and "billing_address" not in row
    detail = sim.ok(f"/contacts/{row['contact_id']}")["contact"]
    assert detail["contact_persons"] and detail["billing_address"]["city"]
    assert detail["custom_field_hash"]["cf_region"] in {"East", "West", "Central"}


def test_inventory_item_detail_has_warehouse_stock(sim: SimClient) -> None:
    rows = sim.ok("/items", root=INVENTORY, per_page=50)["items"]
    assert all("warehouses" not in row for row in rows)
    tracked = next(row for row in rows if row["track_inventory"])
    service = next(row for row in rows if not row["track_inventory"])
    assert "stock_on_hand" not in service, "non-tracked items carry no stock fields"
    detail = sim.ok(f"/items/{tracked['item_id']}", root=INVENTORY)["item"]
    warehouses = detail["warehouses"]
    assert len(warehouses) == 3
    assert {
        "warehouse_id",
        "warehouse_name",
        "status",
        "is_primary",
        "warehouse_stock_on_hand",
        "warehouse_available_stock",
        "warehouse_actual_available_stock",
        "warehouse_committed_stock",
        "warehouse_actual_committed_stock",
        "warehouse_available_for_sale_stock",
        "warehouse_actual_available_for_sale_stock",
    } == set(warehouses[0])
    assert detail["stock_on_hand"] == sum(w["warehouse_stock_on_hand"] for w in warehouses)
    assert "warehouses" not in sim.ok(f"/items/{tracked['item_id']}")["item"], "Books detail"


def test_itemdetails_bulk_endpoint(sim: SimClient) -> None:
    ids = [row["item_id"] for row in sim.ok("/items", per_page=4)["items"]]
    body = sim.ok("/itemdetails", root=INVENTORY, item_ids=",".join([*ids, "460111999999999999"]))
    assert [item["item_id"] for item in body["items"]] == ids
    response = sim.get("/itemdetails")
    assert response.status_code == 400
    assert response.json() == {"code": 2, "message": "Invalid value passed for item_ids"}


def test_warehouses_list_is_unpaginated(sim: SimClient) -> None:
    body = sim.ok("/settings/warehouses", root=INVENTORY)
    assert set(body) == {"code", "message", "warehouses"}
    assert [w["is_primary"] for w in body["warehouses"]] == [True, False, False]


def test_page_context_echoes_request_and_has_no_totals(sim: SimClient) -> None:
    context = sim.ok("/contacts", per_page=2, page=3)["page_context"]
    assert context == {
        "page": 3,
        "per_page": 2,
        "has_more_page": True,
        "report_name": "Contacts",
        "applied_filter": "Status.All",
        "custom_fields": [],
        "sort_column": "contact_name",
        "sort_order": "A",
    }


def test_per_page_is_clamped_to_200(sim: SimClient) -> None:
    body = sim.ok("/items", per_page=500)
    assert body["page_context"]["per_page"] == 200
    assert len(body["items"]) == 200


def test_per_page_over_max_errors_when_configured(custom_sim: Callable[..., SimClient]) -> None:
    sim = custom_sim(api={"per_page_over_max": "error"})
    assert sim.get("/items", per_page=201).json() == {
        "code": 2,
        "message": "Invalid value passed for per_page",
    }


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("page", "0"),
        ("per_page", "x"),
        ("sort_column", "colour"),
        ("sort_order", "up"),
        ("filter_by", "Status.Whatever"),
        ("last_modified_time", "yesterday"),
    ],
)
def test_bad_list_parameters_are_code_2(sim: SimClient, param: str, value: str) -> None:
    response = sim.get("/items", **{param: value})
    assert response.status_code == 400
    assert response.json() == {"code": 2, "message": f"Invalid value passed for {param}"}


def test_pages_cover_every_record_exactly_once_in_order(sim: SimClient) -> None:
    seen: list[str] = []
    times: list[datetime] = []
    page = 1
    while True:
        body = sim.ok(
            "/invoices", page=page, per_page=37, sort_column="last_modified_time", sort_order="A"
        )
        seen += [row["invoice_id"] for row in body["invoices"]]
        times += [_ts(row["last_modified_time"]) for row in body["invoices"]]
        if not body["page_context"]["has_more_page"]:
            break
        page += 1
    assert len(seen) == len(set(seen)) == 300
    assert times == sorted(times)
    beyond = sim.ok("/invoices", page=page + 1, per_page=37)
    assert beyond["invoices"] == [] and beyond["page_context"]["has_more_page"] is False


def test_sort_descending_and_by_name(sim: SimClient) -> None:
    rows = sim.ok("/items", sort_column="last_modified_time", sort_order="D")["items"]
    stamps = [_ts(row["last_modified_time"]) for row in rows]
    assert stamps == sorted(stamps, reverse=True)
    names = [row["name"] for row in sim.ok("/items", sort_column="name")["items"]]
    assert names == sorted(names)
    context = sim.ok("/items", sort_column="rate", sort_order="D", per_page=5)["page_context"]
    assert (context["sort_column"], context["sort_order"]) == ("rate", "D")


def test_filter_by_status(sim: SimClient) -> None:
    body = sim.ok("/items", filter_by="Status.Inactive")
    assert body["items"], "the seeded data has inactive items"
    assert {row["status"] for row in body["items"]} == {"inactive"}
    assert body["page_context"]["applied_filter"] == "Status.Inactive"
    vendors = sim.ok("/contacts", filter_by="Status.Vendors")["contacts"]
    assert vendors and {row["contact_type"] for row in vendors} == {"vendor"}


def _modified_since(sim: SimClient, since: str, **params: str) -> list[dict[str, str]]:
    body = sim.ok(
        "/invoices",
        last_modified_time=since,
        sort_column="last_modified_time",
        sort_order="A",
        **params,
    )
    rows: list[dict[str, str]] = body["invoices"]
    return rows


def _every_invoice(sim: SimClient) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for page in (1, 2):
        body = sim.ok("/invoices", page=page, sort_column="last_modified_time", sort_order="A")
        rows += body["invoices"]
    assert len(rows) == 300
    return rows


def test_last_modified_time_filter_is_inclusive_by_default(sim: SimClient) -> None:
    every = _every_invoice(sim)
    pivot = every[150]["last_modified_time"]
    expected = {r["invoice_id"] for r in every if _ts(r["last_modified_time"]) >= _ts(pivot)}
    rows = _modified_since(sim, pivot)
    assert len(expected) == 150
    assert {r["invoice_id"] for r in rows} == expected
    assert rows[0]["last_modified_time"] == pivot
    # The same instant written in UTC selects the same rows.
    utc = _ts(pivot).astimezone().strftime("%Y-%m-%dT%H:%M:%S%z")
    assert {r["invoice_id"] for r in _modified_since(sim, utc)} == expected


def test_last_modified_time_filter_exclusive_when_configured(
    custom_sim: Callable[..., SimClient],
) -> None:
    sim = custom_sim(api={"last_modified_inclusive": False})
    every = sim.ok("/invoices", sort_column="last_modified_time", sort_order="A")["invoices"]
    pivot = every[20]["last_modified_time"]
    rows = _modified_since(sim, pivot)
    assert rows and all(_ts(r["last_modified_time"]) > _ts(pivot) for r in rows)
    assert len(rows) == sum(1 for r in every if _ts(r["last_modified_time"]) > _ts(pivot))


def test_last_modified_time_ignored_where_configured(
    custom_sim: Callable[..., SimClient],
) -> None:
    sim = custom_sim(api={"last_modified_ignored_for": ["contacts"]})
    future = "2099-01-01T00:00:00-0400"
    assert len(sim.ok("/contacts", last_modified_time=future)["contacts"]) == 50
    assert sim.ok("/invoices", last_modified_time=future)["invoices"] == []


def test_dataset_is_deterministic_per_seed(sim: SimClient) -> None:
    first = sim.ok("/invoices", per_page=5)["invoices"]
    sim.reset(default_scale=300)
    assert sim.ok("/invoices", per_page=5)["invoices"] == first
    sim.reset(default_scale=300, seed=7, keep_tokens=True)
    assert sim.ok("/invoices", per_page=5)["invoices"] != first


def test_records_use_empty_strings_not_nulls(sim: SimClient) -> None:
    rows = sim.ok("/items", per_page=200)["items"]
    values = [value for row in rows for value in row.values()]
    assert None not in values
    assert "" in values


def test_locations_layout(custom_sim: Callable[..., SimClient]) -> None:
    sim = custom_sim(
        organizations=[{"organization_id": "60000000001", "stock_layout": "locations"}]
    )
    locations = sim.ok("/locations", root=INVENTORY)["locations"]
    assert len(locations) == 3 and locations[0]["location_name"] == "Main Warehouse"
    assert {"location_id", "location_name", "type", "parent_location_id", "is_primary"} <= set(
        locations[0]
    )
    rows = sim.ok("/items", root=INVENTORY, per_page=20)["items"]
    tracked = next(row for row in rows if row["track_inventory"])
    detail = sim.ok(f"/items/{tracked['item_id']}", root=INVENTORY)["item"]
    assert "warehouses" not in detail
    stock = detail["locations"]
    assert {"location_id", "location_stock_on_hand", "location_available_for_sale_stock"} <= set(
        stock[0]
    )
    assert stock[0]["location_id"] == locations[0]["location_id"]
    moved = sim.control(
        "POST",
        "/orgs/60000000001/stock",
        json={"item_id": tracked["item_id"], "location_id": stock[0]["location_id"], "delta": 2},
    )
    assert moved["record"]["stock_on_hand"] == detail["stock_on_hand"] + 2
    after = sim.ok(f"/items/{tracked['item_id']}", root=INVENTORY)["item"]["locations"][0]
    assert after["location_stock_on_hand"] == stock[0]["location_stock_on_hand"] + 2
    assert sim.get(f"/locations/{'1' * 18}", root=INVENTORY).json() == {
        "code": 1002,
        "message": "Location does not exist.",
    }
