"""Attempts per record (``tds_processor_attempts``): how often an event failed on its own.

A failure that is the record's own and may pass (:class:`RecordFailedError`) is counted here by
the event's dedup key, so the count survives restarts and rebalances; the consumer waits longer
after each attempt, and after ``max_attempts`` the event is parked as a dead letter with reason
``retries_exhausted``. Rows are removed in the transaction that writes or parks the event.
"""

from __future__ import annotations

import json
from typing import Any, Final

from processor.records import Item, db_text
from tds_common.backoff import backoff_seconds
from tds_common.errors import truncate
from tds_common.mirror import DbConnection

_RECORD: Final = """
INSERT INTO tds_processor_attempts AS t (dedup_key, org_id, entity_type, entity_id, kafka_topic,
    kafka_partition, kafka_offset, attempts, last_error)
SELECT r.dedup_key, r.org_id, r.entity_type, r.entity_id, r.kafka_topic, r.kafka_partition,
    r.kafka_offset, 1, r.last_error
FROM jsonb_to_recordset($1::text::jsonb) AS r(dedup_key text, org_id text, entity_type text,
    entity_id text, kafka_topic text, kafka_partition integer, kafka_offset bigint,
    last_error text)
ON CONFLICT (dedup_key) DO UPDATE SET attempts = t.attempts + 1, last_error = excluded.last_error,
    last_failed_at = now(), kafka_topic = excluded.kafka_topic,
    kafka_partition = excluded.kafka_partition, kafka_offset = excluded.kafka_offset
RETURNING t.dedup_key, t.attempts
"""

_CLEAR: Final = "DELETE FROM tds_processor_attempts WHERE dedup_key = ANY($1::text[])"

FAILING: Final = "SELECT count(*) FROM tds_processor_attempts"
"""Events failing right now (tried again later, or parked once their attempts are spent)."""


def retry_delay(attempt: int, initial: float, ceiling: float) -> float:
    """The wait before an event's next attempt (tds_common.backoff), never below ``initial``."""
    return max(initial, backoff_seconds(attempt, initial, ceiling))


def _row(item: Item) -> dict[str, Any]:
    envelope = item.envelope
    record = item.record
    return {
        "dedup_key": db_text(item.dedup_key),
        "org_id": db_text(envelope.org_id) if envelope else None,
        "entity_type": db_text(item.entity),
        "entity_id": db_text(envelope.zoho_id) if envelope else None,
        "kafka_topic": db_text(record.topic),
        "kafka_partition": record.partition,
        "kafka_offset": record.offset,
        "last_error": db_text(truncate(f"{type(item.error).__name__}: {item.error}", 1000)),
    }


async def record_failures(conn: DbConnection, items: list[Item]) -> dict[str, int]:
    """Count one more attempt for each item (its ``error`` says why); attempts by dedup key."""
    if not items:
        return {}
    rows = await conn.fetch(_RECORD, json.dumps([_row(i) for i in items], ensure_ascii=False))
    return {row["dedup_key"]: int(row["attempts"]) for row in rows}


async def clear_attempts(conn: DbConnection, items: list[Item]) -> None:
    """Forget the attempts of events that are now written or parked."""
    if items:
        await conn.execute(_CLEAR, [db_text(i.dedup_key) for i in items])
