"""The ``tds_sync_runs`` rows (docs/architecture.md#control-tables) and each run's seen-id table.

One row per run, one entity per run: ``entity_type`` is the entity, ``total_items`` counts the
records listed so far (Zoho lists have no total; selective runs know theirs up front),
``processed_items`` those handled, ``failed_items`` those that could not be stored, ``api_calls``
the calls that reached Zoho, ``checkpoint`` the cursor per entity to resume from. Every update
of progress happens in the transaction that wrote the page's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import asyncpg

from bulk_sync.models import RunView
from tds_common.catalogue import ENTITIES
from tds_common.errors import ServiceError
from tds_common.mirror import DbConnection

_COLUMNS: Final = (
    "id, org_id, run_type, entity_type, source_type, status, total_items, processed_items, "
    "failed_items, api_calls, checkpoint, request, requested_at, started_at, completed_at, "
    "updated_at, error_log, details_pending, drift_rows, idempotency_key"
)
ERROR_LOG_MAX_CHARS: Final = 4000


class RunCancelledError(ServiceError):
    """The run was cancelled (or ended) while a worker was executing it."""

    http_status = 409
    error_code = "run_not_running"


@dataclass(frozen=True)
class Progress:
    """What one page (or chunk) adds to a run's counters."""

    listed: int = 0
    processed: int = 0
    failed: int = 0
    api_calls: int = 0


def _source(entity: str) -> str:
    """The entity's primary product until the proxy reports where its pages came from."""
    spec = ENTITIES.get(entity)
    return spec.products[0] if spec is not None else "mixed"


def view(record: asyncpg.Record) -> RunView:
    data = dict(record)
    data["id"] = str(data["id"])
    return RunView.model_validate(data)


class IdempotencyKeyReusedError(ServiceError):
    """An idempotency key already named a different request."""

    http_status = 409
    error_code = "idempotency_key_reused"


class _KeyTaken(Exception):
    """A concurrent request with the same key committed first (rolls our inserts back)."""


async def create_runs(
    conn: DbConnection,
    org_id: str,
    entities: Sequence[str],
    mode: str,
    request: dict[str, Any],
    idempotency_key: str | None = None,
) -> list[RunView]:
    """One pending run per entity, in one transaction (:func:`request_runs` with no key)."""
    created, _ = await request_runs(conn, org_id, entities, mode, request, idempotency_key)
    return created


async def request_runs(
    conn: DbConnection,
    org_id: str,
    entities: Sequence[str],
    mode: str,
    request: dict[str, Any],
    idempotency_key: str | None = None,
) -> tuple[list[RunView], bool]:
    """The runs of a request and whether they are new.

    With a key this organization has seen, the runs that key created come back (False) and
    nothing is inserted; a key that named another request raises
    :class:`IdempotencyKeyReusedError`. Two concurrent requests with one key meet at the unique
    index: the second waits for the first, finds its runs and answers them.
    """
    if idempotency_key is not None:
        existing = await runs_of_key(conn, org_id, idempotency_key)
        if existing:
            return _same_request(existing, entities, mode, request), False
    try:
        return await _insert_runs(conn, org_id, entities, mode, request, idempotency_key), True
    except _KeyTaken:
        assert idempotency_key is not None
        existing = await runs_of_key(conn, org_id, idempotency_key)
        return _same_request(existing, entities, mode, request), False


async def _insert_runs(
    conn: DbConnection,
    org_id: str,
    entities: Sequence[str],
    mode: str,
    request: dict[str, Any],
    idempotency_key: str | None,
) -> list[RunView]:
    rows = []
    async with conn.transaction():
        for entity in entities:
            total = len(request.get("ids") or ()) if mode == "selective" else 0
            record = await conn.fetchrow(
                f"INSERT INTO tds_sync_runs (id, run_type, entity_type, source_type, status, "
                f"org_id, total_items, request, idempotency_key) "
                f"VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8) "
                f"ON CONFLICT (org_id, idempotency_key, entity_type) "
                f"WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING {_COLUMNS}",
                uuid.uuid4(),
                mode,
                entity,
                _source(entity),
                org_id,
                total,
                request,
                idempotency_key,
            )
            if record is None:
                raise _KeyTaken
            rows.append(view(record))
    return rows


# What makes two requests the same (request_id differs by design; org_id is part of the key).
_COMPARED: Final = ("mode", "entities", "ids", "since")


def _same_request(
    existing: list[RunView], entities: Sequence[str], mode: str, request: dict[str, Any]
) -> list[RunView]:
    first = existing[0].request or {}
    asked = {**request, "mode": mode, "entities": sorted(entities)}
    stored = {
        **first,
        "mode": existing[0].run_type,
        "entities": sorted(run.entity_type for run in existing),
    }
    if any(asked.get(name) != stored.get(name) for name in _COMPARED):
        raise IdempotencyKeyReusedError(
            f"idempotency key {existing[0].idempotency_key!r} was used for another request "
            f"({stored['mode']} of {', '.join(stored['entities'])})"
        )
    return sorted(existing, key=lambda run: list(entities).index(run.entity_type))


async def runs_of_key(conn: DbConnection, org_id: str, idempotency_key: str) -> list[RunView]:
    """The runs one keyed request created."""
    records = await conn.fetch(
        f"SELECT {_COLUMNS} FROM tds_sync_runs WHERE org_id = $1 AND idempotency_key = $2",
        org_id,
        idempotency_key,
    )
    return [view(r) for r in records]


async def release_key(conn: DbConnection, run_ids: Sequence[uuid.UUID]) -> None:
    """Forget the key of runs whose request was refused (503): a retry starts fresh runs."""
    await conn.execute(
        "UPDATE tds_sync_runs SET idempotency_key = NULL WHERE id = ANY($1::uuid[])", list(run_ids)
    )


