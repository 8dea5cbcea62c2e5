-- bulk-sync: the ids a full run has seen in Zoho, and the index its run lookups use.
-- depends: 0001.initial-schema
-- Additive only (a new table and an index), so the previous release runs against it unchanged.
--
-- A full run records every id it listed, in the same transaction as the page's rows and its
-- checkpoint, so the set survives a crash and a resumed run keeps adding to it. Only after the
-- run completed are mirror rows absent from this set (and not written since the run started)
-- marked deleted; then the run's rows here are removed. Logged on purpose: an unlogged table is
-- emptied by crash recovery, and an empty set would make the sweep delete everything.
CREATE TABLE tds_sync_run_seen (
    run_id  uuid NOT NULL REFERENCES tds_sync_runs (id) ON DELETE CASCADE,
    entity  text NOT NULL,   -- products and stock share item ids
    zoho_id text NOT NULL,
    PRIMARY KEY (run_id, entity, zoho_id)
);

-- The high-water mark of the last completed run per organization and entity, and the run list.
CREATE INDEX IF NOT EXISTS tds_sync_runs_org_entity_idx
    ON tds_sync_runs (org_id, entity_type, status, completed_at);
