-- bulk-sync: a run may end 'needs_confirmation' (its deletion sweep would delete too much).
-- depends: 0004.bulk-sync-seen
-- Additive: the status check is widened, nothing else changes; the previous release never
-- writes the new value. NOT VALID + VALIDATE keeps the table writable while it is checked.
ALTER TABLE tds_sync_runs DROP CONSTRAINT IF EXISTS tds_sync_runs_status_check;
ALTER TABLE tds_sync_runs ADD CONSTRAINT tds_sync_runs_status_check
    CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled',
                      'needs_confirmation'))
    NOT VALID;
ALTER TABLE tds_sync_runs VALIDATE CONSTRAINT tds_sync_runs_status_check;
