-- TDS initial schema: the Zoho mirror (schema "zoho") and the control tables.
-- Contract: docs/architecture.md#entities and #control-tables. Forward-only; later changes must stay backward
-- compatible with the previous release (expand, then contract) so `helm rollback` keeps working.

CREATE SCHEMA IF NOT EXISTS zoho;

-- Every mirror table: org_id, the Zoho id(s) as text, typed columns people query, raw jsonb,
-- zoho_last_modified_time, source (webhook | books | inventory), synced_at, deleted_at.

CREATE TABLE zoho.products (
    org_id                  text NOT NULL,
    item_id                 text NOT NULL,
    name                    text,
    sku                     text,
    status                  text,
    item_type               text,
    product_type            text,
    unit                    text,
    description             text,
    rate                    numeric,
    purchase_rate           numeric,
    tax_id                  text,
    tax_name                text,
    tax_percentage          numeric,
    track_inventory         boolean,
    stock_on_hand           numeric,
    available_stock         numeric,
    reorder_level           numeric,
    upc                     text,
    ean                     text,
    part_number             text,
    vendor_id               text,
    vendor_name             text,
    group_id                text,
    group_name              text,
    created_time            timestamptz,
    raw                     jsonb NOT NULL,
    zoho_last_modified_time timestamptz,
    source                  text NOT NULL,
    synced_at               timestamptz NOT NULL DEFAULT now(),
    deleted_at              timestamptz,
    PRIMARY KEY (org_id, item_id)
);
CREATE INDEX products_sku_idx ON zoho.products (org_id, sku);
CREATE INDEX products_modified_idx ON zoho.products (org_id, zoho_last_modified_time);

CREATE TABLE zoho.customers (
    org_id                           text NOT NULL,
    contact_id                       text NOT NULL,
    contact_name                     text,
    company_name                     text,
    contact_type                     text,
    customer_sub_type                text,
    status                           text,
    email                            text,
    phone                            text,
    mobile                           text,
    first_name                       text,
    last_name                        text,
    currency_code                    text,
    payment_terms                    integer,
    outstanding_receivable_amount    numeric,
    unused_credits_receivable_amount numeric,
    created_time                     timestamptz,
    raw                              jsonb NOT NULL,
    zoho_last_modified_time          timestamptz,
    source                           text NOT NULL,
    synced_at                        timestamptz NOT NULL DEFAULT now(),
    deleted_at                       timestamptz,
    PRIMARY KEY (org_id, contact_id)
);
CREATE INDEX customers_email_idx ON zoho.customers (org_id, email);
CREATE INDEX customers_modified_idx ON zoho.customers (org_id, zoho_last_modified_time);

CREATE TABLE zoho.invoices (
    org_id                  text NOT NULL,
    invoice_id              text NOT NULL,
    invoice_number          text,
    reference_number        text,
    date                    date,
    due_date                date,
    status                  text,
    customer_id             text,
    customer_name           text,
    salesperson_name        text,
    currency_code           text,
    exchange_rate           numeric,
    sub_total               numeric,
    tax_total               numeric,
    total                   numeric,
    balance                 numeric,
    created_time            timestamptz,
    raw                     jsonb NOT NULL,
    zoho_last_modified_time timestamptz,
    source                  text NOT NULL,
    synced_at               timestamptz NOT NULL DEFAULT now(),
    deleted_at              timestamptz,
    PRIMARY KEY (org_id, invoice_id)
);
CREATE INDEX invoices_customer_idx ON zoho.invoices (org_id, customer_id);
CREATE INDEX invoices_modified_idx ON zoho.invoices (org_id, zoho_last_modified_time);

CREATE TABLE zoho.invoice_line_items (
    org_id                  text NOT NULL,
    invoice_id              text NOT NULL,
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
    PRIMARY KEY (org_id, invoice_id, line_item_id)
);
CREATE INDEX invoice_line_items_item_idx ON zoho.invoice_line_items (org_id, item_id);

