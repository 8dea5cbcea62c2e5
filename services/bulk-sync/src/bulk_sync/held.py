"""Held sweeps: a full run that would delete too much waits for a person (:mod:`bulk_sync.sweep`).

- :func:`end_held` ends the run ``needs_confirmation``. Its seen ids stay: the sweep needs them
  when it is confirmed.
- :func:`confirm` (``POST /api/zoho/sync/runs/{id}/confirm-sweep``) marks the held sweeps of
  the run confirmed and puts the run back to ``pending``; the caller publishes its command again.
  The worker resumes it from its checkpoint: the list is done, so it goes straight to the sweep.
  Rows written since the run started, or seen by it, are never deleted, so a late confirmation
  is as safe as a prompt one. Declining is ``POST /api/zoho/sync/runs/{id}/cancel``.
- ``tds_bulk_sync_sweeps_held{org,entity}`` is 1 while a held sweep awaits confirmation. It is
  read from the database (:func:`refresh_gauge`, after each change here and every
  ``HELD_REFRESH_SECONDS`` from :mod:`bulk_sync.gauges`), so every replica reports the truth
  whoever held or confirmed.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any, Final

from bulk_sync import metrics
from bulk_sync.models import RunView
from bulk_sync.runs import view
from tds_common.mirror import DbConnection

logger = logging.getLogger(__name__)

HELD: Final = "needs_confirmation"
HELD_REFRESH_SECONDS: Final = 30.0
_reported: set[tuple[str, str]] = set()


def held_entities(checkpoint: dict[str, Any]) -> list[str]:
    """Entities of a run's checkpoint whose sweep is held and not yet confirmed."""
    return [
        entity
        for entity, state in checkpoint.items()
        if isinstance(state, dict)
        and (state.get("sweep") or {}).get("held")
        and not (state.get("sweep") or {}).get("confirmed")
    ]


async def end_held(conn: DbConnection, run_id: uuid.UUID) -> None:
    """End a running run as ``needs_confirmation`` (its seen ids are kept for the sweep)."""
    await conn.execute(
        "UPDATE tds_sync_runs SET status = $2, completed_at = clock_timestamp(), "
        "updated_at = clock_timestamp() WHERE id = $1 AND status = 'running'",
        run_id,
        HELD,
    )


async def confirm(conn: DbConnection, run_id: uuid.UUID) -> RunView | None:
    """Confirm the held sweeps of a run: back to ``pending``; None unless it awaits one."""
    async with conn.transaction():
        row = await conn.fetchrow(
            "SELECT checkpoint FROM tds_sync_runs WHERE id = $1 AND status = $2 FOR UPDATE",
            run_id,
            HELD,
        )
        if row is None:
            return None
        checkpoint = _json(row["checkpoint"])
        for entity in held_entities(checkpoint):
            state = dict(checkpoint[entity])
            state["sweep"] = {**state["sweep"], "confirmed": True}
            checkpoint[entity] = state
        record = await conn.fetchrow(
            "UPDATE tds_sync_runs SET status = 'pending', completed_at = NULL, checkpoint = $2, "
            "updated_at = clock_timestamp() WHERE id = $1 RETURNING *",
            run_id,
            checkpoint,
        )
    assert record is not None
    return view(record)


async def revert(conn: DbConnection, run_id: uuid.UUID) -> None:
    """Undo :func:`confirm` when its command could not be published: held again."""
    row = await conn.fetchrow("SELECT checkpoint FROM tds_sync_runs WHERE id = $1", run_id)
    if row is None:
        return
    checkpoint = _json(row["checkpoint"])
    for entity, state in checkpoint.items():
        if isinstance(state, dict) and (state.get("sweep") or {}).get("held"):
            checkpoint[entity] = {**state, "sweep": {**state["sweep"], "confirmed": False}}
    await conn.execute(
        "UPDATE tds_sync_runs SET status = $3, checkpoint = $2, completed_at = clock_timestamp(), "
        "updated_at = clock_timestamp() WHERE id = $1 AND status = 'pending'",
        run_id,
        checkpoint,
        HELD,
    )


async def refresh_gauge(conn: DbConnection) -> None:
    """Set ``tds_bulk_sync_sweeps_held`` from the runs that await a confirmation."""
    rows = await conn.fetch(
        "SELECT org_id, entity_type, checkpoint FROM tds_sync_runs WHERE status = $1", HELD
    )
    now: set[tuple[str, str]] = set()
    for row in rows:
        for entity in held_entities(_json(row["checkpoint"])) or [row["entity_type"]]:
            now.add((row["org_id"], entity))
    for org, entity in _reported - now:
        metrics.SWEEPS_HELD.labels(org, entity).set(0)
    for org, entity in now:
        metrics.SWEEPS_HELD.labels(org, entity).set(1)
    _reported.clear()
    _reported.update(now)


def _json(value: Any) -> dict[str, Any]:
    loaded = json.loads(value) if isinstance(value, str) else value
    return dict(loaded) if isinstance(loaded, dict) else {}
