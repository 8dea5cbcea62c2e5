"""Executes one sync command: claim the run, sync its entities from the checkpoint, end it.

- Claim: a PostgreSQL advisory lock per run, held on a connection of its own for the whole run,
  so two workers (e.g. around a rebalance) never run the same run at once; the lock vanishes
  with the connection if a worker dies.
- Resume: each entity's state (cursor or position) is read from the run's checkpoint; an entity
  marked done is skipped. A run that ended already is not run again (a redelivered command).
- End: full runs sweep deletions when an entity's list is exhausted, in the transaction that marks
  it done. Permanent errors (the proxy rejecting us, the proxy gone for good) fail the run with
  the message in ``error_log``; stopping leaves it ``running`` for the next start; PostgreSQL
  outages propagate as :class:`TransientError` (the consumer retries the command later).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any, Final, Literal

import asyncpg

from bulk_sync import held as held_sweeps
from bulk_sync import metrics, runs, sweep
from bulk_sync.completeness import record_details_pending, record_drift
from bulk_sync.context import RunContext
from bulk_sync.details import complete_details, has_details
from bulk_sync.inventory_only import lists_inventory_too, sync_inventory_only
from bulk_sync.listing import sync_listed
from bulk_sync.models import SyncCommand
from bulk_sync.proxy import StopRequested, SyncProxy
from bulk_sync.selective import sync_selected
from bulk_sync.settings import SyncSettings
from bulk_sync.stock_refresh import refresh_stock
from bulk_sync.verify import verifies, verify
from tds_common.backoff import sleep_unless_stopping
from tds_common.catalogue import ENTITIES
from tds_common.db import CONNECTION_ERRORS, database_unavailable_as_error
from tds_common.errors import PermanentError, TransientError, truncate
from tds_common.events import parse_zoho_timestamp

logger = logging.getLogger(__name__)

Outcome = Literal["completed", "failed", "cancelled", "interrupted", "skipped", "held"]
LOCK_POLL_SECONDS: Final = 1.0


class RunExecutor:
    def __init__(
        self, pool: asyncpg.Pool, proxy: SyncProxy, settings: SyncSettings, stop: asyncio.Event
    ) -> None:
        self._pool = pool
        self._proxy = proxy
        self._settings = settings
        self._stop = stop

    async def execute(self, command: SyncCommand) -> Outcome:
        """Run (or resume) the command's run; see the module docstring for the outcomes."""
        run_id = uuid.UUID(command.run_id)
        with database_unavailable_as_error():
            async with self._pool.acquire() as lock_conn:
                key = await self._lock(lock_conn, run_id)
                try:
                    return await self._claimed(run_id, command)
                finally:
                    with contextlib.suppress(*CONNECTION_ERRORS):
                        await lock_conn.execute("SELECT pg_advisory_unlock($1)", key)

    async def _lock(self, conn: Any, run_id: uuid.UUID) -> int:
        key: int = await conn.fetchval("SELECT hashtextextended($1, 0)", f"tds_sync_run:{run_id}")
        while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
            logger.info("run held by another worker; waiting", extra={"run_id": str(run_id)})
            if await sleep_unless_stopping(self._stop, LOCK_POLL_SECONDS):
                raise StopRequested("stopping")
        return key

    async def _claimed(self, run_id: uuid.UUID, command: SyncCommand) -> Outcome:
        request = command.model_dump(exclude_none=True)
        async with self._pool.acquire() as conn:
            for entity in command.entities:
                if entity not in ENTITIES:
                    return await self._fail_unknown(conn, run_id, command, entity)
            await runs.ensure_run(
                conn, run_id, command.org_id, command.entities[0], command.mode, request
            )
            run = await runs.start_run(conn, run_id)
        if run is None:
            logger.info("run ended already; nothing to do", extra={"run_id": str(run_id)})
            return "skipped"
        started_at = run.started_at or datetime.now(UTC)
        started = time.monotonic()
        label = command.entities[0] if len(command.entities) == 1 else "multiple"
        metrics.RUNS_IN_PROGRESS.inc()
        held: list[str] = []
        try:
            with database_unavailable_as_error():
                for entity in command.entities:
                    state: dict[str, Any] = dict(run.checkpoint.get(entity) or {})
                    if state.get("done"):
                        continue
                    ctx = RunContext(
                        pool=self._pool,
                        proxy=self._proxy,
                        settings=self._settings,
                        run_id=run_id,
                        org_id=command.org_id,
                        entity=entity,
                        mode=command.mode,
                        started_at=started_at,
                        detail_calls=int(state.get("detail_calls") or 0),
                        detail_gate=asyncio.Semaphore(self._settings.detail_concurrency),
                    )
                    if await self._entity(ctx, command, state):
                        held.append(entity)
        except StopRequested:
            logger.info(
                "run interrupted; it resumes from its checkpoint", extra={"run_id": str(run_id)}
            )
            return "interrupted"
        except runs.RunCancelledError:
            logger.info("run was cancelled; stopped", extra={"run_id": str(run_id)})
            metrics.RUNS.labels(label, command.mode, "cancelled").inc()
            return "cancelled"
        except TransientError:
            raise  # PostgreSQL is down: the consumer retries the command later
        except Exception as exc:  # permanent errors, and bugs: fail the run, never crash-loop
            if isinstance(exc, PermanentError):
                logger.warning("run failed: %s", exc, extra={"run_id": str(run_id)})
            else:
                logger.exception("run failed unexpectedly", extra={"run_id": str(run_id)})
            await self._end(run_id, "failed", truncate(f"{type(exc).__name__}: {exc}", 1000))
            metrics.RUNS.labels(label, command.mode, "failed").inc()
            return "failed"
        finally:
            metrics.RUNS_IN_PROGRESS.dec()
        if held:
            return await self._hold(run_id, command, label, held)
        await self._end(run_id, "completed")
        elapsed = (datetime.now(UTC) - started_at).total_seconds()
        metrics.RUN_DURATION.labels(label, command.mode).observe(max(elapsed, 0.0))
        metrics.RUNS.labels(label, command.mode, "completed").inc()
        metrics.LAST_SUCCESS.labels(f"{command.mode}-{label}").set(time.time())
        logger.info(
            "run completed",
            extra={
                "run_id": str(run_id),
                "mode": command.mode,
                "entities": command.entities,
                "org_id": command.org_id,
                "seconds_in_this_process": time.monotonic() - started,
            },
        )
        return "completed"

    async def _entity(self, ctx: RunContext, command: SyncCommand, state: dict[str, Any]) -> bool:
        """Sync one entity from its checkpoint; True when its deletion sweep is held."""
        if command.mode == "selective":
            await sync_selected(ctx, state, command.ids or [])
        elif not (state.get("cursor") or {}).get("done"):
            since = None
            if command.mode == "incremental":
                if command.since is not None:
                    since = parse_zoho_timestamp(command.since)
                else:
                    async with self._pool.acquire() as conn:
                        since = await runs.high_water(conn, ctx.org_id, ctx.entity)
                state.setdefault("since", since.isoformat() if since else None)
            await sync_listed(ctx, state, since)
        if lists_inventory_too(ctx.entity, command.mode):
            await sync_inventory_only(
                ctx, parse_zoho_timestamp(command.since) if command.since else None
            )
        if verifies(ctx.entity, command.mode):
            state["drift_rows"] = await verify(ctx, state)
        if command.mode != "selective" and has_details(ctx.entity):
            state["details_pending"] = await complete_details(ctx, state)
        if command.mode == "incremental" and ctx.entity == "stock":
            await refresh_stock(ctx, state)
        decision = await sweep.decide(ctx, state) if command.mode == "full" else None
        if decision is not None and decision.held:
            state["sweep"] = {
                "held": True,
                "candidates": decision.candidates,
                "live": decision.live,
            }
        state["done"] = decision is None or not decision.held
        async with self._pool.acquire() as conn, conn.transaction():
            if "details_pending" in state:
                await record_details_pending(
                    conn, ctx.run_id, ctx.org_id, ctx.entity, state["details_pending"]
                )
            if "drift_rows" in state:
                await record_drift(conn, ctx.run_id, ctx.entity, state["drift_rows"])
            if decision is not None and not decision.held:
                state["deleted"] = await sweep.delete(conn, ctx, decision)
                if decision.verified:
                    state["deletions_confirmed_with_zoho"] = len(decision.delete)
            await runs.save_progress(conn, ctx.run_id, ctx.entity, state, runs.Progress())
        return not state["done"]

    async def _hold(
        self, run_id: uuid.UUID, command: SyncCommand, label: str, entities: list[str]
    ) -> Outcome:
        """The run's list was complete but its sweep waits for a person (see ``held``)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await held_sweeps.end_held(conn, run_id)
        async with self._pool.acquire() as conn:
            await held_sweeps.refresh_gauge(conn)
        metrics.RUNS.labels(label, command.mode, held_sweeps.HELD).inc()
        logger.warning(
            "deletion sweep held until confirmed",
            extra={"run_id": str(run_id), "entities": entities},
        )
        return "held"

    async def _end(self, run_id: uuid.UUID, status: str, error: str | None = None) -> None:
        """End a running run (a cancelled one stays cancelled)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await runs.finish_run(conn, run_id, status, error)

    async def _fail_unknown(
        self, conn: Any, run_id: uuid.UUID, command: SyncCommand, entity: str
    ) -> Outcome:
        request = command.model_dump(exclude_none=True)
        await runs.ensure_run(conn, run_id, command.org_id, entity, command.mode, request)
        await runs.finish_run(conn, run_id, "failed", f"unknown entity {entity!r}")
        return "failed"
