"""The processor's dead-letter API: list, show and replay (``tds dlq list|show|replay``).

``GET /api/zoho/dead-letters?entity=&org_id=&limit=`` lists dead letters newest first;
``GET /api/zoho/dead-letters/{queue_id}`` shows one with its inbox payload, where it sits on
the DLQ topic and whether its whole bytes are stored (404 when the queue row does not exist).

``POST /api/zoho/dead-letters/replay`` replays them from the processor itself.

Body: a :class:`processor.replay.Selection` (``entity``, ``org_id``, ``record_id``,
``queue_ids``, ``since``, ``until``, ``limit``, ``all``) plus ``dry_run``. Answers 200 with the
counts of :class:`processor.replay.ReplayReport`; 422 for a selection that is malformed or
narrows nothing (without ``all``); 404 when a queue id names no queue row. ``tds dlq replay``
calls it.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Query
from pydantic import ConfigDict

from processor.api.deps import StateDep
from processor.replay import Selection, replay_dead_letters, unknown_queue_ids
from tds_common.db import database_unavailable_as_error
from tds_common.errors import PermanentError, UpstreamUnavailableError
from tds_common.identifiers import ORG_ID_PATTERN


class ReplayRequest(Selection):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    dry_run: bool = False
    """Count what would be replayed; publish nothing."""


_LIST: Final = """
SELECT q.id AS queue_id, q.entity_type, q.org_id, q.zoho_entity_id, q.retry_count,
    q.processing_completed_at AS failed_at, left(q.error_message, 120) AS error,
    q.kafka_topic, q.kafka_partition, q.kafka_offset, q.dlq_partition, q.dlq_offset
FROM tds_sync_queue q
WHERE q.status = 'dead_letter' AND ($1::text IS NULL OR q.entity_type = $1)
  AND ($2::text IS NULL OR q.org_id = $2)
ORDER BY q.id DESC LIMIT $3
"""
_ONE: Final = """
SELECT q.id AS queue_id, q.entity_type, q.org_id, q.entity_id, q.zoho_entity_id, q.status,
    q.retry_count, q.error_message, q.queued_at, q.processing_completed_at AS failed_at,
    q.kafka_topic, q.kafka_partition, q.kafka_offset, q.dlq_partition, q.dlq_offset,
    q.replayed_at, q.replayed_as, i.event_id, i.source_type, i.raw_payload,
    (v.queue_id IS NOT NULL) AS value_stored
FROM tds_sync_queue q
LEFT JOIN tds_inbox_events i ON i.id = q.inbox_event_id
LEFT JOIN tds_dead_letter_values v ON v.queue_id = q.id
WHERE q.id = $1
"""


class UnknownQueueIdError(PermanentError):
    http_status = 404
    error_code = "not_found"


router = APIRouter(tags=["dead letters"])


@router.get("/api/zoho/dead-letters")
async def list_dead_letters(
    state: StateDep,
    entity: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    org_id: Annotated[str | None, Query(pattern=ORG_ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[dict[str, Any]]:
    """Dead letters (queue rows ``dead_letter``), newest first."""
    with database_unavailable_as_error("PostgreSQL unavailable"):
        rows = await state.pool.fetch(_LIST, entity, org_id, limit)
    return [dict(row) for row in rows]


@router.get("/api/zoho/dead-letters/{queue_id}")
async def show_dead_letter(queue_id: int, state: StateDep) -> dict[str, Any]:
    """One queue row (usually a dead letter) with its inbox payload; 404 when unknown."""
    with database_unavailable_as_error("PostgreSQL unavailable"):
        row = await state.pool.fetchrow(_ONE, queue_id)
    if row is None:
        raise UnknownQueueIdError(f"no queue row {queue_id}")
    return dict(row)


@router.post("/api/zoho/dead-letters/replay")
async def replay(body: ReplayRequest, state: StateDep) -> dict[str, Any]:
    """Republish the selected dead letters to the events topic; replaying twice applies once."""
    with database_unavailable_as_error("PostgreSQL unavailable"):
        unknown = await unknown_queue_ids(state.pool, body.queue_ids)
    if unknown:
        shown = ", ".join(map(str, unknown[:10]))
        raise UnknownQueueIdError(f"no queue row {shown}")
    selection = Selection.model_validate(body.model_dump(exclude={"dry_run"}))
    try:
        with database_unavailable_as_error("PostgreSQL unavailable"):
            report = await replay_dead_letters(
                state.pool, state.producer, state.settings, selection, dry_run=body.dry_run
            )
    except KafkaError as exc:
        raise UpstreamUnavailableError(f"Kafka unavailable: {type(exc).__name__}") from exc
    return report.as_dict()
