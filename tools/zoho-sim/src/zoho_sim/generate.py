"""Deterministic seeded records shaped like Zoho's (zoho-api.md §7.1, §7.4).

A record depends only on (seed, org, entity, index): names, rates and contact types that other
records refer to are pure functions of the index, the rest comes from a ``random.Random`` seeded
per record batch. Ids are long numeric strings, empties are ``""``, timestamps are in the org's
offset, and items that do not track inventory carry no stock fields at all (as live).
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timezone
from typing import Any, Final

from zoho_sim.timefmt import format_date, format_ts

Record = dict[str, Any]

ANCHOR_EPOCH: Final = datetime(2026, 6, 1, tzinfo=UTC).timestamp()
"""Seeded records were created in the year before this instant and modified before it."""
SPAN_SECONDS: Final = 365 * 86400
DAY: Final = 86400

_ADJ: Final = (
    "Steel",
    "Brass",
    "Oak",
    "Copper",
    "Nylon",
    "Cedar",
    "Carbon",
    "Linen",
    "Glass",
    "Cobalt",
    "Maple",
    "Velvet",
    "Granite",
    "Bamboo",
    "Silver",
    "Amber",
)
_NOUN: Final = (
    "Bolt",
    "Hinge",
    "Bracket",
    "Valve",
    "Spindle",
    "Washer",
    "Lamp",
    "Panel",
    "Gasket",
    "Clamp",
    "Pulley",
    "Rivet",
    "Socket",
    "Flange",
    "Spring",
    "Bearing",
    "Coupler",
    "Sleeve",
    "Handle",
    "Caster",
)
_FIRST: Final = (
    "Ana",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kavya",
    "Liam",
    "Maya",
    "Nikhil",
    "Olga",
    "Pedro",
    "Quinn",
    "Rosa",
    "Sam",
    "Tariq",
    "Uma",
    "Victor",
    "Wen",
    "Yara",
    "Zane",
)
_LAST: Final = (
    "Adams",
    "Baker",
    "Cruz",
    "Diaz",
    "Evans",
    "Fischer",
    "Gupta",
    "Hansen",
    "Ito",
    "Jensen",
    "Khan",
    "Lopez",
    "Moreau",
    "Novak",
    "Okafor",
    "Park",
    "Rossi",
    "Silva",
    "Tanaka",
    "Usman",
    "Vargas",
    "Weber",
    "Young",
    "Zhou",
)
_SUFFIX: Final = (
    "Traders",
    "Supply",
    "Industries",
    "Holdings",
    "Outfitters",
    "Works",
    "& Co",
    "Logistics",
    "Retail",
    "Partners",
)
_CITIES: Final = (
    ("Boston", "MA", "02108"),
    ("Austin", "TX", "73301"),
    ("Denver", "CO", "80202"),
    ("Seattle", "WA", "98101"),
    ("Miami", "FL", "33101"),
    ("Chicago", "IL", "60601"),
)
_UNITS: Final = ("pcs", "box", "kg", "m", "set")
_MONTHS: Final = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)

ENTITY_CODES: Final = {
    "items": 11,
    "contacts": 12,
    "invoices": 13,
    "bills": 14,
    "creditnotes": 15,
    "pricebooks": 16,
    "warehouses": 17,
}
_TAX_ID_CODE: Final = 21
_ACCOUNT_CODE: Final = 22


def _mix(*parts: int) -> int:
    """A deterministic 64-bit hash of small integers (splitmix64 steps; no hash randomisation)."""
    h = 0x9E3779B97F4A7C15
    for part in parts:
        h = (h + (part & 0xFFFFFFFFFFFFFFFF) + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 31
    return h


@dataclass(frozen=True)
class OrgContext:
    """What generation needs to know about an org and the sizes of the other entities."""

    org_id: str
    org_position: int
    seed: int
    tz: timezone
    currency_code: str
    scale: tuple[tuple[str, int], ...]

    @functools.cached_property
    def _counts(self) -> dict[str, int]:
        return dict(self.scale)

    def count(self, entity: str) -> int:
        return self._counts.get(entity, 0)

    @functools.cached_property
    def _id_prefix(self) -> str:
        return f"46{self.org_position:02d}"

    def make_id(self, entity_code: int, index: int) -> str:
        """Long numeric string ids (``"460113000000000042"``), unique per org and entity."""
        return f"{self._id_prefix}{entity_code:02d}{index + 1:012d}"

    def entity_id(self, entity: str, index: int) -> str:
        return self.make_id(ENTITY_CODES[entity], index)

    @property
    def currency_id(self) -> str:
        return self.make_id(31, 0)

    def ts(self, epoch: float) -> str:
        return format_ts(epoch, self.tz)

    def date(self, epoch: float) -> str:
        return format_date(epoch, self.tz)

    def times(self, entity: str, index: int) -> tuple[float, float]:
        """(created, last modified) epoch seconds, both before :data:`ANCHOR_EPOCH`."""
        h = _mix(self.seed, ENTITY_CODES[entity], index)
        created = ANCHOR_EPOCH - SPAN_SECONDS + (h % (SPAN_SECONDS - DAY))
        modified = created + (h >> 20) % int(ANCHOR_EPOCH - created)
        return created, modified


def item_name(ctx: OrgContext, index: int) -> str:
    h = _mix(ctx.seed, 1, index)
    return f"{_ADJ[h % len(_ADJ)]} {_NOUN[(h >> 8) % len(_NOUN)]} {index + 1:05d}"


def item_rate(ctx: OrgContext, index: int) -> float:
    return round(1 + (_mix(ctx.seed, 2, index) % 49900) / 100, 2)


def item_tracks_inventory(ctx: OrgContext, index: int) -> bool:
    """One item in eight is a service without stock fields."""
    return _mix(ctx.seed, 3, index) % 8 != 0


def contact_name(ctx: OrgContext, index: int) -> tuple[str, str, str]:
    """(first, last, company)."""
    h = _mix(ctx.seed, 4, index)
    first, last = _FIRST[h % len(_FIRST)], _LAST[(h >> 8) % len(_LAST)]
    return first, last, f"{last} {_SUFFIX[(h >> 16) % len(_SUFFIX)]} {index + 1}"


DOCUMENT_STATUSES: Final[dict[str, tuple[str, ...]]] = {
    "invoices": ("draft", "sent", "viewed", "overdue", "paid", "partially_paid", "void"),
    "bills": ("draft", "open", "overdue", "paid", "partially_paid", "void"),
    "creditnotes": ("draft", "open", "closed", "void"),
}


def seeded_status(ctx: OrgContext, entity: str, index: int) -> str:
    """A seeded record's status, from its index alone, so ``filter_by`` needs no generation."""
    h = _mix(ctx.seed, 6, ENTITY_CODES[entity], index)
    if entity in DOCUMENT_STATUSES:
        choices = DOCUMENT_STATUSES[entity]
        return choices[h % len(choices)]
    if entity == "pricebooks":
        return "active" if index % 7 else "inactive"
    if entity == "warehouses":
        return "active"
    share = 93 if entity == "items" else 95
    return "active" if h % 100 < share else "inactive"


