"""The entity catalogue: every entity TDS mirrors, stated once (docs/architecture.md#entities).

One :class:`EntitySpec` per entity says where Zoho serves it (products, path, keys, id field),
which Zoho field lands in which column of which mirror table (docs/architecture.md#mirror-tables),
and what a complete record carries. Everything else derives from this table: ingest's webhook
routes, zoho-proxy's routing, bulk-sync's lists, details and verification, the processor's
thin-event check, the ``ZohoSync`` CRD's entity enum (``python -m devstack.crd_entities``) and
the tests' entity tables. Adding an entity: docs/adding-an-entity.md.

Every mirror table also gets ``org_id``, its id columns, ``raw``, ``zoho_last_modified_time``,
``source``, ``synced_at``, ``deleted_at``, ``observed_at`` and ``observed_by``; those are not
listed here. Stock is the one entity without a parent row: the Inventory item detail's
``warehouses[]`` (``warehouse_*`` fields) or ``locations[]`` (``location_*`` fields) become
``zoho.stock_levels`` rows per item and warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from tds_common.columns import (
    ChildSpec,
    Column,
    columns,
    to_boolean,
    to_date,
    to_integer,
    to_numeric,
    to_timestamp,
)

Product = Literal["books", "inventory"]
Kind = Literal["record", "stock"]


@dataclass(frozen=True, eq=False)  # one per entity: identity is equality, and hashes cheap
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
    """The record's id field, e.g. ``creditnote_id``; also its id column in the mirror."""
    products: tuple[Product, ...]
    """Zoho products that serve it, in priority order (Books first, Inventory fallback)."""
    table: str
    """The parent mirror table, e.g. ``zoho.credit_notes``."""
    columns: tuple[Column, ...]
    child: ChildSpec | None = None
    """Line items (or the like) that only a detail read or a full webhook carries."""
    required: tuple[tuple[str, ...], ...] = ()
    """Field groups a complete record has (one of each group); otherwise the event is *thin*
    and is completed through zoho-proxy before it is written."""
    kind: Kind = "record"
    versioned: bool = True
    """Whether records carry ``last_modified_time`` (warehouses do not)."""
    webhook: bool = True
    """Whether ingest accepts webhooks for it (warehouses are sync-only)."""
    paginated: bool = True
    """Whether its list is paged (warehouses come as one unpaginated list)."""
    list_filter: str | None = "Status.All"
    """The ``filter_by`` bulk-sync lists it with by default; None: Zoho's default (all)."""

    @property
    def verified(self) -> bool:
        """Whether incremental runs compare the mirror with Zoho's list (bulk-sync verify)."""
        return self.kind == "record" and self.versioned and self.paginated

    @property
    def tables(self) -> tuple[str, ...]:
        """Every mirror table the entity writes, parent first."""
        return (self.table, self.child.table) if self.child else (self.table,)


_NUM = to_numeric

_LINE_ITEM_COMMON: Final = (
    *columns("item_id", "name", "description"),
    Column("item_order", to_integer),
    *columns("rate", "quantity", convert=_NUM),
    Column("unit"),
)

_DOCUMENT_AMOUNTS: Final = columns("exchange_rate", "sub_total", "tax_total", "total", convert=_NUM)


def _line_items(table: str, *extra: Column) -> ChildSpec:
    return ChildSpec(table, "line_items", "line_item_id", (*_LINE_ITEM_COMMON, *extra))


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

