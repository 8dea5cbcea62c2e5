-- A sync request's idempotency key: POST /api/zoho/bulk-sync with a key it has seen answers the
-- runs that key created instead of starting new ones (the ZohoSync operator sends one per
-- resource and schedule slot, so a crash between its POST and its status patch starts one run).
-- depends: 0012.control-table-indexes
-- transactional: false
--
-- The column is nullable without a default: adding it rewrites nothing, and the previous release
-- (which never names it) keeps inserting runs. The unique index is built CONCURRENTLY, so the
-- table keeps taking writes; only keyed runs are in it.

ALTER TABLE tds_sync_runs ADD COLUMN IF NOT EXISTS idempotency_key text;
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS tds_sync_runs_idempotency_key_idx
    ON tds_sync_runs (org_id, idempotency_key, entity_type) WHERE idempotency_key IS NOT NULL;