CREATE TABLE zoho.bills (
    org_id                  text NOT NULL,
    bill_id                 text NOT NULL,
    bill_number             text,
    reference_number        text,
    date                    date,
    due_date                date,
    status                  text,
    vendor_id               text,
    vendor_name             text,
    currency_code           text,
    exchange_rate           numeric,
    sub_total               numeric,
    tax_total               numeric,
    total                   numeric,
    balance                 numeric,
    created_time            timestamptz,
    raw                     jsonb NOT NULL,
    zoho_last_modified_time timestamptz,
    source                  text NOT NULL,
    synced_at               timestamptz NOT NULL DEFAULT now(),
    deleted_at              timestamptz,
    PRIMARY KEY (org_id, bill_id)
);
CREATE INDEX bills_vendor_idx ON zoho.bills (org_id, vendor_id);
CREATE INDEX bills_modified_idx ON zoho.bills (org_id, zoho_last_modified_time);

CREATE TABLE zoho.bill_line_items (
    org_id                  text NOT NULL,
    bill_id                 text NOT NULL,
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
    PRIMARY KEY (org_id, bill_id, line_item_id)
);
CREATE INDEX bill_line_items_item_idx ON zoho.bill_line_items (org_id, item_id);

CREATE TABLE zoho.credit_notes (
    org_id                  text NOT NULL,
    creditnote_id           text NOT NULL,
    creditnote_number       text,
    reference_number        text,
    date                    date,
    status                  text,
    customer_id             text,
    customer_name           text,
    currency_code           text,
    exchange_rate           numeric,
    sub_total               numeric,
    tax_total               numeric,
    total                   numeric,
    balance                 numeric,
    created_time            timestamptz,
    raw                     jsonb NOT NULL,
    zoho_last_modified_time timestamptz,
    source                  text NOT NULL,
    synced_at               timestamptz NOT NULL DEFAULT now(),
    deleted_at              timestamptz,
    PRIMARY KEY (org_id, creditnote_id)
);
CREATE INDEX credit_notes_customer_idx ON zoho.credit_notes (org_id, customer_id);
CREATE INDEX credit_notes_modified_idx ON zoho.credit_notes (org_id, zoho_last_modified_time);

CREATE TABLE zoho.credit_note_line_items (
    org_id                  text NOT NULL,
    creditnote_id           text NOT NULL,
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
    raw                     jsonb NOT NULL,
    zoho_last_modified_time timestamptz,
    source                  text NOT NULL,
    synced_at               timestamptz NOT NULL DEFAULT now(),
    deleted_at              timestamptz,
    PRIMARY KEY (org_id, creditnote_id, line_item_id)
);

CREATE TABLE zoho.warehouses (
    org_id                  text NOT NULL,
    warehouse_id            text NOT NULL,
    warehouse_name          text,
    status                  text,
    is_primary              boolean,
    email                   text,
    phone                   text,
    raw                     jsonb NOT NULL,
    zoho_last_modified_time timestamptz,
    source                  text NOT NULL,
    synced_at               timestamptz NOT NULL DEFAULT now(),
    deleted_at              timestamptz,
    PRIMARY KEY (org_id, warehouse_id)
);

CREATE TABLE zoho.stock_levels (
    org_id                           text NOT NULL,
    item_id                          text NOT NULL,
    warehouse_id                     text NOT NULL,
    warehouse_name                   text,
    stock_on_hand                    numeric,
    available_stock                  numeric,
    actual_available_stock           numeric,
    committed_stock                  numeric,
    actual_committed_stock           numeric,
    available_for_sale_stock         numeric,
    actual_available_for_sale_stock  numeric,
    raw                              jsonb NOT NULL,
    zoho_last_modified_time          timestamptz,
    source                           text NOT NULL,
    synced_at                        timestamptz NOT NULL DEFAULT now(),
    deleted_at                       timestamptz,
    PRIMARY KEY (org_id, item_id, warehouse_id)
);
CREATE INDEX stock_levels_warehouse_idx ON zoho.stock_levels (org_id, warehouse_id);