def seeded_filter_fields(ctx: OrgContext, entity: str, index: int) -> Record:
    """The fields ``filter_by`` reads (except Lowstock), without generating the record."""
    fields: Record = {"status": seeded_status(ctx, entity, index)}
    if entity == "contacts":
        fields["contact_type"] = "vendor" if contact_is_vendor(index) else "customer"
    return fields


def contact_is_vendor(index: int) -> bool:
    return index % 10 >= 7


def contact_is_business(ctx: OrgContext, index: int) -> bool:
    return _mix(ctx.seed, 5, index) % 4 != 0


def contact_display_name(ctx: OrgContext, index: int) -> str:
    first, last, company = contact_name(ctx, index)
    return company if contact_is_business(ctx, index) else f"{first} {last}"


def _address(rng: random.Random, attention: str) -> Record:
    city, state, zipcode = rng.choice(_CITIES)
    return {
        "attention": attention,
        "address": f"{rng.randint(1, 999)} Market Street",
        "street2": "",
        "city": city,
        "state": state,
        "zip": zipcode,
        "country": "U.S.A",
        "fax": "",
        "phone": "",
    }


def _warehouse_stock(ctx: OrgContext, rng: random.Random, index: int) -> list[Record]:
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
            rng = random.Random(_mix(ctx.seed, 9, index))
            item["warehouses"] = _warehouse_stock(ctx, rng, index)
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
        "unit": rng.choice(_UNITS) if tracked else "hrs",
        "status": seeded_status(ctx, "items", i),
        "description": f"{name}, catalogue line {i % 97 + 1}" if rng.random() < 0.8 else "",
        "purchase_description": "",
        "item_type": "inventory" if tracked else "sales",
        "product_type": "goods" if tracked else "service",
        "can_be_sold": True,
        "can_be_purchased": tracked,
        "track_inventory": tracked,
        "tax_id": ctx.make_id(_TAX_ID_CODE, 0) if tax else "",
        "tax_name": "Sales Tax" if tax else "",
        "tax_percentage": 8.25 if tax else 0,
        "account_id": ctx.make_id(_ACCOUNT_CODE, 0),
        "account_name": "Sales",
        "purchase_account_id": ctx.make_id(_ACCOUNT_CODE, 1) if tracked else "",
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
                "warehouses": _warehouse_stock(ctx, rng, i),
            }
        )
        apply_stock_totals(record)
    return record


