"""Zoho-shaped records for every mirrored entity (string ids, "" for empty, Zoho timestamps)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from tds_common.catalogue import WEBHOOK_ENTITIES, get_entity
from tds_common.columns import (
    Converter,
    to_boolean,
    to_date,
    to_integer,
    to_numeric,
    to_text,
    to_timestamp,
)
from tds_common.events import EventEnvelope, format_zoho_timestamp
from tds_common.mirror import Change

Record = dict[str, Any]

ORG = "20099882211"
BASE_TIME = datetime(2026, 6, 9, 13, 45, 21, tzinfo=UTC)


def stamp(minutes: int = 0) -> str:
    """A Zoho timestamp (in Zoho's -0400 style) ``minutes`` after the base time."""
    from datetime import timezone

    local = (BASE_TIME + timedelta(minutes=minutes)).astimezone(timezone(timedelta(hours=-4)))
    return format_zoho_timestamp(local)


def product(
    item_id: str, *, version: int = 0, name: str = "Widget", **extra: Any
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "item_id": item_id,
        "name": name,
        "item_name": name,
        "sku": f"SKU-{item_id[-4:]}",
        "status": "active",
        "item_type": "inventory",
        "product_type": "goods",
        "unit": "pcs",
        "description": "A widget for testing " * 3,
        "rate": 149.97,
        "purchase_rate": "80.50",
        "tax_id": "",
        "tax_name": "",
        "tax_percentage": 0,
        "track_inventory": True,
        "stock_on_hand": "12.000",
        "available_stock": 10,
        "reorder_level": "",
        "upc": "",
        "ean": "4006381333931",
        "part_number": "",
        "vendor_id": "260815000000011001",
        "vendor_name": "Acme Supplies",
        "group_id": "",
        "group_name": "",
        "created_time": stamp(-1000),
        "last_modified_time": stamp(version),
        "custom_fields": [],
    }
    record.update(extra)
    return record


def customer(contact_id: str, *, version: int = 0, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "contact_id": contact_id,
        "contact_name": "Bowman & Co",
        "customer_name": "Bowman & Co",
        "company_name": "Bowman & Co",
        "contact_type": "customer",
        "customer_sub_type": "business",
        "status": "active",
        "email": "bowman@example.com",
        "phone": "+1-555-0100",
        "mobile": "",
        "first_name": "Will",
        "last_name": "Bowman",
        "currency_code": "USD",
        "payment_terms": 30,
        "outstanding_receivable_amount": 1200.5,
        "unused_credits_receivable_amount": 0,
        "created_time": stamp(-500),
        "last_modified_time": stamp(version),
    }
    record.update(extra)
    return record


def _line_items(prefix: str, count: int, *, warehouse: bool = True) -> list[dict[str, Any]]:
    items = []
    for n in range(count):
        item = {
            "line_item_id": f"{prefix}{n:03d}",
            "item_id": f"2608150000000{n:05d}",
            "name": f"Line {n}",
            "description": "",
            "item_order": n + 1,
            "rate": 10.5 + n,
            "quantity": 2,
            "unit": "pcs",
            "discount": "0.00%",
            "tax_id": "",
            "tax_name": "",
            "tax_percentage": 0,
            "item_total": 2 * (10.5 + n),
            "account_id": "260815000000000388",
            "stock_on_hand": "",
        }
        if warehouse:
            item["warehouse_id"] = "260815000000070001"
        items.append(item)
    return items


def invoice(invoice_id: str, *, version: int = 0, lines: int = 3, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "invoice_id": invoice_id,
        "invoice_number": f"INV-{invoice_id[-5:]}",
        "reference_number": "",
        "date": "2026-06-09",
        "due_date": "2026-07-09",
        "status": "sent",
        "customer_id": "260815000000098001",
        "customer_name": "Bowman & Co",
        "salesperson_name": "",
        "currency_code": "USD",
        "exchange_rate": 1.0,
        "sub_total": 100,
        "tax_total": 0,
        "total": 100,
        "balance": 100,
        "created_time": stamp(-10),
        "last_modified_time": stamp(version),
        "line_items": _line_items(f"{invoice_id}-L", lines),
        "billing_address": {"address": "4900 Hopyard Rd", "city": "Pleasanton", "zip": "94588"},
        "taxes": [],
        "custom_fields": [],
    }
    record.update(extra)
    return record


def bill(bill_id: str, *, version: int = 0, lines: int = 2, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "bill_id": bill_id,
        "bill_number": f"BILL-{bill_id[-5:]}",
        "reference_number": "PO-7",
        "date": "2026-06-01",
        "due_date": "",
        "status": "open",
        "vendor_id": "260815000000011001",
        "vendor_name": "Acme Supplies",
        "currency_code": "USD",
        "exchange_rate": 1,
        "sub_total": 50,
        "tax_total": 5,
        "total": 55,
        "balance": 55,
        "created_time": stamp(-10),
        "last_modified_time": stamp(version),
        "line_items": _line_items(f"{bill_id}-B", lines),
    }
    record.update(extra)
    return record


def credit_note(creditnote_id: str, *, version: int = 0, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "creditnote_id": creditnote_id,
        "creditnote_number": f"CN-{creditnote_id[-5:]}",
        "reference_number": "",
        "date": "2026-06-05",
        "status": "open",
        "customer_id": "260815000000098001",
        "customer_name": "Bowman & Co",
        "currency_code": "USD",
        "exchange_rate": 1,
        "sub_total": 20,
        "tax_total": 0,
        "total": 20,
        "balance": 20,
        "created_time": stamp(-10),
        "last_modified_time": stamp(version),
        "line_items": _line_items(f"{creditnote_id}-C", 1, warehouse=False),
    }
    record.update(extra)
    return record


def stock(
    item_id: str,
    *,
    version: int = 0,
    warehouses: int = 2,
    locations: bool = False,
    on_hand: str = "5.000",
) -> dict[str, Any]:
    prefix, key = ("location_", "locations") if locations else ("warehouse_", "warehouses")
    entries = [
        {
            f"{prefix}id": f"26081500000007000{n}",
            f"{prefix}name": f"Warehouse {n}",
            "status": "active",
            "is_primary": n == 0,
            f"{prefix}stock_on_hand": on_hand,
            f"{prefix}available_stock": on_hand,
            f"{prefix}actual_available_stock": "4",
            f"{prefix}committed_stock": 1,
            f"{prefix}actual_committed_stock": 1,
            f"{prefix}available_for_sale_stock": "",
            f"{prefix}actual_available_for_sale_stock": "4",
        }
        for n in range(warehouses)
    ]
    return {
        "item_id": item_id,
        "name": "Widget",
        "last_modified_time": stamp(version),
        key: entries,
    }


def price_list(pricebook_id: str, *, version: int = 0, items: int = 2) -> dict[str, Any]:
    return {
        "pricebook_id": pricebook_id,
        "name": "Wholesale",
        "description": "Wholesale prices",
        "currency_id": "260815000000000099",
        "currency_code": "USD",
        "pricebook_type": "per_item",
        "is_increase": False,
        "percentage": "",
        "rounding_type": "no_rounding",
        "decimal_place": 2,
        "sales_or_purchase_type": "sales",
        "status": "active",
        "is_default": "false",
        "last_modified_time": stamp(version),
        "pricebook_items": [
            {
                "pricebook_item_id": f"{pricebook_id}-P{n}",
                "item_id": f"2608150000000{n:05d}",
                "pricebook_rate": 9.99 + n,
            }
            for n in range(items)
        ],
    }


def warehouse(warehouse_id: str, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "warehouse_id": warehouse_id,
        "warehouse_name": "Main",
        "status": "active",
        "is_primary": True,
        "email": "",
        "phone": "555",
    }
    record.update(extra)
    return record


_SAMPLES: Final[dict[Converter, Any]] = {
    to_text: "text",
    to_numeric: 12.5,
    to_integer: 3,
    to_boolean: True,
    to_date: "2026-06-01",
    to_timestamp: "2026-05-30T10:00:00-0400",
}
"""A Zoho-shaped value of every column type; each maps to a non-NULL column value."""


def from_catalogue(zoho_id: str, entity: str, *, version: int = 0, children: int = 2) -> Record:
    """A complete record of any record entity built from its catalogue entry alone: every typed
    column's field set, ``children`` child rows. New entities need no factory of their own."""
    spec = get_entity(entity)
    record: Record = {spec.id_field: zoho_id, "last_modified_time": stamp(version)}
    record.update({c.sources[0]: _SAMPLES[c.convert] for c in spec.columns})
    if spec.child is not None:
        child = spec.child
        record[child.list_field] = [
            {
                child.key_column: f"{zoho_id}-K{n}",
                **{c.sources[0]: _SAMPLES[c.convert] for c in child.columns},
            }
            for n in range(children)
        ]
    return record


_HAND_BUILT: Final[dict[str, Callable[..., Record]]] = {
    "products": product,
    "customers": customer,
    "invoices": invoice,
    "bills": bill,
    "credit-notes": credit_note,
    "stock": stock,
    "prices": price_list,
}

BUILDERS: Final[dict[str, Callable[..., Record]]] = {
    name: _HAND_BUILT.get(name) or functools.partial(from_catalogue, entity=name)
    for name in WEBHOOK_ENTITIES
}
"""A builder of a complete record per webhook entity: hand-made Zoho-like ones where they exist
(with Zoho's quirks), the catalogue's otherwise."""


def change(
    entity: str,
    zoho_id: str,
    record: dict[str, Any],
    *,
    op: str = "upsert",
    source: str = "webhook",
    org_id: str = ORG,
) -> Change:
    return Change(entity, org_id, zoho_id, op, record, source)  # type: ignore[arg-type]


def envelope(
    entity: str,
    zoho_id: str,
    record: dict[str, Any],
    *,
    op: str = "upsert",
    org_id: str = ORG,
    received_at: datetime | None = None,
) -> EventEnvelope:
    from tds_common.events import parse_zoho_timestamp

    return EventEnvelope(
        org_id=org_id,
        entity=entity,
        zoho_id=zoho_id,
        op=op,
        source="webhook",
        received_at=received_at or datetime.now(UTC),
        last_modified_time=parse_zoho_timestamp(record.get("last_modified_time")),
        payload=record,
    )
