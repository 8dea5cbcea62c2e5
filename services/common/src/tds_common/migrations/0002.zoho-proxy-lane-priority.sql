-- zoho-proxy: callers of a higher lane waiting on any replica hold back lower lanes everywhere.
-- depends: 0002.zoho-proxy-inflight-in-row
-- Webhook follow-up reads (processor) and bulk pages (bulk-sync) usually reach different
-- replicas; a per-replica queue alone would let bulk win half the freed slots.

ALTER TABLE zoho_proxy_budgets
    ADD COLUMN lane_waiting jsonb NOT NULL DEFAULT '{}'::jsonb;  -- lane -> until (Unix s)
