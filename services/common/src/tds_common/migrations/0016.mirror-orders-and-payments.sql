-- mirror: sales orders, purchase orders and customer payments (Books), with their line items and
-- the invoices a payment is applied to (docs/architecture.md#mirror-tables).
-- depends: 0006.mirror-observations 0008.bulk-sync-completeness
-- Additive only (new tables): the previous release neither reads nor writes them.
--
-- The typed columns are the catalogue's (tds_common/catalogue.py), checked against this schema
-- by tests/integration/common/test_catalogue_schema.py. Every mirror table carries the common
-- tail, observed_at/observed_by included (0006 added them to the older tables).

CREATE TABLE IF NOT EXISTS zoho.sales_orders (
    org_id                  text NOT NULL,
    salesorder_id           text NOT NULL,
    salesorder_number       text,
    reference_number        text,
    date                    date,
    shipment_date           date,
    status                  text,
    customer_id             text,
    customer_name           text,
    salesperson_name        text,
    currency_code           text,
    exchange_rate           numeric,
    sub_total               numeric,
    tax_total               numeric,
    total                   numeric,
    created_time            timestamptz,
    raw                     jsonb NOT NULL,
    zoho_last_modified_time timestamptz,
    source                  text NOT NULL,
    synced_at               timestamptz NOT NULL DEFAULT now(),
    deleted_at              timestamptz,
    observed_at             timestamptz,
    observed_by             text CHECK (observed_by IN ('read', 'push')),
    PRIMARY KEY (org_id, salesorder_id)
);
CREATE INDEX IF NOT EXISTS sales_orders_customer_idx ON zoho.sales_orders (org_id, customer_id);
CREATE INDEX IF NOT EXISTS sales_orders_modified_idx
    ON zoho.sales_orders (org_id, zoho_last_modified_time);
CREATE INDEX IF NOT EXISTS sales_orders_details_pending_idx
    ON zoho.sales_orders (org_id, zoho_last_modified_time DESC)
    WHERE deleted_at IS NULL AND NOT (raw ? 'line_items');

CREATE TABLE IF NOT EXISTS zoho.sales_order_line_items (
    org_id                  text NOT NULL,
    salesorder_id           text NOT NULL,
    line_item_id            text NOT NULL,
    item_id                 text,
    name                    text,
    description             text,
    item_order              integer,
    rate                    numeric,
    quantity                numeric,
    unit                    text,
    discount                numeric,
    tax_id                  text,
    tax_percentage          numeric,
    item_total              numeric,
    warehouse_id            text,
    raw                     jsonb NOT NULL,
    zoho_last_modified_time timestamptz,
    source                  text NOT NULL,
    synced_at               timestamptz NOT NULL DEFAULT now(),
    deleted_at              timestamptz,
    observed_at             timestamptz,
    observed_by             text CHECK (observed_by IN ('read', 'push')),
    PRIMARY KEY (org_id, salesorder_id, line_item_id)
);
CREATE INDEX IF NOT EXISTS sales_order_line_items_item_idx
    ON zoho.sales_order_line_items (org_id, item_id);

CREATE TABLE IF NOT EXISTS zoho.purchase_orders (
    org_id                  text NOT NULL,
    purchaseorder_id        text NOT NULL,
    purchaseorder_number    text,
    reference_number        text,
    date                    date,
    delivery_date           date,
    status                  text,
    vendor_id               text,
    vendor_name             text,
    currency_code           text,
    exchange_rate           numeric,
    sub_total               numeric,
    tax_total               numeric,
    total                   numeric,
    created_time            timestamptz,
    raw                     jsonb NOT NULL,
    zoho_last_modified_time timestamptz,
    source                  text NOT NULL,
    synced_at               timestamptz NOT NULL DEFAULT now(),
    deleted_at              timestamptz,
    observed_at             timestamptz,
    observed_by             text CHECK (observed_by IN ('read', 'push')),
    PRIMARY KEY (org_id, purchaseorder_id)
);
CREATE INDEX IF NOT EXISTS purchase_orders_vendor_idx ON zoho.purchase_orders (org_id, vendor_id);
CREATE INDEX IF NOT EXISTS purchase_orders_modified_idx
    ON zoho.purchase_orders (org_id, zoho_last_modified_time);
CREATE INDEX IF NOT EXISTS purchase_orders_details_pending_idx
    ON zoho.purchase_orders (org_id, zoho_last_modified_time DESC)
    WHERE deleted_at IS NULL AND NOT (raw ? 'line_items');

CREATE TABLE IF NOT EXISTS zoho.purchase_order_line_items (
    org_id                  text NOT NULL,
    purchaseorder_id        text NOT NULL,
    line_item_id            text NOT NULL,
    item_id                 text,
    name                    text,
    description             text,
    item_order              integer,
    rate                    numeric,
    quantity                numeric,
    unit                    text,
    tax_id                  text,
    tax_percentage          numeric,
    item_total              numeric,
    account_id              text,
    warehouse_id            text,
    raw                     jsonb NOT NULL,
    zoho_last_modified_time timestamptz,
    source                  text NOT NULL,
    synced_at               timestamptz NOT NULL DEFAULT now(),
    deleted_at              timestamptz,
    observed_at             timestamptz,
    observed_by             text CHECK (observed_by IN ('read', 'push')),
    PRIMARY KEY (org_id, purchaseorder_id, line_item_id)
);
CREATE INDEX IF NOT EXISTS purchase_order_line_items_item_idx
    ON zoho.purchase_order_line_items (org_id, item_id);

CREATE TABLE IF NOT EXISTS zoho.customer_payments (
    org_id                  text NOT NULL,
    payment_id              text NOT NULL,
    payment_number          text,
    reference_number        text,
    payment_mode            text,
    description             text,
    date                    date,
    customer_id             text,
    customer_name           text,
    currency_code           text,
    exchange_rate           numeric,
    amount                  numeric,
    unused_amount           numeric,
    bank_charges            numeric,
    created_time            timestamptz,
    raw                     jsonb NOT NULL,
    zoho_last_modified_time timestamptz,
    source                  text NOT NULL,
    synced_at               timestamptz NOT NULL DEFAULT now(),
    deleted_at              timestamptz,
    observed_at             timestamptz,
    observed_by             text CHECK (observed_by IN ('read', 'push')),
    PRIMARY KEY (org_id, payment_id)
);
CREATE INDEX IF NOT EXISTS customer_payments_customer_idx
    ON zoho.customer_payments (org_id, customer_id);
CREATE INDEX IF NOT EXISTS customer_payments_modified_idx
    ON zoho.customer_payments (org_id, zoho_last_modified_time);
CREATE INDEX IF NOT EXISTS customer_payments_details_pending_idx
    ON zoho.customer_payments (org_id, zoho_last_modified_time DESC)
    WHERE deleted_at IS NULL AND NOT (raw ? 'invoices');

-- One row per invoice the payment is applied to (the detail's invoices[]).
CREATE TABLE IF NOT EXISTS zoho.customer_payment_invoices (
    org_id                  text NOT NULL,
    payment_id              text NOT NULL,
    invoice_id              text NOT NULL,
    invoice_number          text,
    date                    date,
    invoice_amount          numeric,
    amount_applied          numeric,
    balance_amount          numeric,
    raw                     jsonb NOT NULL,
    zoho_last_modified_time timestamptz,
    source                  text NOT NULL,
    synced_at               timestamptz NOT NULL DEFAULT now(),
    deleted_at              timestamptz,
    observed_at             timestamptz,
    observed_by             text CHECK (observed_by IN ('read', 'push')),
    PRIMARY KEY (org_id, payment_id, invoice_id)
);
CREATE INDEX IF NOT EXISTS customer_payment_invoices_invoice_idx
    ON zoho.customer_payment_invoices (org_id, invoice_id);
