-- bulk-sync: documents still waiting for their detail read, and what a run left behind.
-- depends: 0004.bulk-sync-seen
-- Additive only (two nullable columns and partial indexes): the previous release runs unchanged.
--
-- A document whose stored raw record lacks its line items (it was written from a list summary)
-- is "details pending". That is derived from the row itself, so a webhook carrying the full
-- record clears it in the same write, and nothing can drift from the truth. The partial indexes
-- hold only those rows, newest first, so the completeness step finds the next ones to read and
-- the completeness endpoint counts them without scanning complete documents.
CREATE INDEX IF NOT EXISTS invoices_details_pending_idx
    ON zoho.invoices (org_id, zoho_last_modified_time DESC)
    WHERE deleted_at IS NULL AND NOT (raw ? 'line_items');
CREATE INDEX IF NOT EXISTS bills_details_pending_idx
    ON zoho.bills (org_id, zoho_last_modified_time DESC)
    WHERE deleted_at IS NULL AND NOT (raw ? 'line_items');
CREATE INDEX IF NOT EXISTS credit_notes_details_pending_idx
    ON zoho.credit_notes (org_id, zoho_last_modified_time DESC)
    WHERE deleted_at IS NULL AND NOT (raw ? 'line_items');
CREATE INDEX IF NOT EXISTS price_lists_details_pending_idx
    ON zoho.price_lists (org_id, zoho_last_modified_time DESC)
    WHERE deleted_at IS NULL AND NOT (raw ? 'pricebook_items');

-- What the run left: documents still without their detail, and mirror rows its verification
-- found different from Zoho (and repaired). NULL: the run did not measure it.
ALTER TABLE tds_sync_runs ADD COLUMN IF NOT EXISTS details_pending integer;
ALTER TABLE tds_sync_runs ADD COLUMN IF NOT EXISTS drift_rows integer;
