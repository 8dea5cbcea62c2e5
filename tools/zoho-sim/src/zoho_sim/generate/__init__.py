"""Deterministic seeded records shaped like Zoho's (docs/zoho-api.md#entities-and-fields).

A record depends only on (seed, org, entity, index): names, rates and contact types that other
records refer to are pure functions of the index, the rest comes from a ``random.Random`` seeded
per record batch. Ids are long numeric strings, empties are ``""``, timestamps are in the org's
offset, and items that do not track inventory carry no stock fields at all (as live).

See :mod:`~zoho_sim.generate.context` (ids, times), :mod:`~zoho_sim.generate.names` (values of the
index alone) and one module per kind of record.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Final

from zoho_sim.generate.catalog import gen_pricebook, organization
from zoho_sim.generate.contacts import gen_contact
from zoho_sim.generate.context import ANCHOR_EPOCH, OrgContext, Record, record_rng
from zoho_sim.generate.documents import (
    gen_bill,
    gen_creditnote,
    gen_invoice,
    gen_purchaseorder,
    gen_salesorder,
)
from zoho_sim.generate.items import (
    align_inventory_fields,
    apply_stock_totals,
    gen_item,
    gen_warehouse,
)
from zoho_sim.generate.names import (
    contact_display_name,
    item_name,
    item_rate,
    seeded_filter_fields,
    seeded_status,
)
from zoho_sim.generate.payments import gen_customerpayment

__all__ = [
    "ANCHOR_EPOCH",
    "GENERATORS",
    "OrgContext",
    "Record",
    "align_inventory_fields",
    "apply_stock_totals",
    "contact_display_name",
    "generate",
    "item_name",
    "item_rate",
    "organization",
    "seeded_filter_fields",
    "seeded_status",
]

GENERATORS: Final[dict[str, Callable[[OrgContext, random.Random, int], Record]]] = {
    "items": gen_item,
    "contacts": gen_contact,
    "invoices": gen_invoice,
    "bills": gen_bill,
    "creditnotes": gen_creditnote,
    "salesorders": gen_salesorder,
    "purchaseorders": gen_purchaseorder,
    "customerpayments": gen_customerpayment,
    "pricebooks": gen_pricebook,
    "warehouses": gen_warehouse,
}


def generate(ctx: OrgContext, entity: str, index: int) -> Record:
    """One record, the same every time for the same context and index."""
    return GENERATORS[entity](ctx, record_rng(ctx, entity, index), index)
