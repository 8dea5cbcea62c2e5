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
import contextlib
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bulk_sync.writeback import metrics, store
from bulk_sync.writeback.client import WriteClient, WriteSetupError
from bulk_sync.writeback.settings import WritebackSettings
from bulk_sync.writeback.shapes import (
    UnresolvedReferenceError,
    ZohoRejection,
    already_applied,
    references,
    resolve,
    spec_of,
    version_of,
    with_key,
)
from bulk_sync.writeback.store import Write
from tds_common.errors import TransientError, UpstreamUnavailableError
from tds_common.mirror import Change, MappingError, map_change, write_changes

logger = logging.getLogger(__name__)

SOURCE = "tds-write"
"""The mirror's ``source`` of rows written from Zoho's answer to TDS's own write."""


class _WaitForReference(Exception):
    """A referenced record's create is still open: try again shortly, not counted."""


@dataclass
class Outcome:
    """What a write ended with, and what to commit with it."""

    status: str
    metric: str
    result: Mapping[str, Any] | None = None
    error: str | None = None
    zoho_id: str | None = None
    mirror: list[Change] = field(default_factory=list)
    created: bool = False
    """A create applied: remember local_ref → zoho_id."""


def backoff_seconds(attempt: int, initial: float, ceiling: float) -> float:
    """Jittered exponential backoff: between half and all of ``initial * 2**(attempt-1)``."""
    bound = min(ceiling, initial * 2 ** max(0, attempt - 1))
    return random.uniform(bound / 2, bound)  # jitter, not crypto


