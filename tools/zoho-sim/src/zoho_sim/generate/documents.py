"""Invoices, bills, credit notes, sales and purchase orders: line items referring to seeded
items, totals that add up."""

from __future__ import annotations

import random

from zoho_sim.entities import ENTITY_CODES
from zoho_sim.generate.contacts import address
from zoho_sim.generate.context import ACCOUNT_CODE, DAY, OrgContext, Record
from zoho_sim.generate.names import (
    contact_display_name,
    contact_is_vendor,
    item_name,
    item_rate,
    seeded_status,
)


def _line_items(ctx: OrgContext, rng: random.Random, parent_code: int, i: int) -> list[Record]:
    n_items = ctx.count("items")
    lines = []
    for k in range(rng.randint(1, 4)):
        item = rng.randrange(n_items) if n_items else -1
        rate = item_rate(ctx, item) if item >= 0 else round(rng.uniform(5, 300), 2)
        quantity = rng.randint(1, 12)
        lines.append(
            {
                "line_item_id": ctx.make_id(parent_code + 50, i * 10 + k),
                "item_id": ctx.entity_id("items", item) if item >= 0 else "",
                "name": item_name(ctx, item) if item >= 0 else "Services",
                "description": "",
                "item_order": k + 1,
                "rate": rate,
                "bcy_rate": rate,
                "quantity": quantity,
                "unit": "pcs",
                "discount": 0,
                "tax_id": "",
                "tax_name": "",
                "tax_percentage": 0,
                "item_total": round(rate * quantity, 2),
                "account_id": ctx.make_id(ACCOUNT_CODE, 0),
                "pricebook_id": "",
                "warehouse_id": ctx.entity_id("warehouses", 0) if ctx.count("warehouses") else "",
                "stock_on_hand": "",
            }
        )
    return lines


def _document(ctx: OrgContext, rng: random.Random, entity: str, i: int, party: int) -> Record:
    created, modified = ctx.times(entity, i)
    code = ENTITY_CODES[entity]
    lines = _line_items(ctx, rng, code, i)
    sub_total = round(sum(line["item_total"] for line in lines), 2)
    tax_total = round(sub_total * 0.0825, 2) if rng.random() < 0.6 else 0
    total = round(sub_total + tax_total, 2)
    status = seeded_status(ctx, entity, i)
    paid = status in {"paid", "closed"}
    balance = (
        0
        if paid or status == "void"
        else (round(total / 2, 2) if status == "partially_paid" else total)
    )
    has_party = ctx.count("contacts") > 0
    return {
        "date": ctx.date(created),
        "due_date": ctx.date(created + 30 * DAY),
        "status": status,
        "currency_id": ctx.currency_id,
        "currency_code": ctx.currency_code,
        "exchange_rate": 1.0,
        "sub_total": sub_total,
        "tax_total": tax_total,
        "total": total,
        "balance": balance,
        "bcy_sub_total": sub_total,
        "bcy_tax_total": tax_total,
        "bcy_total": total,
        "discount": 0,
        "discount_type": "entity_level",
        "is_inclusive_tax": False,
        "reference_number": f"PO-{rng.randint(1000, 99999)}" if rng.random() < 0.3 else "",
        "line_items": lines,
        "taxes": [{"tax_name": "Sales Tax", "tax_amount": tax_total}] if tax_total else [],
        "custom_fields": [],
        "notes": "",
        "terms": "",
        "created_time": ctx.ts(created),
        "last_modified_time": ctx.ts(modified),
        "created_by_id": ctx.make_id(51, 0),
        "last_modified_by_id": ctx.make_id(51, 0),
        "_party": ctx.entity_id("contacts", party) if has_party else "",
        "_party_name": contact_display_name(ctx, party) if has_party else "",
    }


