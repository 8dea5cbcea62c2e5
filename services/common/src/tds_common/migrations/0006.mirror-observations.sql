-- mirror: when and how Zoho was seen holding each row's content.
-- depends: 0001.initial-schema
-- Additive only (two nullable columns per mirror table): the previous release keeps writing
-- rows without them, and the new rules read NULL as "seen at an unknown time".
--
-- Zoho's last_modified_time has one-second resolution, so two edits in one second share a
-- version. The version alone cannot say which content is current; the observation can:
-- observed_at is when Zoho was seen holding the content (a read's start, a webhook's receipt),
-- observed_by says how ('read': a list, detail or not-found answer of Zoho's current state;
-- 'push': content a webhook delivered, whose order within one second cannot be trusted).
-- Rules: docs/architecture.md, section "Monotonic upsert" (tds_common.mirror.sql).
DO $$
DECLARE
    mirror_table record;
BEGIN
    FOR mirror_table IN
        SELECT c.table_name FROM information_schema.columns c
        WHERE c.table_schema = 'zoho' AND c.column_name = 'zoho_last_modified_time'
    LOOP
        EXECUTE format(
            'ALTER TABLE zoho.%I ADD COLUMN IF NOT EXISTS observed_at timestamptz, '
            'ADD COLUMN IF NOT EXISTS observed_by text '
            'CHECK (observed_by IN (''read'', ''push''))',
            mirror_table.table_name
        );
    END LOOP;
END
$$;
