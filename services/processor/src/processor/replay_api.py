"""``POST /api/zoho/dead-letters/replay``: replay dead letters from the processor itself.

Body: a :class:`processor.replay.Selection` (``entity``, ``org_id``, ``record_id``,
``queue_ids``, ``since``, ``until``, ``limit``, ``all``) plus ``dry_run``. Answers 200 with the
counts of :class:`processor.replay.ReplayReport`; 422 for a selection that is malformed or
narrows nothing (without ``all``); 404 when a queue id names no queue row. ``tds dlq replay``
calls it.
"""

from __future__ import annotations

from typing import Any

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Request
from pydantic import ConfigDict

from processor.replay import Selection, replay_dead_letters, unknown_queue_ids
from tds_common.db import database_unavailable_as_error
from tds_common.errors import PermanentError, UpstreamUnavailableError


class ReplayRequest(Selection):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    dry_run: bool = False
    """Count what would be replayed; publish nothing."""


class UnknownQueueIdError(PermanentError):
    http_status = 404
    error_code = "not_found"


def replay_router() -> APIRouter:
    router = APIRouter(tags=["dead letters"])

    @router.post("/api/zoho/dead-letters/replay")
    async def replay(body: ReplayRequest, request: Request) -> dict[str, Any]:
        """Republish the selected dead letters to the events topic; replaying twice applies once."""
        state = request.app.state
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

    return router
