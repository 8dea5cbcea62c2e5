-- processor: inbox status 'completed'.
-- depends: 0001.initial-schema
--
-- The users' monitoring SQL from the original design counts successful webhooks as
-- tds_inbox_events.status = 'completed'; 0001 only allowed 'processed'. Widening the check keeps
-- every old value valid (expand only), so the previous release still runs against this schema.
--
-- Added NOT VALID only: that takes ACCESS EXCLUSIVE for a moment, never through a scan of the
-- inbox. 0011 validates it in a transaction of its own (a lock that lets writes go on), and 0012
-- builds the indexes this file used to build, CONCURRENTLY. Databases that applied the earlier
-- version of this file already have the validated constraint and the indexes; 0011 and 0012 are
-- no-ops there (yoyo identifies a migration by its id, so this file is not applied again).

ALTER TABLE tds_inbox_events DROP CONSTRAINT IF EXISTS tds_inbox_events_status_check;
ALTER TABLE tds_inbox_events ADD CONSTRAINT tds_inbox_events_status_check
    CHECK (status IN ('pending', 'processed', 'completed', 'skipped', 'failed', 'dead_letter'))
    NOT VALID;
