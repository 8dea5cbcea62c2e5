-- processor: inbox status 'completed' and indexes for the processor's lookups.
-- depends: 0001.initial-schema
--
-- The users' monitoring SQL from the original design counts successful webhooks as
-- tds_inbox_events.status = 'completed'; 0001 only allowed 'processed'. Widening the check keeps
-- every old value valid (expand only), so the previous release still runs against this schema.

ALTER TABLE tds_inbox_events DROP CONSTRAINT IF EXISTS tds_inbox_events_status_check;
ALTER TABLE tds_inbox_events ADD CONSTRAINT tds_inbox_events_status_check
    CHECK (status IN ('pending', 'processed', 'completed', 'skipped', 'failed', 'dead_letter'))
    NOT VALID;
ALTER TABLE tds_inbox_events VALIDATE CONSTRAINT tds_inbox_events_status_check;

-- A replayed dead letter finds its queue row by inbox event.
CREATE INDEX IF NOT EXISTS tds_sync_queue_inbox_event_idx ON tds_sync_queue (inbox_event_id);
-- /api/zoho/sync/stats and the delay query read recent completions.
CREATE INDEX IF NOT EXISTS tds_sync_queue_completed_idx
    ON tds_sync_queue (processing_completed_at) WHERE status = 'completed';
