-- zoho-proxy: calls in flight move into the budget row, with an optimistic version counter.
-- depends: 0002.zoho-proxy-state
-- One row read and one conditional write per decision (instead of a row lock held across a
-- separate lease table) keeps the shared budget cheap enough to spend 100 calls per window
-- across replicas. zoho_proxy_inflight was never used by a release, so it is dropped here.

ALTER TABLE zoho_proxy_budgets
    ADD COLUMN version   bigint NOT NULL DEFAULT 0,
    ADD COLUMN in_flight jsonb  NOT NULL DEFAULT '{}'::jsonb;  -- lease id -> expiry (Unix s)

DROP TABLE zoho_proxy_inflight;
