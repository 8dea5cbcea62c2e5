"""Items and warehouses, with per-warehouse stock on inventory-tracked items."""

from __future__ import annotations

import random
from typing import Final

from zoho_sim.generate.context import ACCOUNT_CODE, TAX_ID_CODE, OrgContext, Record, mix
from zoho_sim.generate.names import (
    CITIES,
    UNITS,
    contact_display_name,
    contact_is_vendor,
    item_name,
    item_rate,
    item_tracks_inventory,
    seeded_status,
)


def warehouse_stock(ctx: OrgContext, rng: random.Random, index: int) -> list[Record]:
    rows = []
    for w in range(ctx.count("warehouses")):
        on_hand = rng.randint(0, 400)
        committed = rng.randint(0, min(on_hand, 30))
        available = on_hand - committed
        rows.append(
            {
                "warehouse_id": ctx.entity_id("warehouses", w),
                "warehouse_name": warehouse_name(w),
                "status": "active",
                "is_primary": w == 0,
                "warehouse_stock_on_hand": on_hand,
                "warehouse_available_stock": on_hand,
                "warehouse_actual_available_stock": on_hand,
                "warehouse_committed_stock": committed,
                "warehouse_actual_committed_stock": committed,
                "warehouse_available_for_sale_stock": available,
                "warehouse_actual_available_for_sale_stock": available,
            }
        )
    return rows


def warehouse_name(index: int) -> str:
    return "Main Warehouse" if index == 0 else f"Warehouse {index + 1}"


def apply_stock_totals(item: Record) -> None:
    """Item-level stock fields = sums over ``warehouses[]`` (tracked items only)."""
    if not item.get("track_inventory"):
        return
    rows = item.get("warehouses") or []
    on_hand = sum(int(r["warehouse_stock_on_hand"]) for r in rows)
    committed = sum(int(r["warehouse_committed_stock"]) for r in rows)
    item.update(
        {
            "stock_on_hand": on_hand,
            "available_stock": on_hand,
            "actual_available_stock": on_hand,
            "committed_stock": committed,
            "actual_committed_stock": committed,
            "available_for_sale_stock": on_hand - committed,
            "actual_available_for_sale_stock": on_hand - committed,
        }
    )


_STOCK_FIELDS: Final = (
    "stock_on_hand",
    "available_stock",
    "actual_available_stock",
    "committed_stock",
    "actual_committed_stock",
    "available_for_sale_stock",
    "actual_available_for_sale_stock",
    "warehouses",
)


def align_inventory_fields(ctx: OrgContext, item: Record, index: int) -> None:
    """After a control-API edit of ``track_inventory``: tracked items get warehouse stock rows
    and totals, untracked ones lose every stock field (as Zoho shows them)."""
    if item.get("track_inventory"):
        if not item.get("warehouses"):
            rng = random.Random(mix(ctx.seed, 9, index))
            item["warehouses"] = warehouse_stock(ctx, rng, index)
            item.setdefault("reorder_level", "")
        item["item_type"] = item.get("item_type") or "inventory"
        if item["item_type"] == "sales":
            item["item_type"] = "inventory"
        item["product_type"] = "goods"
        apply_stock_totals(item)
    else:
        for key in _STOCK_FIELDS:
            item.pop(key, None)


def gen_item(ctx: OrgContext, rng: random.Random, i: int) -> Record:
    created, modified = ctx.times("items", i)
    tracked = item_tracks_inventory(ctx, i)
    rate = item_rate(ctx, i)
    name = item_name(ctx, i)
    tax = rng.random() < 0.7
    record: Record = {
        "item_id": ctx.entity_id("items", i),
        "name": name,
        "item_name": name,
        "sku": f"SKU-{i + 1:06d}",
        "rate": rate,
        "purchase_rate": round(rate * rng.uniform(0.4, 0.8), 2),
        "unit": rng.choice(UNITS) if tracked else "hrs",
        "status": seeded_status(ctx, "items", i),
        "description": f"{name}, catalogue line {i % 97 + 1}" if rng.random() < 0.8 else "",
        "purchase_description": "",
        "item_type": "inventory" if tracked else "sales",
        "product_type": "goods" if tracked else "service",
        "can_be_sold": True,
        "can_be_purchased": tracked,
        "track_inventory": tracked,
        "tax_id": ctx.make_id(TAX_ID_CODE, 0) if tax else "",
        "tax_name": "Sales Tax" if tax else "",
        "tax_percentage": 8.25 if tax else 0,
        "account_id": ctx.make_id(ACCOUNT_CODE, 0),
        "account_name": "Sales",
        "purchase_account_id": ctx.make_id(ACCOUNT_CODE, 1) if tracked else "",
        "source": "user",
        "is_linked_with_zohocrm": False,
        "zcrm_product_id": "",
        "image_name": "",
        "image_document_id": "",
        "created_time": ctx.ts(created),
        "last_modified_time": ctx.ts(modified),
        "tags": [],
        "custom_fields": [],
        "custom_field_hash": {},
    }
    if ctx.inventory_only(i):
        record.update({"is_combo_product": True, "item_type": "inventory"})
    if tracked:
        vendor = (i * 10 + 7) % max(ctx.count("contacts"), 1)
        has_vendor = ctx.count("contacts") > 0 and contact_is_vendor(vendor)
        record.update(
            {
                "reorder_level": rng.choice((10, 20, 50, "")),
                "group_id": "",
                "group_name": "",
                "upc": str(rng.randint(10**11, 10**12 - 1)) if rng.random() < 0.5 else "",
                "ean": "",
                "isbn": "",
                "part_number": f"PN-{i + 1:06d}",
                "vendor_id": ctx.entity_id("contacts", vendor) if has_vendor else "",
                "vendor_name": contact_display_name(ctx, vendor) if has_vendor else "",
                "warehouses": warehouse_stock(ctx, rng, i),
            }
        )
        apply_stock_totals(record)
    return record


def gen_warehouse(ctx: OrgContext, rng: random.Random, i: int) -> Record:
    city, state, zipcode = CITIES[i % len(CITIES)]
    return {
        "warehouse_id": ctx.entity_id("warehouses", i),
        "warehouse_name": warehouse_name(i),
        "attention": "",
        "address": f"{100 + i} Depot Road",
        "address1": "",
        "address2": "",
        "city": city,
        "state": state,
        "zip": zipcode,
        "country": "U.S.A",
        "phone": "",
        "email": f"warehouse{i + 1}@example.com",
        "is_primary": i == 0,
        "status": "active",
    }
