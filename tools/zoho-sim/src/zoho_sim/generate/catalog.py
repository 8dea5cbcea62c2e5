"""Price lists and the ``/organizations`` entry."""

from __future__ import annotations

import random

from zoho_sim.generate.context import OrgContext, Record
from zoho_sim.generate.names import MONTHS, item_name, item_rate, seeded_status


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
        "fiscal_year_start_month": MONTHS[0],
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
