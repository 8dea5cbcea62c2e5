-- An index for the processor's echo check (tds_common/echo.py): every batch of pushed upserts
-- looks up applied outbox rows by (org_id, entity, zoho_id). Without it each batch scanned the
-- whole outbox, which keeps 30 days of applied writes, so every batch got slower as the ERP
-- wrote more.
-- depends: 0014.replay-and-queue-counts
-- transactional: false
--
-- Additive only: one partial index, built CONCURRENTLY (writes go on meanwhile); IF NOT EXISTS
-- makes a retried run a no-op. The previous release reads the same rows and is unaffected.

CREATE INDEX CONCURRENTLY IF NOT EXISTS tds_outbox_applied_by_record
    ON tds_outbox (org_id, entity, zoho_id) WHERE status = 'applied';