def _party(ctx: OrgContext, rng: random.Random, vendor: bool) -> int:
    n = ctx.count("contacts")
    if n == 0:
        return 0
    for _ in range(20):
        index = rng.randrange(n)
        if contact_is_vendor(index) == vendor:
            return index
    return rng.randrange(n)


def gen_invoice(ctx: OrgContext, rng: random.Random, i: int) -> Record:
    doc = _document(
        ctx,
        rng,
        "invoices",
        i,
        _party(ctx, rng, vendor=False),
    )
    party, party_name = doc.pop("_party"), doc.pop("_party_name")
    total, balance = doc["total"], doc["balance"]
    return {
        "invoice_id": ctx.entity_id("invoices", i),
        "invoice_number": f"INV-{i + 1:06d}",
        "customer_id": party,
        "customer_name": party_name,
        **doc,
        "payment_made": round(total - balance, 2) if doc["status"] != "void" else 0,
        "credits_applied": 0,
        "write_off_amount": 0,
        "salesperson_id": "",
        "invoice_url": "",
        "billing_address": address(rng, party_name),
        "shipping_address": address(rng, party_name),
    }


def gen_bill(ctx: OrgContext, rng: random.Random, i: int) -> Record:
    doc = _document(
        ctx,
        rng,
        "bills",
        i,
        _party(ctx, rng, vendor=True),
    )
    party, party_name = doc.pop("_party"), doc.pop("_party_name")
    return {
        "bill_id": ctx.entity_id("bills", i),
        "bill_number": f"BILL-{i + 1:06d}",
        "vendor_id": party,
        "vendor_name": party_name,
        **doc,
        "billing_address": address(rng, party_name),
    }


def gen_creditnote(ctx: OrgContext, rng: random.Random, i: int) -> Record:
    doc = _document(
        ctx,
        rng,
        "creditnotes",
        i,
        _party(ctx, rng, vendor=False),
    )
    party, party_name = doc.pop("_party"), doc.pop("_party_name")
    return {
        "creditnote_id": ctx.entity_id("creditnotes", i),
        "creditnote_number": f"CN-{i + 1:06d}",
        "customer_id": party,
        "customer_name": party_name,
        **doc,
        "billing_address": address(rng, party_name),
        "shipping_address": address(rng, party_name),
    }


def _order(ctx: OrgContext, rng: random.Random, entity: str, i: int, vendor: bool) -> Record:
    """A sales or purchase order: a document without a due date or balance."""
    doc = _document(ctx, rng, entity, i, _party(ctx, rng, vendor=vendor))
    for key in ("due_date", "balance"):
        del doc[key]
    return doc


def gen_salesorder(ctx: OrgContext, rng: random.Random, i: int) -> Record:
    doc = _order(ctx, rng, "salesorders", i, vendor=False)
    party, party_name = doc.pop("_party"), doc.pop("_party_name")
    created, _ = ctx.times("salesorders", i)
    return {
        "salesorder_id": ctx.entity_id("salesorders", i),
        "salesorder_number": f"SO-{i + 1:06d}",
        "customer_id": party,
        "customer_name": party_name,
        **doc,
        "shipment_date": ctx.date(created + 7 * DAY),
        "salesperson_id": "",
        "salesperson_name": "",
        "billing_address": address(rng, party_name),
        "shipping_address": address(rng, party_name),
    }


def gen_purchaseorder(ctx: OrgContext, rng: random.Random, i: int) -> Record:
    doc = _order(ctx, rng, "purchaseorders", i, vendor=True)
    party, party_name = doc.pop("_party"), doc.pop("_party_name")
    created, _ = ctx.times("purchaseorders", i)
    return {
        "purchaseorder_id": ctx.entity_id("purchaseorders", i),
        "purchaseorder_number": f"PO-{i + 1:06d}",
        "vendor_id": party,
        "vendor_name": party_name,
        **doc,
        "delivery_date": ctx.date(created + 14 * DAY),
        "billing_address": address(rng, party_name),
    }
