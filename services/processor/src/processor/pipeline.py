"""One batch of Kafka records into the mirror: decode, skip known, read, map, write, dead-letter.

The rules (docs/architecture.md, "Kafka"):

- Events the inbox already holds are skipped before anything else, so a redelivery, a batch
  retry or an offset reset costs neither a Zoho call nor a write.
- Thin events are completed by reads that run in the background (:mod:`processor.reads`); a
  read that has not finished after ``read_wait_seconds`` defers its record, not the batch.
- Good records of a batch are written in ONE transaction (inbox + mirror + queue rows). A batch
  that fails on data is retried record by record, so only the records that fail alone are
  poison: they go to the DLQ topic and are recorded in ``tds_sync_queue`` as ``dead_letter``.
- A failure that is the record's own and may pass (:class:`RecordFailedError`: a proxy 5xx or
  401/403 for one id, a record that cannot be rendered, a database error only this record
  meets) counts an attempt (:mod:`processor.attempts`) and defers the record; after
  ``max_attempts`` it is parked as a dead letter with reason ``retries_exhausted``.
- Waiting on zoho-proxy (429, unreachable, 503) defers the record without counting anything.
- A deferred record stops its partition there: records behind it are ``held`` (not written in
  this batch), so each partition commits a prefix and keeps its order. Other partitions go on.
- PostgreSQL or Kafka unavailable raise :class:`TransientError` out of
  :meth:`BatchProcessor.process`: the consumer rewinds the batch and waits. Never a dead letter.

Retrying is safe because every write is idempotent: the inbox dedup key turns a repeated event
into a no-op and the monotonic upsert ignores older versions.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import asyncpg
from opentelemetry.trace import Span
from pydantic import ValidationError

from processor.attempts import clear_attempts, record_failures, retry_delay
from processor.deadletters import (
    DeadLetterPublisher,
    DeadLetterTooLargeError,
    remember_location,
)
from processor.errors import RecordFailedError, RetriesExhaustedError
from processor.reads import ReadTask, ThinReads
from processor.records import Item, KafkaRecord
from processor.settings import Settings
from processor.spans import batch_spans, end_spans, open_spans, within
from processor.store import (
    SameVersionConflictError,
    inbox_json,
    known_events,
    record_dead_letter,
    store_dead_letter_value,
    write_batch,
)
from tds_common.catalogue import ENTITIES, get_entity
from tds_common.db_errors import DbFault, db_fault, write_isolating
from tds_common.errors import (
    InvalidMessageError,
    PermanentError,
    ServiceError,
    TransientError,
    UpstreamUnavailableError,
)
from tds_common.events import EventEnvelope
from tds_common.mirror import Change, is_thin, map_change, with_raw_in_inbox
from tds_common.versions import check_version

logger = logging.getLogger(__name__)

MAX_CONFLICT_ROUNDS: Final = 3
"""Writes of one batch while same-version conflicts are settled by reads (one is the rule)."""
PREPARE_SLICE_SECONDS: Final = 0.001
"""Preparing yields to the event loop after this much work: the write running meanwhile sends
its next statement with no longer a wait than that."""


@dataclass
class PreparedBatch:
    """Records decoded, keyed and, where complete, mapped (:meth:`BatchProcessor.prepare`)."""

    items: list[Item]
    started_at: datetime
    """When preparing began: the queue rows' ``processing_started_at``."""
    span: Span | None = None
    """The batch's span, its events' spans on the items (:func:`processor.spans.open_spans`)."""

    @property
    def records(self) -> list[KafkaRecord]:
        return [item.record for item in self.items]

    def without(self, dropped: Sequence[Item]) -> PreparedBatch | None:
        """The batch less ``dropped`` (not written after all: their spans end ``held``), or
        None when nothing is left (its own span ends too)."""
        for item in dropped:
            item.outcome = "held"
        end_spans(dropped)
        gone = {id(item) for item in dropped}
        kept = [item for item in self.items if id(item) not in gone]
        if kept:
            return PreparedBatch(kept, self.started_at, self.span)
        if self.span is not None:
            self.span.end()
        return None

    def discard(self) -> None:
        """Not written after all (polled again later): end its spans."""
        self.without(self.items)


