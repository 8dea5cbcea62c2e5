-- Validate the inbox status check 0003 added NOT VALID.
-- depends: 0003.processor-inbox-status
--
-- VALIDATE CONSTRAINT scans the table under SHARE UPDATE EXCLUSIVE, which lets inserts and
-- updates go on; in its own transaction nothing stronger is held meanwhile.

ALTER TABLE tds_inbox_events VALIDATE CONSTRAINT tds_inbox_events_status_check;