class Relay:
    """``await relay.run()`` until ``stop`` is set; ``await relay.step()`` handles one write."""

    def __init__(self, pool: asyncpg.Pool, client: WriteClient, settings: WritebackSettings,
                 stop: asyncio.Event) -> None:  # fmt: skip
        self._pool = pool
        self._client = client
        self._settings = settings
        self._stop = stop

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
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self._settings.poll_seconds)
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
        try:
            outcome = await self._decide(write)
        except _WaitForReference as exc:
            async with self._pool.acquire() as conn:
                await store.retry_later(conn, write, self._settings.poll_seconds, str(exc),
                                        counts=False)  # fmt: skip
            return True
        except TransientError as exc:
            await self._transient(write, exc)
            return True
        except WriteSetupError as exc:
            outcome = Outcome("failed", "failed", error=str(exc))
        except (asyncpg.PostgresError, OSError) as exc:  # our database, not the write
            await self._transient(write, UpstreamUnavailableError(f"PostgreSQL: {exc}"))
            return True
        except Exception as exc:  # a row the relay cannot send (e.g. an ERP's malformed payload)
            logger.exception("write %s cannot be sent", write.id)
            outcome = Outcome("failed", "failed", error=f"cannot send: {type(exc).__name__}: {exc}")
        await self._commit(write, outcome)
        return True

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
        logger.info("write %s: %s; retry in %.1fs", write.id, exc, delay)

    async def _commit(self, write: Write, outcome: Outcome) -> None:
        mapped = []
        for change in outcome.mirror:
            try:
                mapped.append(map_change(change))
            except MappingError as exc:  # applied in Zoho all the same; a sync repairs the row
                logger.warning("write %s: Zoho's record not mirrored: %s", write.id, exc)
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                if mapped:
                    await write_changes(conn, mapped)
                if outcome.created and outcome.zoho_id:
                    await store.remember(conn, write.org_id, write.local_key, outcome.zoho_id)
                finished = await store.finish(
                    conn, write, outcome.status, result=outcome.result, error=outcome.error,
                    zoho_id=outcome.zoho_id,
                )  # fmt: skip
                if not finished:
                    raise _ClaimLostError
        except _ClaimLostError:  # another relay took the write over: its outcome stands
            logger.warning("write %s: claim lost, outcome %s dropped", write.id, outcome.status)
            return
        metrics.WRITES.labels(write.entity, outcome.metric).inc()
        logger.info("write %s (%s %s %s): %s", write.id, write.op, write.entity,
                    write.local_ref, outcome.status)  # fmt: skip

    # --- decisions (Zoho calls, no outbox writes) ---

    async def _decide(self, write: Write) -> Outcome:
        async with self._pool.acquire() as conn:
            known = await store.zoho_ids(
                conn, write.org_id, [write.local_key, *references(write.payload)]
            )
        if write.op == "create":
            return await self._create(write, known)
        zoho_id = write.zoho_id or known.get(write.local_key)
        if write.op == "delete":
            return await self._delete(write, zoho_id)
        if zoho_id is None:
            return Outcome("rejected", "rejected", error=f"{write.entity} local_ref "
                           f"{write.local_ref!r} has no Zoho record to update")  # fmt: skip
        return await self._update(write, zoho_id, known)

    async def _resolved(self, write: Write, payload: Mapping[str, Any],
                        known: Mapping[tuple[str, str], str]) -> dict[str, Any]:  # fmt: skip
        try:
            return resolve(payload, known)
        except UnresolvedReferenceError as exc:
            async with self._pool.acquire() as conn:
                if await store.create_open(conn, write.org_id, exc.key):
                    raise _WaitForReference(str(exc)) from exc
            raise

    async def _create(self, write: Write, known: Mapping[tuple[str, str], str]) -> Outcome:
        spec = spec_of(write.entity)
        key_field = self._settings.key_fields[write.entity]
        if write.attempts > 1:  # an earlier attempt may have been applied: look before sending
            found = await self._client.find(write.org_id, write.entity, key_field,
                                            write.idempotency_key)  # fmt: skip
            if found is not None:
                return self._applied(write, found, created=True, metric="found")
        if write.local_key in known:
            return Outcome(
                "rejected",
                "rejected",
                error=f"{write.entity} local_ref "
                f"{write.local_ref!r} is already Zoho record {known[write.local_key]}",
            )
        try:
            body = await self._resolved(
                write, with_key(write.payload, key_field, write.idempotency_key), known
            )
        except UnresolvedReferenceError as exc:
            return Outcome("rejected", "rejected", error=str(exc))
        answer = await self._client.send(write.org_id, write.entity, "POST", None, body)
        if isinstance(answer, ZohoRejection):
            return _rejected(answer)
        return self._applied(write, answer.get(spec.module_key) or {}, created=True)

    async def _update(self, write: Write, zoho_id: str,
                      known: Mapping[tuple[str, str], str]) -> Outcome:  # fmt: skip
        try:
            body = await self._resolved(write, write.payload, known)
        except UnresolvedReferenceError as exc:
            return Outcome("rejected", "rejected", error=str(exc))
        expected = write.expected_last_modified_time
        if expected is not None:
            current = await self._client.read(write.org_id, write.entity, zoho_id)
            if current is None:
                return Outcome(
                    "rejected",
                    "rejected",
                    zoho_id=zoho_id,
                    error=f"{write.entity} {zoho_id} does not exist in Zoho",
                )
            version = version_of(current)
            if version is not None and version > expected:
                if write.attempts > 1 and already_applied(body, current):
                    return self._applied(write, current)  # our own earlier attempt landed
                return self._conflict(write, zoho_id, current, version)
        spec = spec_of(write.entity)
        answer = await self._client.send(write.org_id, write.entity, "PUT", zoho_id, body)
        if isinstance(answer, ZohoRejection):
            return _rejected(answer, zoho_id)
        return self._applied(write, answer.get(spec.module_key) or {})

    async def _delete(self, write: Write, zoho_id: str | None) -> Outcome:
        if zoho_id is None:  # its create never reached Zoho: nothing to delete
            return Outcome("applied", "applied", error=f"{write.entity} local_ref "
                           f"{write.local_ref!r} never had a Zoho record")  # fmt: skip
        sent_at = datetime.now(UTC)
        answer = await self._client.send(write.org_id, write.entity, "DELETE", zoho_id, None)
        if isinstance(answer, ZohoRejection) and not answer.not_found:
            return _rejected(answer, zoho_id)
        gone = Change(write.entity, write.org_id, zoho_id, "delete", {}, SOURCE,
                      observed_at=sent_at, read=True)  # fmt: skip
        note = "already gone in Zoho" if isinstance(answer, ZohoRejection) else None
        return Outcome("applied", "applied", result=None, error=note, zoho_id=zoho_id,
                       mirror=[gone])  # fmt: skip

    def _applied(self, write: Write, record: Mapping[str, Any], *, created: bool = False,
                 metric: str = "applied") -> Outcome:  # fmt: skip
        spec = spec_of(write.entity)
        zoho_id = str(record.get(spec.id_field) or "") or None
        if zoho_id is None:
            return Outcome("failed", "failed", result=record,
                           error=f"Zoho's answer has no {spec.id_field}")  # fmt: skip
        change = Change(write.entity, write.org_id, zoho_id, "upsert", record, SOURCE,
                        observed_at=datetime.now(UTC), read=True)  # fmt: skip
        return Outcome("applied", metric, result=record, zoho_id=zoho_id, mirror=[change],
                       created=created)  # fmt: skip

    def _conflict(self, write: Write, zoho_id: str, current: Mapping[str, Any],
                  version: datetime) -> Outcome:  # fmt: skip
        expected = write.expected_last_modified_time
        refresh = Change(write.entity, write.org_id, zoho_id, "upsert", current, "books",
                         observed_at=datetime.now(UTC), read=True)  # fmt: skip
        error = f"Zoho's version {version.isoformat()} is newer than the expected {expected}"
        return Outcome("conflict", "conflict", result=current, error=error, zoho_id=zoho_id,
                       mirror=[refresh])  # fmt: skip


class _ClaimLostError(Exception):
    """Rolls back an outcome whose claim another relay took over."""


def _rejected(answer: ZohoRejection, zoho_id: str | None = None) -> Outcome:
    result = {"code": answer.code, "message": answer.message, "http_status": answer.http_status}
    return Outcome("rejected", "rejected", result=result, error=answer.describe(),
                   zoho_id=zoho_id)  # fmt: skip