def gen_contact(ctx: OrgContext, rng: random.Random, i: int) -> Record:
    created, modified = ctx.times("contacts", i)
    first, last, company = contact_name(ctx, i)
    vendor = contact_is_vendor(i)
    business = contact_is_business(ctx, i)
    name = contact_display_name(ctx, i)
    receivable = 0.0 if vendor else round(rng.uniform(0, 5000), 2) * (rng.random() < 0.4)
    payable = round(rng.uniform(0, 8000), 2) * (rng.random() < 0.4) if vendor else 0.0
    email = f"{first}.{last}.{i + 1}@example.com".lower()
    region = rng.choice(("East", "West", "Central"))
    return {
        "contact_id": ctx.entity_id("contacts", i),
        "contact_name": name,
        "customer_name": "" if vendor else name,
        "vendor_name": name if vendor else "",
        "company_name": company if business else "",
        "contact_type": "vendor" if vendor else "customer",
        "customer_sub_type": "business" if business else "individual",
        "status": seeded_status(ctx, "contacts", i),
        "email": email,
        "phone": f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
        "mobile": "",
        "first_name": first,
        "last_name": last,
        "currency_id": ctx.currency_id,
        "currency_code": ctx.currency_code,
        "payment_terms": 30,
        "payment_terms_label": "Net 30",
        "outstanding_receivable_amount": receivable,
        "outstanding_receivable_amount_bcy": receivable,
        "outstanding_payable_amount": payable,
        "outstanding_payable_amount_bcy": payable,
        "unused_credits_receivable_amount": 0,
        "unused_credits_receivable_amount_bcy": 0,
        "unused_credits_payable_amount": 0,
        "unused_credits_payable_amount_bcy": 0,
        "source": "user",
        "portal_status": "disabled",
        "created_time": ctx.ts(created),
        "last_modified_time": ctx.ts(modified),
        "custom_fields": [
            {
                "customfield_id": ctx.make_id(41, 0),
                "index": 1,
                "label": "Region",
                "value": region,
                "api_name": "cf_region",
                "data_type": "string",
            }
        ],
        "custom_field_hash": {"cf_region": region, "cf_region_unformatted": region},
        "tags": [],
        "notes": "",
        "billing_address": _address(rng, name),
        "shipping_address": _address(rng, name),
        "contact_persons": [
            {
                "contact_person_id": ctx.make_id(42, i),
                "salutation": "",
                "first_name": first,
                "last_name": last,
                "email": email,
                "phone": "",
                "mobile": "",
                "is_primary_contact": True,
            }
        ],
    }


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
                "account_id": ctx.make_id(_ACCOUNT_CODE, 0),
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
        "billing_address": _address(rng, party_name),
        "shipping_address": _address(rng, party_name),
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
        "billing_address": _address(rng, party_name),
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
        "billing_address": _address(rng, party_name),
        "shipping_address": _address(rng, party_name),
    }


