-- bulk-sync write-back: the ERP's transactional outbox and the local_ref <-> zoho_id mapping.
-- depends: 0001.initial-schema
-- Additive only (two new tables): the previous release runs against it unchanged.
--
-- The ERP inserts into tds_outbox in its own transaction (or through POST /api/zoho/writes);
-- bulk-sync's relay sends each row to Zoho through zoho-proxy. Writes of one (org_id, entity,
-- local_ref) apply in id order. Status moves are committed before (in_flight, with a lease)
-- and after the Zoho call, so a process killed mid-write leaves an in_flight row whose lease
-- runs out; the next relay re-checks it in Zoho before sending anything again.

CREATE TABLE tds_outbox (
    id                          bigserial PRIMARY KEY,
    org_id                      text NOT NULL,
    entity                      text NOT NULL
        CHECK (entity IN ('customers', 'products', 'invoices', 'bills', 'credit-notes')),
    op                          text NOT NULL CHECK (op IN ('create', 'update', 'delete')),
    local_ref                   text NOT NULL CHECK (local_ref <> ''),
    zoho_id                     text,
    payload                     jsonb NOT NULL DEFAULT '{}'::jsonb,
    idempotency_key             text NOT NULL CHECK (idempotency_key <> ''),
    expected_last_modified_time timestamptz,
    status                      text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'in_flight', 'applied', 'conflict', 'rejected', 'failed')),
    result                      jsonb,
    error                       text,
    attempts                    integer NOT NULL DEFAULT 0,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    applied_at                  timestamptz,
    -- the relay's own bookkeeping
    next_attempt_at             timestamptz NOT NULL DEFAULT now(),  -- backoff after a transient failure
    lease_until                 timestamptz,                         -- in_flight: owner's lease
    claim_id                    uuid,                                -- in_flight: which claim may finish it
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tds_outbox_idempotency UNIQUE (org_id, idempotency_key)
);

-- The relay's scan: open rows only, in order.
CREATE INDEX tds_outbox_open ON tds_outbox (id) WHERE status IN ('pending', 'in_flight');
-- Ordering per record: "is an earlier write of this local_ref still open?"
CREATE INDEX tds_outbox_by_ref ON tds_outbox (org_id, entity, local_ref, id);

CREATE TABLE tds_local_refs (
    org_id     text NOT NULL,
    entity     text NOT NULL,
    local_ref  text NOT NULL,
    zoho_id    text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, entity, local_ref),
    CONSTRAINT tds_local_refs_zoho_id UNIQUE (org_id, entity, zoho_id)
);