async def ensure_run(
    conn: DbConnection,
    run_id: uuid.UUID,
    org_id: str,
    entity: str,
    mode: str,
    request: dict[str, Any],
) -> None:
    """A command from another producer may name a run nobody created: create it pending."""
    await conn.execute(
        "INSERT INTO tds_sync_runs (id, run_type, entity_type, source_type, status, org_id, "
        "request) VALUES ($1, $2, $3, $4, 'pending', $5, $6) ON CONFLICT (id) DO NOTHING",
        run_id,
        mode,
        entity,
        _source(entity),
        org_id,
        request,
    )


async def get_run(conn: DbConnection, run_id: uuid.UUID) -> RunView | None:
    record = await conn.fetchrow(f"SELECT {_COLUMNS} FROM tds_sync_runs WHERE id = $1", run_id)
    return view(record) if record is not None else None


async def list_runs(conn: DbConnection, limit: int) -> list[RunView]:
    records = await conn.fetch(
        f"SELECT {_COLUMNS} FROM tds_sync_runs ORDER BY requested_at DESC, id LIMIT $1", limit
    )
    return [view(r) for r in records]


async def high_water(conn: DbConnection, org_id: str, entity: str) -> datetime | None:
    """The newest ``last_modified_time`` a completed full or incremental run of it has seen."""
    value = await conn.fetchval(
        "SELECT max((checkpoint -> $2::text ->> 'high_water')::timestamptz) FROM tds_sync_runs "
        "WHERE org_id = $1 AND entity_type = $2 "
        "AND status IN ('completed', 'needs_confirmation') "  # held: the list was complete
        "AND run_type IN ('full', 'incremental')",
        org_id,
        entity,
    )
    return value if isinstance(value, datetime) else None


async def start_run(conn: DbConnection, run_id: uuid.UUID) -> RunView | None:
    """Mark the run running (keeping its first start); None when it ended already."""
    record = await conn.fetchrow(
        f"UPDATE tds_sync_runs SET status = 'running', started_at = COALESCE(started_at, "
        f"clock_timestamp()), updated_at = clock_timestamp() WHERE id = $1 "
        f"AND status IN ('pending', 'running') RETURNING {_COLUMNS}",
        run_id,
    )
    return view(record) if record is not None else None


async def save_progress(
    conn: DbConnection,
    run_id: uuid.UUID,
    entity: str,
    state: dict[str, Any],
    progress: Progress,
    source: str | None = None,
) -> None:
    """Checkpoint one entity's state and add the counters; call inside the page's transaction.

    Raises :class:`RunCancelledError` when the run is no longer running (cancelled meanwhile):
    the caller's transaction then rolls the page back.
    """
    result = await conn.execute(
        "UPDATE tds_sync_runs SET checkpoint = jsonb_set(checkpoint, ARRAY[$2::text], $3::jsonb), "
        "total_items = total_items + $4, processed_items = processed_items + $5, "
        "failed_items = failed_items + $6, api_calls = api_calls + $7, "
        "source_type = COALESCE($8, source_type), updated_at = clock_timestamp() "
        "WHERE id = $1 AND status = 'running'",
        run_id,
        entity,
        state,
        progress.listed,
        progress.processed,
        progress.failed,
        progress.api_calls,
        source,
    )
    if result != "UPDATE 1":
        raise RunCancelledError(f"run {run_id} is no longer running")


async def cancel_run(conn: DbConnection, run_id: uuid.UUID) -> RunView | None:
    """Cancel a pending or running run, or decline a held sweep; None when it is unknown or
    ended already.

    A worker executing it notices at its next checkpoint (that page is rolled back) and stops.
    """
    record = await conn.fetchrow(
        f"UPDATE tds_sync_runs SET status = 'cancelled', completed_at = clock_timestamp(), "
        f"updated_at = clock_timestamp() WHERE id = $1 "
        f"AND status IN ('pending', 'running', 'needs_confirmation') RETURNING {_COLUMNS}",
        run_id,
    )
    await conn.execute("DELETE FROM tds_sync_run_seen WHERE run_id = $1", run_id)
    return view(record) if record is not None else None


async def append_error(conn: DbConnection, run_id: uuid.UUID, message: str) -> None:
    """Add a line to ``error_log`` (bounded; the newest lines are kept)."""
    await conn.execute(
        "UPDATE tds_sync_runs SET error_log = right(COALESCE(error_log || E'\\n', '') || $2, $3) "
        "WHERE id = $1",
        run_id,
        message,
        ERROR_LOG_MAX_CHARS,
    )


async def finish_run(
    conn: DbConnection, run_id: uuid.UUID, status: str, error: str | None = None
) -> None:
    """End the run; its seen ids are no longer needed."""
    if error is not None:
        await append_error(conn, run_id, error)
    await conn.execute(
        "UPDATE tds_sync_runs SET status = $2, completed_at = clock_timestamp(), "
        "updated_at = clock_timestamp() WHERE id = $1 AND status IN ('pending', 'running')",
        run_id,
        status,
    )
    await conn.execute("DELETE FROM tds_sync_run_seen WHERE run_id = $1", run_id)


async def mark_seen(
    conn: DbConnection, run_id: uuid.UUID, entity: str, zoho_ids: Sequence[str]
) -> None:
    if zoho_ids:
        await conn.execute(
            "INSERT INTO tds_sync_run_seen (run_id, entity, zoho_id) "
            "SELECT $1, $2, unnest($3::text[]) ON CONFLICT DO NOTHING",
            run_id,
            entity,
            list(zoho_ids),
        )