def gen_pricebook(ctx: OrgContext, rng: random.Random, i: int) -> Record:
    created, modified = ctx.times("pricebooks", i)
    per_item = i % 3 != 2
    n_items = ctx.count("items")
    chosen = sorted({rng.randrange(n_items) for _ in range(min(n_items, 25))}) if per_item else []
    return {
        "pricebook_id": ctx.entity_id("pricebooks", i),
        "name": f"Price List {i + 1:03d}",
        "description": "" if i % 2 else "Negotiated rates",
        "currency_id": ctx.currency_id,
        "currency_code": ctx.currency_code,
        "pricebook_type": "per_item" if per_item else "fixed_percentage",
        "is_increase": bool(i % 2),
        "percentage": 0 if per_item else 5 + i % 20,
        "rounding_type": "no_rounding",
        "decimal_place": 2,
        "sales_or_purchase_type": "sales" if i % 4 else "purchases",
        "status": seeded_status(ctx, "pricebooks", i),
        "is_default": False,
        "created_time": ctx.ts(created),
        "last_modified_time": ctx.ts(modified),
        "pricebook_items": [
            {
                "pricebook_item_id": ctx.make_id(66, i * 1000 + k),
                "item_id": ctx.entity_id("items", item),
                "name": item_name(ctx, item),
                "pricebook_rate": round(item_rate(ctx, item) * 0.9, 2),
            }
            for k, item in enumerate(chosen)
        ],
    }


def gen_warehouse(ctx: OrgContext, rng: random.Random, i: int) -> Record:
    city, state, zipcode = _CITIES[i % len(_CITIES)]
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


GENERATORS: Final[dict[str, Callable[[OrgContext, random.Random, int], Record]]] = {
    "items": gen_item,
    "contacts": gen_contact,
    "invoices": gen_invoice,
    "bills": gen_bill,
    "creditnotes": gen_creditnote,
    "pricebooks": gen_pricebook,
    "warehouses": gen_warehouse,
}


def generate(ctx: OrgContext, entity: str, index: int) -> Record:
    """One record, the same every time for the same context and index."""
    rng = random.Random(_mix(ctx.seed, ENTITY_CODES[entity], index, 7))
    return GENERATORS[entity](ctx, rng, index)


def organization(ctx: OrgContext, name: str, plan: str, time_zone: str, is_default: bool) -> Record:
    """The ``/organizations`` entry (fiscal_year_start_month as a month name, as live)."""
    return {
        "organization_id": ctx.org_id,
        "name": name,
        "contact_name": "Sim Admin",
        "email": "admin@example.com",
        "is_default_org": is_default,
        "plan_type": 0,
        "plan_name": plan.upper(),
        "plan_period": "yearly",
        "language_code": "en",
        "fiscal_year_start_month": _MONTHS[0],
        "account_created_date": "2024-01-02",
        "time_zone": time_zone,
        "is_org_active": True,
        "currency_id": ctx.currency_id,
        "currency_code": ctx.currency_code,
        "currency_symbol": "$",
        "currency_format": "###,##0.00",
        "price_precision": 2,
        "date_format": "dd MMM yyyy",
        "field_separator": " ",
        "user_role": "admin",
        "version": "global",
        "is_designated_zone": False,
    }