CREATE TABLE zoho.price_lists (
    org_id                  text NOT NULL,
    pricebook_id            text NOT NULL,
    name                    text,
    description             text,
    currency_code           text,
    pricebook_type          text,
    is_increase             boolean,
    percentage              numeric,
    rounding_type           text,
    sales_or_purchase_type  text,
    status                  text,
    is_default              boolean,
    raw                     jsonb NOT NULL,
    zoho_last_modified_time timestamptz,
    source                  text NOT NULL,
    synced_at               timestamptz NOT NULL DEFAULT now(),
    deleted_at              timestamptz,
    PRIMARY KEY (org_id, pricebook_id)
);

CREATE TABLE zoho.price_list_items (
    org_id                  text NOT NULL,
    pricebook_id            text NOT NULL,
    item_id                 text NOT NULL,
    pricebook_item_id       text,
    pricebook_rate          numeric,
    raw                     jsonb NOT NULL,
    zoho_last_modified_time timestamptz,
    source                  text NOT NULL,
    synced_at               timestamptz NOT NULL DEFAULT now(),
    deleted_at              timestamptz,
    PRIMARY KEY (org_id, pricebook_id, item_id)
);
CREATE INDEX price_list_items_item_idx ON zoho.price_list_items (org_id, item_id);

-- Control tables (names and columns from the original TDS design; users' monitoring SQL
-- reads them). Extra columns are additions, never renames.

CREATE TABLE tds_inbox_events (
    id            bigserial PRIMARY KEY,
    event_id      text NOT NULL,
    source_type   text NOT NULL,              -- webhook | books | inventory | replay
    entity_type   text NOT NULL,              -- products, customers, invoices, ...
    entity_id     text NOT NULL,              -- the Zoho id
    event_type    text NOT NULL,              -- upsert | delete
    raw_payload   jsonb,
    received_at   timestamptz NOT NULL DEFAULT now(),
    processed_at  timestamptz,
    status        text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'processed', 'skipped', 'failed', 'dead_letter')),
    org_id        text NOT NULL,
    last_modified_time timestamptz,
    dedup_key     text NOT NULL,              -- org:entity:id:last_modified_time
    error_message text,
    CONSTRAINT tds_inbox_events_dedup_key UNIQUE (dedup_key)
);
CREATE INDEX tds_inbox_events_received_idx ON tds_inbox_events (received_at);
CREATE INDEX tds_inbox_events_entity_idx ON tds_inbox_events (entity_type, status);

CREATE TABLE tds_sync_queue (
    id                        bigserial PRIMARY KEY,
    inbox_event_id            bigint REFERENCES tds_inbox_events (id) ON DELETE SET NULL,
    entity_type               text NOT NULL,
    entity_id                 text,           -- our key: org:entity:zoho_id
    zoho_entity_id            text,
    priority                  integer NOT NULL DEFAULT 5,
    status                    text NOT NULL DEFAULT 'pending'
                              CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'dead_letter')),
    retry_count               integer NOT NULL DEFAULT 0,
    error_message             text,
    queued_at                 timestamptz NOT NULL DEFAULT now(),
    processing_started_at     timestamptz,
    processing_completed_at   timestamptz,
    org_id                    text,
    kafka_topic               text,
    kafka_partition           integer,
    kafka_offset              bigint
);
CREATE INDEX tds_sync_queue_status_idx ON tds_sync_queue (status, entity_type);
CREATE INDEX tds_sync_queue_queued_idx ON tds_sync_queue (queued_at);

CREATE TABLE tds_sync_runs (
    id               uuid PRIMARY KEY,
    run_type         text NOT NULL,            -- full | incremental | selective | reconcile
    entity_type      text NOT NULL,            -- one entity, or "all"
    source_type      text NOT NULL,            -- books | inventory | mixed
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    total_items      integer NOT NULL DEFAULT 0,
    processed_items  integer NOT NULL DEFAULT 0,
    failed_items     integer NOT NULL DEFAULT 0,
    started_at       timestamptz,
    completed_at     timestamptz,
    error_log        text,
    org_id           text NOT NULL,
    requested_at     timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    checkpoint       jsonb NOT NULL DEFAULT '{}'::jsonb,  -- per-entity cursor to resume from
    api_calls        integer NOT NULL DEFAULT 0,
    request          jsonb                                -- the tds.sync.requests command
);
CREATE INDEX tds_sync_runs_status_idx ON tds_sync_runs (status, requested_at);
