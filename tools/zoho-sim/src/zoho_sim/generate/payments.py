"""Customer payments: applied to seeded invoices of their customer's, amounts that add up.

Each payment is applied to one or two seeded invoices (their ids, numbers, dates and totals are
the invoices' own); what it does not apply stays ``unused_amount`` (docs/zoho-api.md#key-fields).
"""

from __future__ import annotations

import random

from zoho_sim.generate.context import OrgContext, Record, record_rng
from zoho_sim.generate.documents import gen_invoice
from zoho_sim.generate.names import contact_display_name, seeded_payment_mode


def _applied(ctx: OrgContext, rng: random.Random) -> list[Record]:
    n_invoices = ctx.count("invoices")
    if not n_invoices:
        return []
    applied = []
    for index in sorted({rng.randrange(n_invoices) for _ in range(rng.randint(1, 2))}):
        invoice = gen_invoice(ctx, record_rng(ctx, "invoices", index), index)
        amount = round(invoice["total"] * rng.choice((1.0, 0.5)), 2)
        applied.append(
            {
                "invoice_id": invoice["invoice_id"],
                "invoice_number": invoice["invoice_number"],
                "date": invoice["date"],
                "invoice_amount": invoice["total"],
                "amount_applied": amount,
                "balance_amount": round(invoice["total"] - amount, 2),
            }
        )
    return applied


def gen_customerpayment(ctx: OrgContext, rng: random.Random, i: int) -> Record:
    created, modified = ctx.times("customerpayments", i)
    invoices = _applied(ctx, rng)
    applied = round(sum(row["amount_applied"] for row in invoices), 2)
    unused = round(rng.uniform(0, 50), 2) if rng.random() < 0.2 else 0
    n_contacts = ctx.count("contacts")
    customer = rng.randrange(n_contacts) if n_contacts else -1
    return {
        "payment_id": ctx.entity_id("customerpayments", i),
        "payment_number": str(i + 1),
        "date": ctx.date(created),
        "payment_mode": seeded_payment_mode(ctx, i),
        "amount": round(applied + unused, 2),
        "unused_amount": unused,
        "bank_charges": 0,
        "reference_number": f"REF-{rng.randint(1000, 99999)}" if rng.random() < 0.4 else "",
        "description": "",
        "customer_id": ctx.entity_id("contacts", customer) if customer >= 0 else "",
        "customer_name": contact_display_name(ctx, customer) if customer >= 0 else "",
        "currency_id": ctx.currency_id,
        "currency_code": ctx.currency_code,
        "exchange_rate": 1.0,
        "invoices": invoices,
        "custom_fields": [],
        "created_time": ctx.ts(created),
        "last_modified_time": ctx.ts(modified),
    }
