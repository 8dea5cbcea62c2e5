"""One batch of Kafka records into the mirror: decode, complete, map, write, dead-letter.

The rules (docs/architecture.md#kafka, issue 6):

- Good records of a batch are written in ONE transaction (inbox + mirror + queue rows).
- Infrastructure failures (PostgreSQL, zoho-proxy, Kafka unreachable or timing out) raise
  :class:`TransientError` out of :meth:`BatchProcessor.process`: the consumer rewinds and
  retries the whole batch later. They never produce a dead letter.
- A batch that fails on data is retried record by record, each in its own transaction, so
  only the records that fail alone are poison. Poison goes to the DLQ topic and is recorded in
  ``tds_sync_queue`` as ``dead_letter``; the rest commit.

Retrying a batch is safe because every write is idempotent: the inbox dedup key turns a
repeated event into a no-op and the monotonic upsert ignores older versions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

import asyncpg
from pydantic import ValidationError

from processor.deadletters import DeadLetterPublisher
from processor.proxy import ProxyClient
from processor.records import Item, KafkaRecord
from processor.store import record_dead_letter, write_batch
from tds_common.catalogue import ENTITIES
from tds_common.db import CONNECTION_ERRORS
from tds_common.errors import (
    InvalidMessageError,
    PermanentError,
    ServiceError,
    TransientError,
    UpstreamUnavailableError,
)
from tds_common.events import EventEnvelope
from tds_common.mirror import Change, get_spec, is_thin, map_change

logger = logging.getLogger(__name__)

DATA_ERROR_CLASSES: Final = frozenset({"22", "23"})
"""SQLSTATE classes that mean "this data cannot be stored": data exceptions, constraints."""


def classify(exc: BaseException) -> ServiceError:
    """Our error for whatever a write raised: transient (retry) or permanent (poison)."""
    if isinstance(exc, ServiceError):
        return exc
    if isinstance(exc, CONNECTION_ERRORS):
        return UpstreamUnavailableError(f"PostgreSQL unavailable: {type(exc).__name__}")
    if isinstance(exc, asyncpg.PostgresError):
        sqlstate = str(getattr(exc, "sqlstate", "") or "")
        if sqlstate[:2] in DATA_ERROR_CLASSES:
            return InvalidMessageError(f"PostgreSQL rejected the record ({sqlstate}): {exc}")
        # Deadlocks, serialization failures, shutdowns, missing schema: not the record's fault.
        return UpstreamUnavailableError(f"PostgreSQL error ({sqlstate}): {type(exc).__name__}")
    # An unexpected failure confined to one record is that record's problem (it is
    # isolated by the row-by-row retry first; a systematic bug shows up in the DLQ, replayable).
    return InvalidMessageError(f"unexpected {type(exc).__name__}: {exc}")


def decode(record: KafkaRecord) -> Item:
    item = Item(record)
    if record.value is None:
        item.error = InvalidMessageError("empty record value")
        return item
    try:
        envelope = EventEnvelope.from_bytes(record.value)
    except (ValidationError, ValueError) as exc:
        item.error = InvalidMessageError(f"not an event envelope: {str(exc)[:300]}")
        return item
    item.envelope = envelope
    if envelope.entity not in ENTITIES:
        item.error = InvalidMessageError(f"unknown entity {envelope.entity!r}")
    return item


class BatchProcessor:
    """Turns records into committed rows; see the module docstring for the rules."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        proxy: ProxyClient,
        dead_letters: DeadLetterPublisher,
        *,
        proxy_concurrency: int = 4,
    ) -> None:
        self._pool = pool
        self._proxy = proxy
        self._dead_letters = dead_letters
        self._proxy_slots = asyncio.Semaphore(proxy_concurrency)

    async def process(self, records: Sequence[KafkaRecord]) -> list[Item]:
        """Handle a batch; returns the items with their outcome. Raises TransientError."""
        started_at = datetime.now(UTC)
        items = [decode(record) for record in records]
        # Every read finishes (or fails) before we decide: no orphaned requests on a failure.
        outcomes = await asyncio.gather(
            *(self._complete(item) for item in items if item.error is None),
            return_exceptions=True,
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        for item in items:
            if item.error is None:
                self._map(item)
        good = [item for item in items if item.error is None]
        if good:
            await self._write(good, started_at)
        for item in items:
            if item.error is not None:
                await self._dead_letter(item, started_at)
        return items

    async def _complete(self, item: Item) -> None:
        """Read a thin event's record through zoho-proxy; 404 turns it into a delete."""
        envelope = item.envelope
        assert envelope is not None
        if envelope.op != "upsert":
            return
        try:
            modified = self._change(item).modified
        except PermanentError as exc:
            item.error = exc
            return
        if not is_thin(get_spec(envelope.entity), envelope.payload, modified):
            return
        async with self._proxy_slots:
            try:
                record = await self._proxy.fetch(envelope.entity, envelope.org_id, envelope.zoho_id)
            except PermanentError as exc:
                item.error = exc
                return
        if record is None:
            logger.info("record gone in Zoho; mirroring it as deleted",
                        extra={"entity": envelope.entity, "zoho_id": envelope.zoho_id})  # fmt: skip
            item.gone = True
        else:
            item.completed = record

    @staticmethod
    def _change(item: Item) -> Change:
        """The change to mirror: the delivered event, completed or turned into a delete."""
        envelope = item.envelope
        assert envelope is not None
        if item.gone:
            version = envelope.last_modified_time
            return Change(envelope.entity, envelope.org_id, envelope.zoho_id, "delete",
                          envelope.payload, envelope.source, version)  # fmt: skip
        if item.completed is not None:  # the fetched record carries its own version
            return Change(envelope.entity, envelope.org_id, envelope.zoho_id, "upsert",
                          item.completed, envelope.source)  # fmt: skip
        return Change(envelope.entity, envelope.org_id, envelope.zoho_id, envelope.op,
                      envelope.payload, envelope.source, envelope.last_modified_time)  # fmt: skip

    def _map(self, item: Item) -> None:
        try:
            item.mapped = map_change(self._change(item))
        except PermanentError as exc:
            item.error = exc

    async def _write(self, items: list[Item], started_at: datetime) -> None:
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await write_batch(conn, items, started_at)
            return
        except Exception as exc:
            error = classify(exc)
            if isinstance(error, TransientError):
                raise error from exc
            logger.warning("batch failed on data; retrying record by record",
                           extra={"records": len(items), "error": str(error)[:200]})  # fmt: skip
        for item in items:
            try:
                async with self._pool.acquire() as conn, conn.transaction():
                    await write_batch(conn, [item], started_at)
            except Exception as exc:
                error = classify(exc)
                if isinstance(error, TransientError):
                    raise error from exc
                item.error = error

    async def _dead_letter(self, item: Item, started_at: datetime) -> None:
        item.outcome = "dead_letter"
        try:
            async with self._pool.acquire() as conn:
                queue_id = await record_dead_letter(conn, item, started_at)
        except Exception as exc:
            error = classify(exc)
            if isinstance(error, TransientError):
                raise error from exc
            raise UpstreamUnavailableError(f"cannot record dead letter: {error}") from exc
        await self._dead_letters.publish(item, queue_id)
        logger.warning("dead-lettered a record", extra={
            "topic": item.record.topic, "partition": item.record.partition,
            "offset": item.record.offset, "entity": item.entity, "error": str(item.error)[:300],
        })  # fmt: skip
