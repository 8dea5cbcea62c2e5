-- TDS monitoring queries (from the original TDS design; they keep working against the
-- contract's control tables). Run them with psql against DATABASE_URL, or paste them into
-- Grafana's PostgreSQL data source. Each query is preceded by a "-- name:" line; the test
-- tests/integration/processor/test_monitoring.py runs every one of them.
--
-- Statuses written by the processor:
--   tds_sync_queue.status   completed | dead_letter | pending (a dead letter being replayed)
--   tds_inbox_events.status completed (applied) | skipped (a newer version was already
--                           stored) | dead_letter
-- A failed event is a dead letter: the processor never leaves a row 'failed' (infrastructure
-- failures are waited out, a record's own failures are retried a bounded number of times and
-- then parked as a dead letter with reason retries_exhausted). The queries below that count
-- failures therefore count 'failed' and 'dead_letter' alike. Events failing right now (before
-- they are parked) are in tds_processor_attempts.

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
-- Check recent failures (the original query, counting dead letters as the failures they are)
SELECT entity_type, error_message, COUNT(*) as count
FROM tds_sync_queue
WHERE status IN ('failed', 'dead_letter')
  AND queued_at > NOW() - INTERVAL '24 hours'
GROUP BY entity_type, error_message
ORDER BY count DESC;

-- name: recent_dead_letters
-- Dead letters with the first queue id of each kind, to replay them once the cause is fixed:
-- `python -m processor replay --queue-id <id>` (or --entity, --since, --all).
SELECT entity_type, error_message, COUNT(*) as count, MIN(id) AS first_queue_id
FROM tds_sync_queue
WHERE status IN ('failed', 'dead_letter')
  AND queued_at > NOW() - INTERVAL '24 hours'
GROUP BY entity_type, error_message
ORDER BY count DESC;

-- name: failing_now
-- Events failing right now on their own (a proxy 5xx for one id, a missing scope, a record
-- that cannot be rendered): tried again with a growing wait, parked after
-- PROCESSOR_CONSUMER__MAX_ATTEMPTS. Their partition waits behind them meanwhile.
SELECT entity_type, entity_id, attempts, last_error, first_failed_at, last_failed_at,
       kafka_partition, kafka_offset
FROM tds_processor_attempts
ORDER BY first_failed_at;

-- name: webhook_success_rate
-- Check webhook delivery success rate
SELECT
  COUNT(*) as total_webhooks,
  SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) as successful,
  SUM(CASE WHEN status IN ('failed', 'dead_letter') THEN 1 ELSE 0 END) as failed,
  ROUND(100.0 * SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) / COUNT(*), 2) as success_rate_percent
FROM tds_inbox_events
WHERE received_at > NOW() - INTERVAL '24 hours';

-- name: mirror_freshness
-- How recent each mirror table is (last row written, newest Zoho change seen).
-- Generated from the entity catalogue: python -m devstack.entity_lists (make entity-lists).
SELECT 'products' AS entity, MAX(synced_at) AS last_synced, MAX(zoho_last_modified_time) AS newest_change FROM zoho.products
UNION ALL SELECT 'customers', MAX(synced_at), MAX(zoho_last_modified_time) FROM zoho.customers
UNION ALL SELECT 'invoices', MAX(synced_at), MAX(zoho_last_modified_time) FROM zoho.invoices
UNION ALL SELECT 'bills', MAX(synced_at), MAX(zoho_last_modified_time) FROM zoho.bills
UNION ALL SELECT 'credit-notes', MAX(synced_at), MAX(zoho_last_modified_time) FROM zoho.credit_notes
UNION ALL SELECT 'sales-orders', MAX(synced_at), MAX(zoho_last_modified_time) FROM zoho.sales_orders
UNION ALL SELECT 'purchase-orders', MAX(synced_at), MAX(zoho_last_modified_time) FROM zoho.purchase_orders
UNION ALL SELECT 'customer-payments', MAX(synced_at), MAX(zoho_last_modified_time) FROM zoho.customer_payments
UNION ALL SELECT 'stock', MAX(synced_at), MAX(zoho_last_modified_time) FROM zoho.stock_levels
UNION ALL SELECT 'prices', MAX(synced_at), MAX(zoho_last_modified_time) FROM zoho.price_lists;
