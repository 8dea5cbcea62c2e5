"""What no API serves yet, read from PostgreSQL (``DATABASE_URL``): dead letters, writes."""

from __future__ import annotations

from typing import Any, Final

import psycopg
from psycopg.rows import dict_row

from tds_cli.api import CommandError

CONNECT_TIMEOUT_SECONDS: Final = 5

DEAD_LETTERS: Final = """
SELECT q.id AS queue_id, q.entity_type, q.org_id, q.zoho_entity_id, q.retry_count,
    q.processing_completed_at AS failed_at, left(q.error_message, 120) AS error,
    q.kafka_topic, q.kafka_partition, q.kafka_offset
FROM tds_sync_queue q
WHERE q.status = 'dead_letter' AND (%(entity)s::text IS NULL OR q.entity_type = %(entity)s)
ORDER BY q.id DESC LIMIT %(limit)s
"""
DEAD_LETTER: Final = """
SELECT q.id AS queue_id, q.entity_type, q.org_id, q.entity_id, q.zoho_entity_id, q.status,
    q.retry_count, q.error_message, q.queued_at, q.processing_completed_at AS failed_at,
    q.kafka_topic, q.kafka_partition, q.kafka_offset, i.event_id, i.source_type,
    i.raw_payload, (v.queue_id IS NOT NULL) AS value_stored
FROM tds_sync_queue q
LEFT JOIN tds_inbox_events i ON i.id = q.inbox_event_id
LEFT JOIN tds_dead_letter_values v ON v.queue_id = q.id
WHERE q.id = %(queue_id)s
"""
WRITES: Final = """
SELECT id, org_id, entity, op, local_ref, zoho_id, status, attempts, left(error, 120) AS error,
    created_at, applied_at
FROM tds_outbox
WHERE (%(status)s::text IS NULL OR status = %(status)s)
ORDER BY id DESC LIMIT %(limit)s
"""


def connect(database_url: str) -> psycopg.Connection[dict[str, Any]]:
    try:
        return psycopg.connect(
            database_url, connect_timeout=CONNECT_TIMEOUT_SECONDS, row_factory=dict_row
        )
    except psycopg.OperationalError as exc:
        # psycopg's message names host and port, never the password.
        raise CommandError(f"PostgreSQL unreachable: {' '.join(str(exc).split())}") from exc


def fetch_all(database_url: str, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with connect(database_url) as conn:
        try:
            return conn.execute(sql, params).fetchall()
        except psycopg.Error as exc:
            raise CommandError(f"PostgreSQL refused the query: {str(exc).splitlines()[0]}") from exc
