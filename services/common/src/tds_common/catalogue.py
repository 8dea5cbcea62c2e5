"""The entity catalogue (contract: docs/architecture.md#entities).

One entry per entity TDS mirrors: the name used in URLs, topics and metric labels, Zoho's module
key (the singular key a webhook payload and a detail response wrap the record in), the list key,
the id field, and which Zoho products serve it, in priority order. The mapping from Zoho JSON to
rows and the upsert handlers build on this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Product = Literal["books", "inventory"]


@dataclass(frozen=True)
class EntitySpec:
    name: str
    """URL/topic/metric name, e.g. ``credit-notes``."""
    module_key: str
    """Zoho's singular key: ``{"creditnote": {...}}``."""
    list_key: str
    """Zoho's list key: ``{"creditnotes": [...]}``."""
    path: str
    """Zoho API path below the product root, e.g. ``/creditnotes``."""
    id_field: str
    """The record's id field, e.g. ``creditnote_id``."""
    products: tuple[Product, ...]
    """Zoho products that serve it, in priority order (Books first, Inventory fallback)."""
    webhook: bool = True
    """Whether ingest accepts webhooks for it (warehouses are sync-only)."""


ENTITIES: Final[dict[str, EntitySpec]] = {
    spec.name: spec
    for spec in (
        EntitySpec("products", "item", "items", "/items", "item_id", ("books", "inventory")),
        EntitySpec("customers", "contact", "contacts", "/contacts", "contact_id", ("books",)),
        EntitySpec("invoices", "invoice", "invoices", "/invoices", "invoice_id", ("books",)),
        EntitySpec("bills", "bill", "bills", "/bills", "bill_id", ("books",)),
        EntitySpec(
            "credit-notes", "creditnote", "creditnotes", "/creditnotes", "creditnote_id",
            ("books",),
        ),
        # Stock is the Inventory item detail's warehouses[]/locations[]; keyed by item_id.
        EntitySpec("stock", "item", "items", "/items", "item_id", ("inventory",)),
        EntitySpec("prices", "pricebook", "pricebooks", "/pricebooks", "pricebook_id", ("books",)),
        EntitySpec(
            "warehouses", "warehouse", "warehouses", "/settings/warehouses", "warehouse_id",
            ("inventory",), webhook=False,
        ),
    )
}  # fmt: skip

WEBHOOK_ENTITIES: Final = tuple(name for name, spec in ENTITIES.items() if spec.webhook)


def get_entity(name: str) -> EntitySpec:
    """The spec for ``name``; ``KeyError`` for an unknown entity."""
    return ENTITIES[name]
