-- TDS monitoring queries (from the original TDS design; they keep working against the
-- contract's control tables). Run them with psql against DATABASE_URL, or paste them into
-- Grafana's PostgreSQL data source. Each query is preceded by a "-- name:" line; the test
-- tests/integration/processor/test_monitoring.py runs every one of them.
--
-- Statuses written by the processor:
--   tds_sync_queue.status   completed | dead_letter | pending (a dead letter being replayed)
--   tds_inbox_events.status completed (applied) | skipped (a newer version was already
--                           stored) | dead_letter

-- name: queue_status
-- Check queue status
SELECT status, COUNT(*)
FROM tds_sync_queue
GROUP BY status;

-- name: sync_delay_per_entity
-- Check sync delays (event received -> row committed)
SELECT entity_type,
       AVG(EXTRACT(EPOCH FROM (processing_completed_at - queued_at))) as avg_delay_seconds
FROM tds_sync_queue
WHERE status = 'completed'
  AND processing_completed_at IS NOT NULL
GROUP BY entity_type;

-- name: recent_failures
-- Check recent failures (the original query: status 'failed')
SELECT entity_type, error_message, COUNT(*) as count
FROM tds_sync_queue
WHERE status = 'failed'
  AND queued_at > NOW() - INTERVAL '24 hours'
GROUP BY entity_type, error_message
ORDER BY count DESC;

-- name: recent_dead_letters
-- The processor never leaves an event 'failed': a record that cannot be stored goes straight
-- to the DLQ as 'dead_letter' (infrastructure failures are retried, never recorded as failures).
-- This is the query to watch; replay with `python -m processor replay --queue-id <id>`.
SELECT entity_type, error_message, COUNT(*) as count, MIN(id) AS first_queue_id
FROM tds_sync_queue
WHERE status IN ('failed', 'dead_letter')
  AND queued_at > NOW() - INTERVAL '24 hours'
GROUP BY entity_type, error_message
ORDER BY count DESC;

-- name: webhook_success_rate
-- Check webhook delivery success rate
SELECT
  COUNT(*) as total_webhooks,
  SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) as successful,
  SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) as failed,
  ROUND(100.0 * SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) / COUNT(*), 2) as success_rate_percent
FROM tds_inbox_events
WHERE received_at > NOW() - INTERVAL '24 hours';

-- name: mirror_freshness
-- How recent each mirror table is (last row written, newest Zoho change seen).
SELECT 'products' AS entity, MAX(synced_at) AS last_synced, MAX(zoho_last_modified_time) AS newest_change FROM zoho.products
UNION ALL SELECT 'customers', MAX(synced_at), MAX(zoho_last_modified_time) FROM zoho.customers
UNION ALL SELECT 'invoices', MAX(synced_at), MAX(zoho_last_modified_time) FROM zoho.invoices
UNION ALL SELECT 'bills', MAX(synced_at), MAX(zoho_last_modified_time) FROM zoho.bills
UNION ALL SELECT 'credit-notes', MAX(synced_at), MAX(zoho_last_modified_time) FROM zoho.credit_notes
UNION ALL SELECT 'stock', MAX(synced_at), MAX(zoho_last_modified_time) FROM zoho.stock_levels
UNION ALL SELECT 'prices', MAX(synced_at), MAX(zoho_last_modified_time) FROM zoho.price_lists;