_CATALOGUE: Final = (
    EntitySpec(
        name="products",
        module_key="item",
        list_key="items",
        path="/items",
        id_field="item_id",
        products=("books", "inventory"),
        table="zoho.products",
        columns=(
            Column("name", fields=("name", "item_name")),
            *columns("sku", "status", "item_type", "product_type", "unit", "description"),
            *columns("rate", "purchase_rate", convert=_NUM),
            *columns("tax_id", "tax_name"),
            Column("tax_percentage", _NUM),
            Column("track_inventory", to_boolean),
            *columns("stock_on_hand", "available_stock", "reorder_level", convert=_NUM),
            *columns("upc", "ean", "part_number", "vendor_id", "vendor_name", "group_id"),
            Column("group_name"),
            Column("created_time", to_timestamp),
        ),
        required=(("name", "item_name"),),
    ),
    EntitySpec(
        name="customers",
        module_key="contact",
        list_key="contacts",
        path="/contacts",
        id_field="contact_id",
        products=("books",),
        table="zoho.customers",
        columns=(
            *columns("contact_name", "company_name", "contact_type", "customer_sub_type"),
            *columns("status", "email", "phone", "mobile", "first_name", "last_name"),
            Column("currency_code"),
            Column("payment_terms", to_integer),
            *columns(
                "outstanding_receivable_amount", "unused_credits_receivable_amount", convert=_NUM
            ),
            Column("created_time", to_timestamp),
        ),
        required=(("contact_name",),),
    ),
    EntitySpec(
        name="invoices",
        module_key="invoice",
        list_key="invoices",
        path="/invoices",
        id_field="invoice_id",
        products=("books",),
        table="zoho.invoices",
        columns=(
            *columns("invoice_number", "reference_number"),
            *columns("date", "due_date", convert=to_date),
            *columns("status", "customer_id", "customer_name", "salesperson_name"),
            Column("currency_code"),
            *_DOCUMENT_AMOUNTS,
            Column("balance", _NUM),
            Column("created_time", to_timestamp),
        ),
        child=_line_items(
            "zoho.invoice_line_items",
            Column("discount", _NUM),
            Column("tax_id"),
            *columns("tax_percentage", "item_total", convert=_NUM),
            Column("warehouse_id"),
        ),
        required=(("invoice_number",), ("line_items",)),
    ),
    EntitySpec(
        name="bills",
        module_key="bill",
        list_key="bills",
        path="/bills",
        id_field="bill_id",
        products=("books",),
        table="zoho.bills",
        columns=(
            *columns("bill_number", "reference_number"),
            *columns("date", "due_date", convert=to_date),
            *columns("status", "vendor_id", "vendor_name", "currency_code"),
            *_DOCUMENT_AMOUNTS,
            Column("balance", _NUM),
            Column("created_time", to_timestamp),
        ),
        child=_line_items(
            "zoho.bill_line_items",
            Column("tax_id"),
            *columns("tax_percentage", "item_total", convert=_NUM),
            *columns("account_id", "warehouse_id"),
        ),
        required=(("bill_number",), ("line_items",)),
    ),
    EntitySpec(
        name="credit-notes",
        module_key="creditnote",
        list_key="creditnotes",
        path="/creditnotes",
        id_field="creditnote_id",
        products=("books",),
        table="zoho.credit_notes",
        columns=(
            *columns("creditnote_number", "reference_number"),
            Column("date", to_date),
            *columns("status", "customer_id", "customer_name", "currency_code"),
            *_DOCUMENT_AMOUNTS,
            Column("balance", _NUM),
            Column("created_time", to_timestamp),
        ),
        child=_line_items(
            "zoho.credit_note_line_items",
            Column("tax_id"),
            *columns("tax_percentage", "item_total", convert=_NUM),
        ),
        required=(("creditnote_number",), ("line_items",)),
    ),
    EntitySpec(
        name="sales-orders",
        module_key="salesorder",
        list_key="salesorders",
        path="/salesorders",
        id_field="salesorder_id",
        products=("books",),
        table="zoho.sales_orders",
        columns=(
            *columns("salesorder_number", "reference_number"),
            *columns("date", "shipment_date", convert=to_date),
            *columns("status", "customer_id", "customer_name", "salesperson_name"),
            Column("currency_code"),
            *_DOCUMENT_AMOUNTS,
            Column("created_time", to_timestamp),
        ),
        child=_line_items(
            "zoho.sales_order_line_items",
            Column("discount", _NUM),
            Column("tax_id"),
            *columns("tax_percentage", "item_total", convert=_NUM),
            Column("warehouse_id"),
        ),
        required=(("salesorder_number",), ("line_items",)),
    ),
    EntitySpec(
        name="purchase-orders",
        module_key="purchaseorder",
        list_key="purchaseorders",
        path="/purchaseorders",
        id_field="purchaseorder_id",
        products=("books",),
        table="zoho.purchase_orders",
        columns=(
            *columns("purchaseorder_number", "reference_number"),
            *columns("date", "delivery_date", convert=to_date),
            *columns("status", "vendor_id", "vendor_name", "currency_code"),
            *_DOCUMENT_AMOUNTS,
            Column("created_time", to_timestamp),
        ),
        child=_line_items(
            "zoho.purchase_order_line_items",
            Column("tax_id"),
            *columns("tax_percentage", "item_total", convert=_NUM),
            *columns("account_id", "warehouse_id"),
        ),
        required=(("purchaseorder_number",), ("line_items",)),
    ),
    EntitySpec(
        name="customer-payments",
        module_key="payment",
        list_key="customerpayments",
        path="/customerpayments",
        id_field="payment_id",
        products=("books",),
        table="zoho.customer_payments",
        columns=(
            *columns("payment_number", "reference_number", "payment_mode", "description"),
            Column("date", to_date),
            *columns("customer_id", "customer_name", "currency_code"),
            *columns("exchange_rate", "amount", "unused_amount", "bank_charges", convert=_NUM),
            Column("created_time", to_timestamp),
        ),
        # The invoices the payment is applied to; one row per invoice.
        child=ChildSpec(
            "zoho.customer_payment_invoices",
            "invoices",
            "invoice_id",
            (
                Column("invoice_number"),
                Column("date", to_date),
                *columns("invoice_amount", "amount_applied", "balance_amount", convert=_NUM),
            ),
        ),
        required=(("payment_number",), ("invoices",)),
        # Payments are filtered by mode, not status; Zoho's default lists every mode.
        list_filter=None,
    ),
    # Stock is the Inventory item detail's warehouses[]/locations[]; keyed by item_id.
    EntitySpec(
        name="stock",
        module_key="item",
        list_key="items",
        path="/items",
        id_field="item_id",
        products=("inventory",),
        table="zoho.stock_levels",
        columns=(Column("warehouse_name"), *columns(*STOCK_FIGURES, convert=_NUM)),
        required=(tuple(name for name, _ in STOCK_LISTS),),
        kind="stock",
    ),
    EntitySpec(
        name="prices",
        module_key="pricebook",
        list_key="pricebooks",
        path="/pricebooks",
        id_field="pricebook_id",
        products=("books",),
        table="zoho.price_lists",
        columns=(
            *columns("name", "description", "currency_code", "pricebook_type"),
            Column("is_increase", to_boolean),
            Column("percentage", _NUM),
            *columns("rounding_type", "sales_or_purchase_type", "status"),
            Column("is_default", to_boolean),
        ),
        child=ChildSpec(
            "zoho.price_list_items",
            "pricebook_items",
            "item_id",
            (Column("pricebook_item_id"), Column("pricebook_rate", _NUM)),
        ),
        required=(("name",),),
    ),
    EntitySpec(
        name="warehouses",
        module_key="warehouse",
        list_key="warehouses",
        path="/settings/warehouses",
        id_field="warehouse_id",
        products=("inventory",),
        table="zoho.warehouses",
        columns=(
            *columns("warehouse_name", "status"),
            Column("is_primary", to_boolean),
            *columns("email", "phone"),
        ),
        versioned=False,
        webhook=False,
        paginated=False,
    ),
)

ENTITIES: Final[dict[str, EntitySpec]] = {spec.name: spec for spec in _CATALOGUE}

WEBHOOK_ENTITIES: Final = tuple(name for name, spec in ENTITIES.items() if spec.webhook)


def get_entity(name: str) -> EntitySpec:
    """The spec for ``name``; ``KeyError`` for an unknown entity."""
    return ENTITIES[name]