def classify(exc: BaseException) -> ServiceError:
    """Our error for whatever a write raised: transient (retry) or permanent (poison). Whose
    fault a database error is: :func:`tds_common.db_errors.db_fault`."""
    if isinstance(exc, ServiceError):
        return exc
    fault = db_fault(exc)
    sqlstate = str(getattr(exc, "sqlstate", "") or "")
    if fault is DbFault.UNAVAILABLE:
        return UpstreamUnavailableError(f"PostgreSQL unavailable: {type(exc).__name__}")
    if fault is DbFault.RECORD:
        return InvalidMessageError(f"PostgreSQL rejected the record ({sqlstate}): {exc}")
    if fault is DbFault.RECORD_SIZE:
        # Tried a bounded number of times: a smaller retry of the same data may fit.
        return RecordFailedError(f"PostgreSQL cannot take the record ({sqlstate}): {exc}")
    if fault is not None:
        # Deadlocks, serialization failures, missing schema: not the record's fault.
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


def _position(item: Item) -> tuple[str, int, int]:
    return (item.record.topic, item.record.partition, item.record.offset)


def hold_behind_deferred(items: Sequence[Item]) -> None:
    """Per partition, mark what follows the first deferred or failing record ``held`` (not done
    in this batch): a partition keeps its order, and only its first failure counts an attempt."""
    blocked: set[tuple[str, int]] = set()
    for item in sorted(items, key=_position):
        partition = (item.record.topic, item.record.partition)
        if partition in blocked:
            if item.outcome in ("pending", "duplicate"):
                item.outcome = "held"
        elif item.outcome == "deferred" or isinstance(item.error, RecordFailedError):
            blocked.add(partition)


