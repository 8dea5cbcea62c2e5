-- processor: bounded attempts per record, and the full bytes of dead letters the broker refused.
-- depends: 0003.processor-inbox-status
-- Additive only (two new tables), so the previous release runs against it unchanged.
--
-- A record whose failure is its own (a proxy 5xx or 401/403 for one id, a record that cannot
-- be rendered, ...) is tried again a bounded number of times; its attempts are counted here,
-- by the event's dedup key, so a restart or a rebalance does not reset the count. The row goes
-- when the event is written or parked as a dead letter (reason retries_exhausted).
CREATE TABLE tds_processor_attempts (
    dedup_key       text PRIMARY KEY,
    org_id          text,
    entity_type     text NOT NULL,
    entity_id       text,
    kafka_topic     text NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset    bigint NOT NULL,
    attempts        integer NOT NULL,
    last_error      text,
    first_failed_at timestamptz NOT NULL DEFAULT now(),
    last_failed_at  timestamptz NOT NULL DEFAULT now()
);

-- A dead letter larger than the broker accepts is published with its value cut short (header
-- tds-value-truncated); the original key and value are kept here, and the replay reads them.
CREATE TABLE tds_dead_letter_values (
    queue_id    bigint PRIMARY KEY REFERENCES tds_sync_queue (id) ON DELETE CASCADE,
    kafka_key   bytea,
    kafka_value bytea NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now()
);
