"""The relay: claims the next due outbox write, sends it to Zoho, records the outcome.

One write at a time per relay, in id order, writes of one local_ref strictly one after another
(:mod:`.store`). Around each Zoho call:

1. the claim is committed (``in_flight``, a lease, ``attempts + 1``);
2. the call: a create whose earlier attempt's outcome is unknown (``attempts > 1``: an answer
   lost, or a relay killed mid-write) is first searched by its idempotency key, and if Zoho has
   it, it is not sent again; an update with ``expected_last_modified_time`` older than Zoho's
   version is not sent (``conflict``);
3. the outcome, Zoho's record in the mirror (source ``tds-write``) and the local_ref mapping are
   committed together, only if the claim is still ours.

Transient failures (the proxy's 429, 5xx, timeouts) go back to ``pending`` with a jittered
exponential backoff, up to ``max_attempts``; Zoho's refusals end ``rejected`` with its code and
message; a delete of a record already gone ends ``applied``.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from bulk_sync.spans import write_span
from bulk_sync.writeback import metrics, store
from bulk_sync.writeback.client import WriteClient, WriteSetupError
from bulk_sync.writeback.decide import Decider, Outcome, WaitForReferenceError
from bulk_sync.writeback.settings import WritebackSettings
from bulk_sync.writeback.store import Write
from tds_common.backoff import backoff_seconds, sleep_unless_stopping
from tds_common.errors import TransientError, UpstreamUnavailableError
from tds_common.mirror import MappingError, map_change, write_changes

logger = logging.getLogger(__name__)


class Relay:
    """``await relay.run()`` until ``stop`` is set; ``await relay.step()`` handles one write."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        client: WriteClient,
        settings: WritebackSettings,
        stop: asyncio.Event,
    ) -> None:
        self._pool = pool
        self._client = client
        self._settings = settings
        self._stop = stop
        self._decider = Decider(pool, client, settings)

    async def run(self) -> None:
        logger.info("write-back relay started")
        while not self._stop.is_set():
            try:
                handled = await self.step()
                await self._refresh_gauge()
            except Exception:  # keep relaying: one bad write or a DB blip must not stop it
                logger.exception("write-back relay step failed")
                handled = False
            if not handled:
                await sleep_unless_stopping(self._stop, self._settings.poll_seconds)
        logger.info("write-back relay stopped")

    async def _refresh_gauge(self) -> None:
        async with self._pool.acquire() as conn:
            metrics.OLDEST_PENDING.set(await store.oldest_open_age_seconds(conn))

    async def step(self) -> bool:
        """Claim and handle the next due write; False when none is due."""
        async with self._pool.acquire() as conn:
            write = await store.claim(conn, self._settings.lease_seconds)
        if write is None:
            return False
        with write_span(write) as span:
            span.set_attribute("tds.write.result", await self._handle(write))
        return True

    async def _handle(self, write: Write) -> str:
        """Send ``write`` (or not) and record what came of it; returns that, in a word."""
        try:
            outcome = await self._decider.decide(write)
        except WaitForReferenceError as exc:
            async with self._pool.acquire() as conn:
                await store.retry_later(
                    conn, write, self._settings.poll_seconds, str(exc), counts=False
                )
            return "waiting_for_reference"
        except TransientError as exc:
            await self._transient(write, exc)
            return "transient_failure"
        except WriteSetupError as exc:
            outcome = Outcome("failed", "failed", error=str(exc))
        except (asyncpg.PostgresError, OSError) as exc:  # our database, not the write
            await self._transient(write, UpstreamUnavailableError(f"PostgreSQL: {exc}"))
            return "transient_failure"
        except Exception as exc:  # a row the relay cannot send (e.g. an ERP's malformed payload)
            logger.exception("write cannot be sent", extra={"write_id": write.id})
            outcome = Outcome("failed", "failed", error=f"cannot send: {type(exc).__name__}: {exc}")
        await self._commit(write, outcome)
        return outcome.status

    async def _transient(self, write: Write, exc: TransientError) -> None:
        s = self._settings
        async with self._pool.acquire() as conn:
            if write.attempts >= s.max_attempts:
                error = f"gave up after {write.attempts} attempts: {exc}"
                if await store.finish(conn, write, "failed", error=error):
                    metrics.WRITES.labels(write.entity, "failed").inc()
                return
            delay = exc.retry_after_seconds or backoff_seconds(
                write.attempts, s.retry_initial_seconds, s.retry_max_seconds
            )
            if await store.retry_later(conn, write, delay, str(exc)):
                metrics.WRITES.labels(write.entity, "retried").inc()
        logger.info(
            "write failed for now: %s; retrying",
            exc,
            extra={"write_id": write.id, "retry_in_seconds": delay},
        )

    async def _commit(self, write: Write, outcome: Outcome) -> None:
        mapped = []
        for change in outcome.mirror:
            try:
                mapped.append(map_change(change))
            except MappingError as exc:  # applied in Zoho all the same; a sync repairs the row
                logger.warning(
                    "written, but Zoho's record not mirrored: %s", exc, extra={"write_id": write.id}
                )
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                if mapped:
                    await write_changes(conn, mapped)
                if outcome.created and outcome.zoho_id:
                    await store.remember(conn, write.org_id, write.local_key, outcome.zoho_id)
                finished = await store.finish(
                    conn,
                    write,
                    outcome.status,
                    result=outcome.result,
                    error=outcome.error,
                    zoho_id=outcome.zoho_id,
                )
                if not finished:
                    raise _ClaimLostError
        except _ClaimLostError:  # another relay took the write over: its outcome stands
            logger.warning(
                "write claim lost; its outcome dropped",
                extra={"write_id": write.id, "status": outcome.status},
            )
            return
        metrics.WRITES.labels(write.entity, outcome.metric).inc()
        logger.info(
            "write ended",
            extra={
                "write_id": write.id,
                "op": write.op,
                "entity": write.entity,
                "org_id": write.org_id,
                "local_ref": write.local_ref,
                "status": outcome.status,
            },
        )


class _ClaimLostError(Exception):
    """Rolls back an outcome whose claim another relay took over."""
