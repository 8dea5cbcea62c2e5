"""Which Zoho field lands in which column of which table (docs/architecture.md#mirror-tables).

A :class:`MirrorSpec` describes one entity: its parent table and typed columns, its child table
(line items, price list items) if any, and what a complete record must carry (a webhook without
those fields is *thin* and is completed through zoho-proxy before it is written). Stock is the
one entity without a parent row: the Inventory item detail's ``warehouses[]`` (``warehouse_*``
fields) or ``locations[]`` (``location_*`` fields) become ``zoho.stock_levels`` rows per
item and warehouse.

Every table also gets ``org_id``, its id columns, ``raw``, ``zoho_last_modified_time``,
``source``, ``synced_at`` and ``deleted_at``; those are not listed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from tds_common.mirror.values import (
    Converter,
    to_boolean,
    to_date,
    to_integer,
    to_numeric,
    to_text,
    to_timestamp,
)

Kind = Literal["record", "stock"]


@dataclass(frozen=True)
class Column:
    """One typed column: its name, the Zoho fields to read (first non-empty wins), converter."""

    name: str
    convert: Converter = to_text
    fields: tuple[str, ...] = ()

    @property
    def sources(self) -> tuple[str, ...]:
        return self.fields or (self.name,)


@dataclass(frozen=True)
class ChildSpec:
    """A child table replaced as a whole whenever its parent's write wins."""

    table: str
    list_field: str
    """The array in the parent record, e.g. ``line_items``."""
    key_column: str
    """The child's own id column (with org_id and the parent id it forms the primary key)."""
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class MirrorSpec:
    entity: str
    kind: Kind
    table: str
    id_column: str
    columns: tuple[Column, ...]
    child: ChildSpec | None = None
    required: tuple[tuple[str, ...], ...] = ()
    """Field groups a complete record has (one of each group); otherwise the event is thin."""
    versioned: bool = True
    """Whether records carry ``last_modified_time`` (warehouses do not)."""


def _cols(*names: str, convert: Converter = to_text) -> tuple[Column, ...]:
    return tuple(Column(name, convert) for name in names)


_NUM = to_numeric

_LINE_ITEM_COMMON: Final = (
    *_cols("item_id", "name", "description"),
    Column("item_order", to_integer),
    *_cols("rate", "quantity", convert=_NUM),
    Column("unit"),
)

STOCK_FIGURES: Final = (
    "stock_on_hand",
    "available_stock",
    "actual_available_stock",
    "committed_stock",
    "actual_committed_stock",
    "available_for_sale_stock",
    "actual_available_for_sale_stock",
)
"""Stock columns; Zoho prefixes them with ``warehouse_`` or ``location_``."""

STOCK_LISTS: Final = (("warehouses", "warehouse_"), ("locations", "location_"))
"""Where an Inventory item detail keeps its per-warehouse stock, and the field prefix."""

