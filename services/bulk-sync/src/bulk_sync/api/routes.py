"""``POST /api/zoho/bulk-sync``, ``GET /api/zoho/sync/runs``, ``GET /api/zoho/sync/runs/{id}``.

A request becomes one ``tds_sync_runs`` row per entity (status ``pending``), committed before the
commands are published to ``tds.sync.requests`` (``acks=all``), one per run, keyed by
organization so one organization's runs execute in order (they share its Zoho budget). If Kafka
refuses, the rows are marked ``failed`` and the caller gets 503: no run stays pending forever.
A request may carry an ``idempotency_key``: its repeat answers the runs the first one created.
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from bulk_sync import completeness, runs
from bulk_sync.api.deps import PoolDep, ProducerDep, SettingsDep
from bulk_sync.api.publish import CommandNotPublishedError, publish_command
from bulk_sync.models import RunsAccepted, RunView, SyncCommand, SyncRequest
from tds_common.catalogue import ENTITIES
from tds_common.errors import PermanentError

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/zoho", tags=["sync"])


class NotFoundError(PermanentError):
    """An unknown entity or run."""

    http_status = 404
    error_code = "not_found"


class InvalidRequestError(PermanentError):
    """A request that cannot be served as it is."""

    http_status = 422
    error_code = "invalid_request"


@router.post("/bulk-sync", status_code=202, response_model=RunsAccepted)
async def request_sync(
    body: SyncRequest, pool: PoolDep, producer: ProducerDep, settings: SettingsDep
) -> JSONResponse:
    """Start a full, incremental or selective sync: one run per entity (202); a repeated
    ``idempotency_key`` answers the runs it created (200) and starts none."""
    org_id = body.org_id or settings.zoho_organization_id
    if not org_id:
        raise InvalidRequestError("no org_id given and ZOHO_ORGANIZATION_ID is not set")
    entities = body.entities or list(ENTITIES)
    unknown = [e for e in entities if e not in ENTITIES]
    if unknown:
        raise NotFoundError(f"unknown entity {unknown[0]!r}; known: {', '.join(ENTITIES)}")
    request_id = str(uuid.uuid4())
    stored: dict[str, Any] = {"request_id": request_id, **body.model_dump(exclude_none=True)}
    stored["org_id"] = org_id
    async with pool.acquire() as conn:
        created, new = await runs.request_runs(
            conn, org_id, entities, body.mode, stored, body.idempotency_key
        )
    if not new:
        # A repeat of a keyed request: its runs exist (and were published); start nothing.
        first = created[0].request or {}
        repeated = RunsAccepted(request_id=str(first.get("request_id", "")), runs=created)
        return JSONResponse(repeated.model_dump(mode="json"), status_code=200)
    try:
        for run in created:
            command = SyncCommand(
                run_id=run.id,
                org_id=org_id,
                entities=[run.entity_type],
                mode=body.mode,
                ids=body.ids,
                since=body.since,
            )
            await publish_command(producer, settings.topics.sync_requests, command)
    except CommandNotPublishedError:
        async with pool.acquire() as conn, conn.transaction():
            for run in created:
                await runs.finish_run(
                    conn, uuid.UUID(run.id), "failed", "the command could not be published to Kafka"
                )
            # The caller was told 503: a retry with the same key must start runs, not find these.
            await runs.release_key(conn, [uuid.UUID(run.id) for run in created])
        raise
    logger.info(
        "sync requested",
        extra={
            "mode": body.mode,
            "entities": entities,
            "org_id": org_id,
            "run_ids": [run.id for run in created],
        },
    )
    accepted = RunsAccepted(request_id=request_id, runs=created)
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202)


@router.get("/sync/runs", response_model=list[RunView])
async def list_sync_runs(
    pool: PoolDep, settings: SettingsDep, limit: Annotated[int, Query(ge=1)] = 50
) -> list[RunView]:
    """The newest runs first."""
    async with pool.acquire() as conn:
        return await runs.list_runs(conn, min(limit, settings.runs_list_max))


def _run_key(run_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(run_id)
    except ValueError:
        raise NotFoundError(f"no sync run {run_id!r}") from None


@router.get("/sync/runs/{run_id}", response_model=RunView)
async def get_sync_run(run_id: str, pool: PoolDep) -> RunView:
    """One run with its progress, checkpoint and errors (404 when unknown)."""
    key = _run_key(run_id)
    async with pool.acquire() as conn:
        run = await runs.get_run(conn, key)
    if run is None:
        raise NotFoundError(f"no sync run {run_id}")
    return run


@router.post("/sync/runs/{run_id}/cancel", response_model=RunView)
async def cancel_sync_run(run_id: str, pool: PoolDep) -> RunView:
    """Cancel a pending or running run (404 unknown, 409 ended already); rows so far stay."""
    key = _run_key(run_id)
    async with pool.acquire() as conn, conn.transaction():
        cancelled = await runs.cancel_run(conn, key)
        if cancelled is not None:
            return cancelled
        if await runs.get_run(conn, key) is None:
            raise NotFoundError(f"no sync run {run_id}")
    raise runs.RunCancelledError(f"sync run {run_id} has ended already")


@router.get("/sync/completeness")
async def sync_completeness(pool: PoolDep) -> dict[str, Any]:
    """Per organization and entity: live mirror rows and documents still without details."""
    async with pool.acquire() as conn:
        return {"organizations": await completeness.completeness(conn)}
