-- Indexes for replay, /api/zoho/sync/stats and retention, built without blocking writes.
-- depends: 0011.inbox-status-validate 0004.bulk-sync-seen
-- transactional: false
--
-- CREATE INDEX CONCURRENTLY cannot run in a transaction, hence this file's header; each
-- statement commits on its own. A build that fails half way leaves an INVALID index that
-- IF NOT EXISTS would skip: tds_common.migrate refuses to finish while one exists.

-- A replayed dead letter finds its queue row by inbox event (built by 0003 before 0011).
CREATE INDEX CONCURRENTLY IF NOT EXISTS tds_sync_queue_inbox_event_idx
    ON tds_sync_queue (inbox_event_id);
-- /api/zoho/sync/stats and the delay query read recent completions (built by 0003 before 0011).
CREATE INDEX CONCURRENTLY IF NOT EXISTS tds_sync_queue_completed_idx
    ON tds_sync_queue (processing_completed_at) WHERE status = 'completed';
-- Retention: finished runs by age, oldest first.
CREATE INDEX CONCURRENTLY IF NOT EXISTS tds_sync_runs_finished_idx
    ON tds_sync_runs (completed_at) WHERE status IN ('completed', 'failed', 'cancelled');
