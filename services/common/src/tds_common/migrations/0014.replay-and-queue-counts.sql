-- Replay by offset, queue counts kept by triggers, and an index for the outbox's retention.
-- depends: 0012.control-table-indexes 0010.writeback-outbox
-- transactional: false
--
-- Additive only: four nullable columns, one table, triggers, an index. The previous release
-- keeps running against it (its dead letters carry no DLQ offset; the replay then seeks by time).
-- Not one transaction: each statement commits on its own (so the CONCURRENTLY build can run and
-- no write-blocking lock is held for longer than one statement), and each is safe to run again
-- when a retried run repeats it.

-- Where each dead letter sits on the DLQ topic (replay seeks to it instead of reading the topic),
-- and the replay that republished it: when, and as which message (topic:partition:offset), so a
-- second replay does not publish it again.
ALTER TABLE tds_sync_queue
    ADD COLUMN IF NOT EXISTS dlq_partition integer,
    ADD COLUMN IF NOT EXISTS dlq_offset    bigint,
    ADD COLUMN IF NOT EXISTS replayed_at   timestamptz,
    ADD COLUMN IF NOT EXISTS replayed_as   text;

-- Queue rows per entity and status, as deltas: every statement on tds_sync_queue inserts its
-- net change here (inserting never waits on another writer, unlike one counter row per key),
-- and the retention pass folds the deltas into one row per key. GET /api/zoho/sync/stats sums
-- this small table instead of counting the whole queue.
CREATE TABLE IF NOT EXISTS tds_sync_queue_counts (
    entity_type text   NOT NULL,
    status      text   NOT NULL,
    n           bigint NOT NULL
);

CREATE OR REPLACE FUNCTION tds_sync_queue_count() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO tds_sync_queue_counts (entity_type, status, n)
        SELECT entity_type, status, count(*) FROM new_rows GROUP BY 1, 2;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO tds_sync_queue_counts (entity_type, status, n)
        SELECT entity_type, status, -count(*) FROM old_rows GROUP BY 1, 2;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO tds_sync_queue_counts (entity_type, status, n)
        SELECT entity_type, status, sum(d) FROM (
            SELECT entity_type, status, 1 AS d FROM new_rows
            UNION ALL
            SELECT entity_type, status, -1 FROM old_rows) changes
        GROUP BY 1, 2 HAVING sum(d) <> 0;
    ELSE  -- TRUNCATE
        DELETE FROM tds_sync_queue_counts;
    END IF;
    RETURN NULL;
END
$$;

-- A trigger with transition tables takes one event, hence four.
CREATE OR REPLACE TRIGGER tds_sync_queue_count_insert AFTER INSERT ON tds_sync_queue
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tds_sync_queue_count();
CREATE OR REPLACE TRIGGER tds_sync_queue_count_update AFTER UPDATE ON tds_sync_queue
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tds_sync_queue_count();
CREATE OR REPLACE TRIGGER tds_sync_queue_count_delete AFTER DELETE ON tds_sync_queue
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tds_sync_queue_count();
CREATE OR REPLACE TRIGGER tds_sync_queue_count_truncate AFTER TRUNCATE ON tds_sync_queue
    FOR EACH STATEMENT EXECUTE FUNCTION tds_sync_queue_count();

-- The rows that were there before the triggers. Every change committed since has its delta, so
-- one statement (one snapshot) adds what the counts lack: the queue's count minus the deltas.
-- Run again, it adds nothing. A plain read: writes go on meanwhile.
INSERT INTO tds_sync_queue_counts (entity_type, status, n)
SELECT entity_type, status, sum(n) FROM (
    SELECT entity_type, status, count(*) AS n FROM tds_sync_queue GROUP BY 1, 2
    UNION ALL
    SELECT entity_type, status, -sum(n) FROM tds_sync_queue_counts GROUP BY 1, 2) together
GROUP BY 1, 2 HAVING sum(n) <> 0;

-- Retention of the write-back outbox: finished writes by age, never open ones.
CREATE INDEX CONCURRENTLY IF NOT EXISTS tds_outbox_finished_idx
    ON tds_outbox (updated_at) WHERE status IN ('applied', 'conflict', 'rejected', 'failed');
