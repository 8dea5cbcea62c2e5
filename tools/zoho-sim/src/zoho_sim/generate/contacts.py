"""Contacts (customers and vendors) and the addresses other records reuse."""

from __future__ import annotations

import random

from zoho_sim.generate.context import OrgContext, Record
from zoho_sim.generate.names import (
    CITIES,
    contact_display_name,
    contact_is_business,
    contact_is_vendor,
    contact_name,
    seeded_status,
)


def address(rng: random.Random, attention: str) -> Record:
    city, state, zipcode = rng.choice(CITIES)
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
        "billing_address": address(rng, name),
        "shipping_address": address(rng, name),
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