SPECS: Final[dict[str, MirrorSpec]] = {
    spec.entity: spec
    for spec in (
        MirrorSpec(
            "products", "record", "zoho.products", "item_id",
            (
                Column("name", fields=("name", "item_name")),
                *_cols("sku", "status", "item_type", "product_type", "unit", "description"),
                *_cols("rate", "purchase_rate", convert=_NUM),
                *_cols("tax_id", "tax_name"),
                Column("tax_percentage", _NUM),
                Column("track_inventory", to_boolean),
                *_cols("stock_on_hand", "available_stock", "reorder_level", convert=_NUM),
                *_cols("upc", "ean", "part_number", "vendor_id", "vendor_name", "group_id",
                       "group_name"),
                Column("created_time", to_timestamp),
            ),
            required=(("name", "item_name"),),
        ),
        MirrorSpec(
            "customers", "record", "zoho.customers", "contact_id",
            (
                *_cols("contact_name", "company_name", "contact_type", "customer_sub_type",
                       "status", "email", "phone", "mobile", "first_name", "last_name",
                       "currency_code"),
                Column("payment_terms", to_integer),
                *_cols("outstanding_receivable_amount", "unused_credits_receivable_amount",
                       convert=_NUM),
                Column("created_time", to_timestamp),
            ),
            required=(("contact_name",),),
        ),
        MirrorSpec(
            "invoices", "record", "zoho.invoices", "invoice_id",
            (
                *_cols("invoice_number", "reference_number"),
                *_cols("date", "due_date", convert=to_date),
                *_cols("status", "customer_id", "customer_name", "salesperson_name",
                       "currency_code"),
                *_cols("exchange_rate", "sub_total", "tax_total", "total", "balance",
                       convert=_NUM),
                Column("created_time", to_timestamp),
            ),
            ChildSpec(
                "zoho.invoice_line_items", "line_items", "line_item_id",
                (
                    *_LINE_ITEM_COMMON,
                    Column("discount", _NUM),
                    Column("tax_id"),
                    *_cols("tax_percentage", "item_total", convert=_NUM),
                    Column("warehouse_id"),
                ),
            ),
            required=(("invoice_number",), ("line_items",)),
        ),
        MirrorSpec(
            "bills", "record", "zoho.bills", "bill_id",
            (
                *_cols("bill_number", "reference_number"),
                *_cols("date", "due_date", convert=to_date),
                *_cols("status", "vendor_id", "vendor_name", "currency_code"),
                *_cols("exchange_rate", "sub_total", "tax_total", "total", "balance",
                       convert=_NUM),
                Column("created_time", to_timestamp),
            ),
            ChildSpec(
                "zoho.bill_line_items", "line_items", "line_item_id",
                (
                    *_LINE_ITEM_COMMON,
                    Column("tax_id"),
                    *_cols("tax_percentage", "item_total", convert=_NUM),
                    *_cols("account_id", "warehouse_id"),
                ),
            ),
            required=(("bill_number",), ("line_items",)),
        ),
        MirrorSpec(
            "credit-notes", "record", "zoho.credit_notes", "creditnote_id",
            (
                *_cols("creditnote_number", "reference_number"),
                Column("date", to_date),
                *_cols("status", "customer_id", "customer_name", "currency_code"),
                *_cols("exchange_rate", "sub_total", "tax_total", "total", "balance",
                       convert=_NUM),
                Column("created_time", to_timestamp),
            ),
            ChildSpec(
                "zoho.credit_note_line_items", "line_items", "line_item_id",
                (
                    *_LINE_ITEM_COMMON,
                    Column("tax_id"),
                    *_cols("tax_percentage", "item_total", convert=_NUM),
                ),
            ),
            required=(("creditnote_number",), ("line_items",)),
        ),
        MirrorSpec(
            "prices", "record", "zoho.price_lists", "pricebook_id",
            (
                *_cols("name", "description", "currency_code", "pricebook_type"),
                Column("is_increase", to_boolean),
                Column("percentage", _NUM),
                *_cols("rounding_type", "sales_or_purchase_type", "status"),
                Column("is_default", to_boolean),
            ),
            ChildSpec(
                "zoho.price_list_items", "pricebook_items", "item_id",
                (Column("pricebook_item_id"), Column("pricebook_rate", _NUM)),
            ),
            required=(("name",),),
        ),
        MirrorSpec(
            "warehouses", "record", "zoho.warehouses", "warehouse_id",
            (
                *_cols("warehouse_name", "status"),
                Column("is_primary", to_boolean),
                *_cols("email", "phone"),
            ),
            versioned=False,
        ),
        MirrorSpec(
            "stock", "stock", "zoho.stock_levels", "item_id",
            (
                Column("warehouse_name"),
                *_cols(*STOCK_FIGURES, convert=_NUM),
            ),
            required=(tuple(name for name, _ in STOCK_LISTS),),
        ),
    )
}  # fmt: skip
"""Every mirrored entity, keyed by the catalogue name (``tds_common.catalogue.ENTITIES``)."""


def get_spec(entity: str) -> MirrorSpec:
    """The spec for ``entity``; ``KeyError`` for one TDS does not mirror."""
    return SPECS[entity]
