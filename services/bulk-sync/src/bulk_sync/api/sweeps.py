"""``POST /api/zoho/sync/runs/{id}/confirm-sweep``: let a held deletion sweep go ahead.

A full run whose sweep would delete more than ``max_sweep_share`` of an entity's live rows ends
``needs_confirmation`` (:mod:`bulk_sync.held`). Confirming puts it back to ``pending`` and
publishes its command again; the worker resumes it and deletes (asking Zoho about each row first
when the listing was not proven complete). 404 unknown run, 409 a run not awaiting confirmation,
503 Kafka down (the run stays held). Declining is ``POST /api/zoho/sync/runs/{id}/cancel``.
"""

from __future__ import annotations

import logging
import uuid

from fastapi import APIRouter

from bulk_sync import held, runs
from bulk_sync.api.deps import PoolDep, ProducerDep, SettingsDep
from bulk_sync.api.publish import CommandNotPublishedError, publish_command
from bulk_sync.api.routes import NotFoundError
from bulk_sync.models import RunView, SyncCommand
from tds_common.errors import ServiceError

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/zoho", tags=["sync"])


class NotHeldError(ServiceError):
    """The run exists but no sweep of it awaits confirmation."""

    http_status = 409
    error_code = "sweep_not_held"


@router.post("/sync/runs/{run_id}/confirm-sweep", response_model=RunView)
async def confirm_sweep(
    run_id: str, pool: PoolDep, producer: ProducerDep, settings: SettingsDep
) -> RunView:
    """Confirm a held sweep: the run is queued again and deletes what it found missing."""
    try:
        key = uuid.UUID(run_id)
    except ValueError:
        raise NotFoundError(f"no sync run {run_id!r}") from None
    async with pool.acquire() as conn:
        run = await held.confirm(conn, key)
        if run is None:
            existing = await runs.get_run(conn, key)
            if existing is None:
                raise NotFoundError(f"no sync run {run_id}")
            raise NotHeldError(
                f"sync run {run_id} is {existing.status}, not awaiting a sweep confirmation"
            )
    command = SyncCommand(run_id=run.id, org_id=run.org_id, entities=[run.entity_type], mode="full")
    try:
        await publish_command(producer, settings.topics.sync_requests, command)
    except CommandNotPublishedError:
        async with pool.acquire() as conn:
            await held.revert(conn, key)
        raise
    async with pool.acquire() as conn:
        await held.refresh_gauge(conn)
    logger.info(
        "held sweep confirmed",
        extra={"run_id": run.id, "entity": run.entity_type, "org_id": run.org_id},
    )
    return run
