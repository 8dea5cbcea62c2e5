"""The Zoho modules the simulator serves, and how each is named, listed and sorted.

One :class:`EntitySpec` per module (docs/zoho-api.md#entities-and-fields): its URL path, list and
detail keys, id field, the TDS name used in webhook URLs (docs/architecture.md#entities), which keys
a list summary drops, the sort columns and ``filter_by`` values a list accepts, its Books scope
module, and the code in its seeded ids. A new module is one entry here and one generator
(``zoho_sim.generate.GENERATORS``); scale keys, webhook entities and scopes derive from this table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final


@dataclass(frozen=True)
class EntitySpec:
    path: str
    list_key: str
    detail_key: str
    id_field: str
    tds_name: str
    label: str
    """Singular, capitalised, for "<Label> does not exist."."""
    report_name: str
    default_sort: str
    default_order: str
    sort_columns: frozenset[str]
    code: int
    """The two digits after the org in seeded ids (``46<org><code><index>``); unique."""
    filters: frozenset[str] = frozenset({"Status.All"})
    all_filter: str = "Status.All"
    """The ``filter_by`` that lists everything: a list without one applies it."""
    status_field: str = "status"
    """The field ``filter_by`` reads (``Status.Open`` → ``status``, ``PaymentMode.Cash`` →
    ``payment_mode``)."""
    seeded_statuses: tuple[str, ...] = ()
    """Statuses seeded records of a document module cycle through."""
    summary_drops: frozenset[str] = field(default_factory=frozenset)
    paginated: bool = True
    books_scope: str = "settings"
    """The Books OAuth scope module that covers it (docs/zoho-api.md#scopes)."""
    webhook: bool = True
    """Whether TDS receives webhooks for it (warehouses are synced only)."""


_TIMES: Final = frozenset({"created_time", "last_modified_time"})
_DOC_DROPS: Final = frozenset(
    {"line_items", "taxes", "billing_address", "shipping_address", "notes", "terms", "documents"}
)

SPECS: Final[dict[str, EntitySpec]] = {
    spec.path: spec
    for spec in (
        EntitySpec(
            path="items",
            list_key="items",
            detail_key="item",
            id_field="item_id",
            tds_name="products",
            code=11,
            label="Item",
            report_name="Items",
            default_sort="name",
            default_order="A",
            sort_columns=_TIMES
            | {"name", "sku", "rate", "purchase_rate", "reorder_level", "stock_on_hand"},
            filters=frozenset(
                {"Status.All", "Status.Active", "Status.Inactive", "Status.Lowstock"}
            ),
            summary_drops=frozenset({"warehouses", "custom_field_hash", "purchase_description"}),
        ),
        EntitySpec(
            path="contacts",
            list_key="contacts",
            detail_key="contact",
            id_field="contact_id",
            tds_name="customers",
            code=12,
            books_scope="contacts",
            label="Contact",
            report_name="Contacts",
            default_sort="contact_name",
            default_order="A",
            sort_columns=_TIMES
            | {"contact_name", "first_name", "last_name", "email", "outstanding_receivable_amount"},
            filters=frozenset(
                {
                    "Status.All",
                    "Status.Active",
                    "Status.Inactive",
                    "Status.Customers",
                    "Status.Vendors",
                }
            ),
            summary_drops=frozenset(
                {"billing_address", "shipping_address", "contact_persons", "notes"}
            ),
        ),
        EntitySpec(
            path="invoices",
            list_key="invoices",
            detail_key="invoice",
            id_field="invoice_id",
            tds_name="invoices",
            code=13,
            books_scope="invoices",
            seeded_statuses=(
                "draft",
                "sent",
                "viewed",
                "overdue",
                "paid",
                "partially_paid",
                "void",
            ),
            label="Invoice",
            report_name="Invoices",
            default_sort="created_time",
            default_order="D",
            sort_columns=_TIMES
            | {"customer_name", "invoice_number", "date", "due_date", "total", "balance"},
            filters=frozenset(
                {
                    "Status.All",
                    "Status.Sent",
                    "Status.Draft",
                    "Status.OverDue",
                    "Status.Paid",
                    "Status.Void",
                    "Status.Unpaid",
                    "Status.PartiallyPaid",
                    "Status.Viewed",
                }
            ),
            summary_drops=_DOC_DROPS,
        ),
        EntitySpec(
            path="bills",
            list_key="bills",
            detail_key="bill",
            id_field="bill_id",
            tds_name="bills",
            code=14,
            books_scope="bills",
            seeded_statuses=("draft", "open", "overdue", "paid", "partially_paid", "void"),
            label="Bill",
            report_name="Bills",
            default_sort="created_time",
            default_order="D",
            sort_columns=_TIMES | {"vendor_name", "bill_number", "date", "due_date", "total"},
            filters=frozenset(
                {
                    "Status.All",
                    "Status.Open",
                    "Status.Paid",
                    "Status.OverDue",
                    "Status.Void",
                    "Status.PartiallyPaid",
                    "Status.Draft",
                }
            ),
            summary_drops=_DOC_DROPS,
        ),
        EntitySpec(
            path="creditnotes",
            list_key="creditnotes",
            detail_key="creditnote",
            id_field="creditnote_id",
            tds_name="credit-notes",
            code=15,
            books_scope="creditnotes",
            seeded_statuses=("draft", "open", "closed", "void"),
            label="Credit Note",
            report_name="Credit Notes",
            default_sort="created_time",
            default_order="D",
            sort_columns=_TIMES | {"customer_name", "creditnote_number", "date", "total"},
            filters=frozenset(
                {"Status.All", "Status.Open", "Status.Closed", "Status.Void", "Status.Draft"}
            ),
            summary_drops=_DOC_DROPS,
        ),
        EntitySpec(
            path="salesorders",
            list_key="salesorders",
            detail_key="salesorder",
            id_field="salesorder_id",
            tds_name="sales-orders",
            code=18,
            books_scope="salesorders",
            seeded_statuses=("draft", "open", "invoiced", "partially_invoiced", "void", "closed"),
            label="Sales Order",
            report_name="Sales Orders",
            default_sort="created_time",
            default_order="D",
            sort_columns=_TIMES
            | {"customer_name", "salesorder_number", "date", "shipment_date", "total"},
            filters=frozenset(
                {
                    "Status.All",
                    "Status.Draft",
                    "Status.Open",
                    "Status.Invoiced",
                    "Status.PartiallyInvoiced",
                    "Status.Void",
                    "Status.Closed",
                }
            ),
            summary_drops=_DOC_DROPS,
        ),
        EntitySpec(
            path="purchaseorders",
            list_key="purchaseorders",
            detail_key="purchaseorder",
            id_field="purchaseorder_id",
            tds_name="purchase-orders",
            code=19,
            books_scope="purchaseorders",
            seeded_statuses=("draft", "open", "billed", "partially_billed", "cancelled", "closed"),
            label="Purchase Order",
            report_name="Purchase Orders",
            default_sort="created_time",
            default_order="D",
            sort_columns=_TIMES
            | {"vendor_name", "purchaseorder_number", "date", "delivery_date", "total"},
            filters=frozenset(
                {
                    "Status.All",
                    "Status.Draft",
                    "Status.Open",
                    "Status.Billed",
                    "Status.PartiallyBilled",
                    "Status.Cancelled",
                    "Status.Closed",
                }
            ),
            summary_drops=_DOC_DROPS,
        ),
        EntitySpec(
            path="customerpayments",
            list_key="customerpayments",
            detail_key="payment",
            id_field="payment_id",
            tds_name="customer-payments",
            code=20,
            books_scope="customerpayments",
            label="Payment",
            report_name="Customer Payments",
            default_sort="created_time",
            default_order="D",
            sort_columns=_TIMES | {"customer_name", "payment_number", "date", "amount"},
            # Payments are filtered by mode; they have no status that hides any.
            filters=frozenset(
                {
                    "PaymentMode.All",
                    "PaymentMode.Check",
                    "PaymentMode.Cash",
                    "PaymentMode.BankTransfer",
                    "PaymentMode.CreditCard",
                    "PaymentMode.Others",
                }
            ),
            all_filter="PaymentMode.All",
            status_field="payment_mode",
            # Whether a list summary carries the applied invoices is UNCONFIRMED: the stricter
            # variant (they come with the detail only, like line items) is simulated.
            summary_drops=frozenset({"invoices", "custom_fields"}),
        ),
        EntitySpec(
            path="pricebooks",
            list_key="pricebooks",
            detail_key="pricebook",
            id_field="pricebook_id",
            tds_name="prices",
            code=16,
            label="Price List",
            report_name="Price Lists",
            default_sort="name",
            default_order="A",
            sort_columns=_TIMES | {"name"},
            filters=frozenset({"Status.All", "Status.Active", "Status.Inactive"}),
            summary_drops=frozenset({"pricebook_items"}),
        ),
        EntitySpec(
            path="warehouses",
            list_key="warehouses",
            detail_key="warehouse",
            id_field="warehouse_id",
            tds_name="warehouses",
            code=17,
            webhook=False,
            label="Warehouse",
            report_name="Warehouses",
            default_sort="warehouse_name",
            default_order="A",
            sort_columns=frozenset({"warehouse_name"}),
            paginated=False,
        ),
    )
}

TDS_NAMES: Final[dict[str, str]] = {spec.tds_name: spec.path for spec in SPECS.values()}
ENTITY_CODES: Final[dict[str, int]] = {spec.path: spec.code for spec in SPECS.values()}


def resolve(name: str) -> EntitySpec:
    """A Zoho path (``creditnotes``) or TDS name (``credit-notes``) → its spec."""
    spec = SPECS.get(name) or SPECS.get(TDS_NAMES.get(name, ""))
    if spec is None:
        known = sorted({*SPECS, *TDS_NAMES})
        raise KeyError(f"unknown entity {name!r}; known: {', '.join(known)}")
    return spec


def status_matches(spec: EntitySpec, record: dict[str, object], filter_by: str) -> bool:
    """Whether ``record`` passes ``filter_by`` (``Status.All``, ``Status.Active`` …)."""
    wanted = filter_by.split(".", 1)[-1].lower()
    if wanted == "all":
        return True
    if wanted == "customers":
        return record.get("contact_type") == "customer"
    if wanted == "vendors":
        return record.get("contact_type") == "vendor"
    if wanted == "unpaid":
        return record.get("status") in {"sent", "viewed", "overdue", "partially_paid", "unpaid"}
    if wanted == "lowstock":
        stock = record.get("stock_on_hand")
        level = record.get("reorder_level")
        return isinstance(stock, int | float) and isinstance(level, int | float) and stock <= level
    value = str(record.get(spec.status_field, "")).lower()
    return value.replace("_", "").replace(" ", "") == wanted