class BatchProcessor:
    """Turns records into committed rows; see the module docstring for the rules."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        reads: ThinReads,
        dead_letters: DeadLetterPublisher,
        settings: Settings,
    ) -> None:
        self._pool = pool
        self._reads = reads
        self._dead_letters = dead_letters
        self._consumer = settings.consumer
        self._proxy = settings.proxy
        self._max_version_skew_seconds = settings.max_version_skew_seconds

    async def process(self, records: Sequence[KafkaRecord]) -> list[Item]:
        """Handle a batch; returns the items with their outcome. Raises TransientError."""
        return await self.write(await self.prepare(records))

    async def prepare(self, records: Sequence[KafkaRecord]) -> PreparedBatch:
        """The batch's CPU work, which needs neither PostgreSQL nor Zoho: decode each record,
        compute its dedup key (the payload's digest), map the events complete enough to be
        written as they are (most), and open the spans. The consumer runs it for the next
        batch while the current one writes, so it yields to the event loop every
        :data:`PREPARE_SLICE_SECONDS` (the write's next statement goes out meanwhile). Never
        raises: it writes nothing, and a prepared batch may be dropped unwritten
        (:meth:`PreparedBatch.without`)."""
        started_at = datetime.now(UTC)
        items: list[Item] = []
        slice_started = time.perf_counter()
        for record in records:
            items.append(self._prepared(record))
            if time.perf_counter() - slice_started >= PREPARE_SLICE_SECONDS:
                await asyncio.sleep(0)
                slice_started = time.perf_counter()
        return PreparedBatch(items, started_at, open_spans(items))

    def _prepared(self, record: KafkaRecord) -> Item:
        try:
            item = decode(record)
        except Exception as exc:  # a bug met by this record alone: bounded retries, then parked
            logger.exception("cannot decode a record")
            item = Item(record)
            item.error = RecordFailedError(f"cannot decode the record: {type(exc).__name__}")
            return item
        if item.envelope is None or item.error is not None:
            return item
        _ = item.dedup_key  # its payload's digest, computed here rather than while writing
        try:
            needs_read = self._needs_read(item)
        except PermanentError as exc:
            item.error = exc
            return item
        if not needs_read:
            self._map(item)
        # What the write sends, rendered now, while the batch before is being written.
        inbox_json(item)
        if item.mapped is not None:
            item.mapped.render()
        return item

    async def write(self, batch: PreparedBatch) -> list[Item]:
        """Write a prepared batch; returns its items with their outcome. Raises TransientError."""
        with batch_spans(batch.items, batch.span):
            return await self._process(batch.items, batch.started_at)

    async def _process(self, items: list[Item], started_at: datetime) -> list[Item]:
        known: set[str] = set()
        # Asking the inbox first spares a held event its read, its failure count or its dead
        # letter. A batch of events written as they came needs no such answer: the inbox
        # insert passes over the events it holds (store.write_batch), one query fewer.
        if any(i.envelope and (i.error or i.mapped is None) for i in items):
            try:
                known = await known_events(self._pool, [i.dedup_key for i in items if i.envelope])
            except Exception as exc:
                raise _infrastructure(exc) from exc
        seen: set[str] = set()
        for item in sorted(items, key=_position):
            if item.envelope is None:
                continue
            # Known to the inbox (a complete record is checked against the mirror when written:
            # store.write_batch), or a copy of an event earlier in this batch (always on the
            # same partition, so behind it: it can only be done once the first one is).
            costly = item.error is not None or item.mapped is None
            if (costly and item.dedup_key in known) or item.dedup_key in seen:
                item.outcome = "duplicate"
            seen.add(item.dedup_key)
        await self._complete([i for i in items if i.outcome == "pending" and i.error is None])
        for item in items:
            if item.outcome == "pending" and item.error is None and item.mapped is None:
                self._map(item)
        hold_behind_deferred(items)
        failing = [
            i for i in items if i.outcome == "pending" and isinstance(i.error, RecordFailedError)
        ]
        await self._count_failures(failing)
        await self._write_settled(items, started_at)
        for item in items:
            if item.outcome == "pending" and item.error is not None:
                await self._dead_letter(item, started_at)
        return items

    async def _write_settled(self, items: list[Item], started_at: datetime) -> None:
        """Write the good items; events that meet another content at their version (two edits
        in one second) are read through zoho-proxy and the batch is written again, so the
        mirror ends with what Zoho holds now, never with whichever event came first."""
        for _ in range(MAX_CONFLICT_ROUNDS):
            good = [i for i in items if i.outcome == "pending" and i.error is None]
            if not good:
                return
            try:
                await self._write(good, started_at)
            except SameVersionConflictError as conflict:
                clashing = [i for i in good if id(i.mapped) in conflict.seen_at]
                logger.info(
                    "%d event(s) meet another content at their version; reading Zoho", len(clashing)
                )
                for item in clashing:
                    item.conflict = True
                    item.conflict_seen_at = conflict.seen_at[id(item.mapped)]
                    item.mapped = item.completed = item.read_at = None
                    item.gone = False
                await self._complete(clashing)
                for item in clashing:
                    if item.outcome == "pending" and item.error is None:
                        self._map(item)
                hold_behind_deferred(items)
                continue
            hold_behind_deferred(items)
            return
        for item in items:  # Zoho kept changing under our reads: try these again later
            if item.outcome == "pending" and item.error is None:
                self._wait(item, UpstreamUnavailableError("the record keeps changing in Zoho"))
        hold_behind_deferred(items)

    async def _complete(self, items: list[Item]) -> None:
        """Start (or share) the reads of thin events; wait briefly; defer what is unfinished."""
        covers: dict[tuple[str, int], int] = {}
        for item in items:
            key = (item.record.topic, item.record.partition)
            covers[key] = max(covers.get(key, -1), item.record.offset)
        reads: list[tuple[Item, ReadTask]] = []
        for item in items:
            envelope = item.envelope
            assert envelope is not None
            try:
                if item.mapped is not None or not self._needs_read(item):
                    continue
            except PermanentError as exc:
                item.error = exc
                continue
            key = (item.record.topic, item.record.partition)
            identity = (envelope.org_id, envelope.entity, envelope.zoho_id)
            with within(item):  # the read joins the event's trace
                task = self._reads.read(
                    identity,
                    key,
                    offset=item.record.offset,
                    covers_through=covers[key],
                    not_before=item.conflict_seen_at,
                )
            item.read_at = self._reads.requested_at(task)
            reads.append((item, task))
        running = {task for _, task in reads if not task.done()}
        if running:
            await asyncio.wait(running, timeout=self._proxy.read_wait_seconds)
        for item, task in reads:
            if not task.done():
                item.outcome = "deferred"
                item.resume_when = task.done
                item.retry_after_seconds = self._proxy.timeout_seconds
            elif task.cancelled():
                self._wait(item, UpstreamUnavailableError("zoho-proxy read cancelled"))
            elif (error := task.exception()) is not None:
                self._failed(item, error)
            elif (record := task.result()) is None:
                where = {"entity": item.entity, "offset": item.record.offset}
                logger.info("record gone in Zoho; mirroring it as deleted", extra=where)
                item.gone = True
            else:
                item.completed = record
        self._reads.forget_failures()

    def _needs_read(self, item: Item) -> bool:
        """Whether the event is written only after a read through zoho-proxy: it is thin, or
        its content met another at its version. PermanentError: its version is no timestamp."""
        envelope = item.envelope
        assert envelope is not None
        # A versioned delete is final; one without a version is checked with Zoho.
        if envelope.op != "upsert" and envelope.last_modified_time is not None:
            return False
        modified = self._change(item).modified
        return item.conflict or is_thin(get_entity(envelope.entity), envelope.payload, modified)

    def _failed(self, item: Item, error: BaseException) -> None:
        if isinstance(error, PermanentError | RecordFailedError):
            item.error = error
        elif isinstance(error, TransientError):
            self._wait(item, error)
        else:
            item.error = RecordFailedError(f"unexpected {type(error).__name__}: {error}")

    @staticmethod
    def _wait(item: Item, error: TransientError) -> None:
        """Defer without counting: zoho-proxy cannot serve anyone now."""
        item.outcome = "deferred"
        item.retry_after_seconds = error.retry_after_seconds
        logger.info("waiting for zoho-proxy: %s", error, extra={"entity": item.entity})

    @staticmethod
    def _change(item: Item) -> Change:
        """The change to mirror: the delivered event, completed or turned into a delete."""
        envelope = item.envelope
        assert envelope is not None
        # A read decides: Zoho does not have it now (whatever the event's version), or the
        # fetched record carries its own version.
        read = envelope.payload if item.gone else item.completed
        if read is not None:
            return Change(
                entity=envelope.entity,
                org_id=envelope.org_id,
                zoho_id=envelope.zoho_id,
                op="delete" if item.gone else "upsert",
                record=read,
                source=envelope.source,
                observed_at=item.read_at,
                read=True,
            )
        return Change(
            entity=envelope.entity,
            org_id=envelope.org_id,
            zoho_id=envelope.zoho_id,
            op=envelope.op,
            record=envelope.payload,
            source=envelope.source,
            last_modified_time=envelope.last_modified_time,
            observed_at=envelope.received_at,
        )

    def _map(self, item: Item) -> None:
        try:
            mapped = map_change(self._change(item))
            check_version(mapped.modified, self._max_version_skew_seconds)
            pushed = item.completed is None and not item.gone
            # A pushed record is the event's payload: its upsert reads it from the inbox row
            # the batch writes first (PostgreSQL parses it once; store.write_batch).
            item.mapped = with_raw_in_inbox(mapped, item.dedup_key) if pushed else mapped
        except PermanentError as exc:
            item.error = exc
        except Exception as exc:  # a bug met by this record alone: bounded retries, then parked
            logger.exception("cannot render a record", extra={"entity": item.entity})
            item.error = RecordFailedError(f"cannot render the record: {type(exc).__name__}")

    async def _count_failures(self, items: list[Item]) -> None:
        """One more attempt each: defer with a growing wait, or park once they are spent."""
        if not items:
            return
        try:
            async with self._pool.acquire() as conn:
                attempts = await record_failures(conn, items)
        except Exception as exc:
            raise _infrastructure(exc) from exc
        settings = self._consumer
        for item in items:
            count = attempts.get(item.dedup_key, settings.max_attempts)
            logger.warning(
                "record failed: %s",
                item.error,
                extra={
                    "entity": item.entity,
                    "attempt": count,
                    "max_attempts": settings.max_attempts,
                    "partition": item.record.partition,
                    "offset": item.record.offset,
                },
            )
            if count >= settings.max_attempts:
                item.error = RetriesExhaustedError(count, str(item.error))
                continue
            item.error = None
            item.outcome = "deferred"
            item.counted = True
            item.retry_after_seconds = retry_delay(
                count, settings.retry_initial_seconds, settings.retry_max_seconds
            )

    async def _write(self, items: list[Item], started_at: datetime) -> None:
        """The batch in one transaction, else record by record (tds_common.db_errors)."""
        blocked: set[tuple[str, int]] = set()

        async def write(batch: Sequence[Item]) -> None:
            async with self._pool.acquire() as conn, conn.transaction():
                await write_batch(conn, list(batch), started_at)  # attempts cleared too

        def isolate(exc: BaseException) -> bool:
            if isinstance(exc, SameVersionConflictError):
                return False
            error = classify(exc)
            if isinstance(error, TransientError) and not isinstance(error, RecordFailedError):
                raise error from exc
            logger.warning(
                "batch failed on a record; retrying record by record",
                extra={"records": len(items), "error": str(error)[:200]},
            )
            return True

        def held(item: Item) -> bool:
            """Behind a deferred record of its partition: written after it, never before."""
            if (item.record.topic, item.record.partition) not in blocked:
                return False
            item.outcome = "held"
            return True

        async def failed(item: Item, exc: BaseException) -> None:
            if isinstance(exc, SameVersionConflictError):
                raise exc
            error = classify(exc)
            if isinstance(error, TransientError) and not isinstance(error, RecordFailedError):
                if not await self._database_answers():
                    raise error from exc
                # The database is fine and serves the others: this failure is the record's.
                error = RecordFailedError(f"PostgreSQL failed on this record: {error}")
            item.outcome = "pending"
            item.error = error
            if isinstance(error, RecordFailedError):
                await self._count_failures([item])
                if item.outcome == "deferred":
                    blocked.add((item.record.topic, item.record.partition))

        await write_isolating(
            write, items, isolate=isolate, failed=failed, skip=held, order=_position
        )

    async def _database_answers(self) -> bool:
        try:
            async with self._pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
        except Exception:
            return False
        return True

    async def _dead_letter(self, item: Item, started_at: datetime) -> None:
        item.outcome = "dead_letter"
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                queue_id = await record_dead_letter(conn, item, started_at)
                await clear_attempts(conn, [item])
        except Exception as exc:
            raise _infrastructure(exc, "cannot record dead letter") from exc
        try:
            where = await self._dead_letters.publish(item, queue_id)
        except DeadLetterTooLargeError as exc:
            # Parked all the same: the full bytes stay in PostgreSQL, the DLQ gets a cut copy.
            logger.warning(
                "dead letter too large for the broker; publishing a cut copy",
                extra={"queue_id": queue_id, "bytes": exc.size},
            )
            try:
                async with self._pool.acquire() as conn:
                    await store_dead_letter_value(conn, queue_id, item.record)
            except Exception as db_exc:
                raise _infrastructure(db_exc, "cannot store dead letter value") from db_exc
            where = await self._dead_letters.publish(item, queue_id, cut=True)
        await remember_location(self._pool, queue_id, where)
        logger.warning(
            "dead-lettered a record",
            extra={
                "topic": item.record.topic,
                "partition": item.record.partition,
                "offset": item.record.offset,
                "entity": item.entity,
                "error": str(item.error)[:300],
            },
        )


def _infrastructure(exc: BaseException, what: str = "") -> TransientError:
    """A failure of PostgreSQL itself while recording state: the whole batch waits."""
    error = classify(exc)
    if isinstance(error, TransientError):
        return error
    prefix = f"{what}: " if what else ""
    return UpstreamUnavailableError(f"{prefix}{error}")
