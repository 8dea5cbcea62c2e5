"""The consumer group on ``tds.zoho.events``: poll, process, commit, defer, back off, shut down.

At-least-once with exactly-once effect: offsets are committed manually, only after the batch's
database transaction committed (the inbox dedup key and the monotonic upsert make the
redelivery after a crash a no-op). A batch's offset commit (a broker round trip, a third of a
small batch's cycle) runs while the next batch is written; one is in flight at a time, so they
reach the broker in order, and a revoke or shutdown waits for it.

Two ways to wait, so that one record never stalls the others:

- **A partition waits** when one of its records is deferred (a failure of its own, with a
  bounded number of attempts; zoho-proxy busy or away; a thin event's read still running): the
  partition commits what came before the record, seeks back to it and is paused until its
  wait is over (or its read has finished). Other partitions keep flowing.
- **Everything waits** on an infrastructure failure (PostgreSQL or Kafka unavailable): the
  consumer seeks back to the batch's first offsets and backs off (exponential with jitter,
  capped well below the max poll interval so the group keeps us). Nothing is dead-lettered.

While waiting, the lag gauge keeps being refreshed from the broker's end offsets, and
``tds_processor_backoff_seconds`` says how long the current wait is: a stall is never silent.

Rebalances: a lock is held while a batch is written and committed; ``on_partitions_revoked``
takes the same lock, so partitions are handed over only between batches, with their offsets
committed. Offsets of partitions no longer assigned are never committed (another member owns
them now and will redo the work idempotently).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError

from processor import metrics
from processor.attempts import retry_delay
from processor.pipeline import BatchProcessor, PreparedBatch
from processor.records import Item, KafkaRecord
from processor.settings import ConsumerSettings
from tds_common.backoff import sleep_unless_stopping
from tds_common.errors import TransientError

logger = logging.getLogger(__name__)

KAFKA_QUERY_TIMEOUT_SECONDS: Final = 2.0
BACKLOG_CACHE_SECONDS: Final = 1.0

__all__ = ["EventConsumer"]


@dataclass
class _Pause:
    """A partition held back at its first deferred record."""

    resume_at: float
    """Monotonic time the partition polls again at the latest."""
    ready: Callable[[], bool] | None
    """Resume earlier when this says so (the record's read has finished)."""
    backing_off: bool
    """A failure, not just a read in progress: counts in ``tds_processor_backoff_seconds``."""


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: EventConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        # Waiting for the lock lets the in-flight batch commit its rows and offsets first;
        # offsets whose commit failed earlier get one more try before the partitions go.
        async with self._owner.batch_lock:
            await self._owner.offsets_committed()
            await self._owner.commit_pending(set(revoked))
            for tp in revoked:
                self._owner.forget(tp)
            self._owner.drop_ahead(set(revoked))
        logger.info("partitions revoked", extra={"partitions": [tp.partition for tp in revoked]})

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        logger.info("partitions assigned", extra={"partitions": [tp.partition for tp in assigned]})


class EventConsumer:
    """Runs the consume loop until ``stop`` is set; then finishes the batch and leaves the group."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        topic: str,
        processor: BatchProcessor,
        settings: ConsumerSettings,
    ) -> None:
        self._consumer = consumer
        self._topic = topic
        self._processor = processor
        self._settings = settings
        self.batch_lock = asyncio.Lock()
        self.lag_labels: set[tuple[str, str]] = set()
        self.stop = asyncio.Event()
        self.batches_done = 0
        self.consuming = False
        """Joined the group (the topic exists); readiness waits for it."""
        self.pending_offsets: dict[TopicPartition, int] = {}
        """Offsets of rows already committed to PostgreSQL whose Kafka commit failed."""
        self.paused: dict[TopicPartition, _Pause] = {}
        """Partitions waiting at a deferred record."""
        self.stalled_since: dict[TopicPartition, datetime] = {}
        """Per partition waiting at a deferred record: when that record was received."""
        self._waits: dict[TopicPartition, int] = {}
        """Deferrals in a row per partition without a wait of their own (exponential backoff)."""
        self._failures = 0
        self._lag_refreshed = 0.0
        self._backlog: tuple[float, int | None] = (0.0, None)
        self._ahead: PreparedBatch | None = None
        """The batch polled and prepared while the last one was written: written next."""
        self._lag_refresh: asyncio.Task[None] | None = None
        """The lag gauge's refresh, running beside the batches (:meth:`_refresh_lag_soon`)."""
        self._committing: asyncio.Task[None] | None = None
        """The last written batch's offset commit, running beside the next write."""

    async def run(self) -> None:
        self._consumer.subscribe([self._topic], listener=_Rebalance(self))
        try:
            if await self._started():
                self.consuming = True
                logger.info("consuming", extra={"topic": self._topic})
                while not self.stop.is_set():
                    await self._poll_once()
        finally:
            if self._ahead is not None:  # never written: polled again by the partitions' owner
                self._ahead.discard()
                self._ahead = None
            await self.offsets_committed()
            await self.stop_lag_refresh()
            await self._consumer.stop()
            logger.info("consumer stopped")

    async def _started(self) -> bool:
        """Start the consumer unless ``stop`` comes first (start waits for the topic to exist)."""
        starting = asyncio.create_task(self._consumer.start())
        stopping = asyncio.create_task(self.stop.wait())
        done, _ = await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if starting in done:
            starting.result()
            return True
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await starting
        return False

    async def _poll_once(self) -> None:
        """Write one batch while the next one is polled and prepared.

        Writing mostly waits on PostgreSQL and preparing (decode, digest, map) is CPU work, so
        the two overlap. The next batch is only written after this one committed its rows and
        offsets; its records of a partition this batch left unfinished are dropped (the
        partition is sought back to its first open record, which comes before them).
        """
        batch, self._ahead = self._ahead, None
        if batch is not None:  # a revoke may have come while it was polled
            batch = _less(batch, lambda tp: tp not in self._consumer.assignment())
        if batch is None:
            try:
                batch = await self._poll()
            except KafkaError as exc:
                await self._back_off(f"Kafka poll failed: {type(exc).__name__}", [])
                return
            if batch is None:
                self._refresh_lag_soon()
                return
        ahead = asyncio.create_task(self._poll())
        try:
            await self._write_during(batch, ahead)
        finally:
            if not ahead.done():  # cancelled (shutdown): the poll's records were never ours
                ahead.cancel()

    async def _write_during(
        self, batch: PreparedBatch, ahead: asyncio.Task[PreparedBatch | None]
    ) -> None:
        started = time.perf_counter()
        try:
            async with self.batch_lock:
                items = await self._processor.write(batch)
                # Rows first, then their offsets, in batch order: the previous batch's commit
                # is over before this one's starts (it has had the whole write to finish).
                await self.offsets_committed()
                self._committing = asyncio.create_task(self._commit(items))
                self._defer(items)
        except Exception as exc:
            if isinstance(exc, TransientError):
                reason = str(exc)
            else:  # a bug: never lose the batch, never kill the loop silently
                logger.exception("unexpected failure processing a batch")
                reason = f"unexpected {type(exc).__name__}"
            metrics.MESSAGES_FAILED.labels(self._topic, type(exc).__name__).inc(len(batch.items))
            # Nothing of either batch is committed: both are polled again, in order.
            later = await _polled(ahead)
            if later is not None:
                later.discard()
            await self._back_off(reason, [*batch.records, *(later.records if later else [])])
            return
        self._failures = 0
        self.batches_done += 1
        self._observe(items, time.perf_counter() - started)
        try:
            upcoming = await ahead
        except KafkaError as exc:
            await self._back_off(f"Kafka poll failed: {type(exc).__name__}", [])
            return
        self._ahead = self._after(items, upcoming)
        await self._top_up()
        self._refresh_lag_soon()

    async def _top_up(self) -> None:
        """Add to the batch prepared ahead what arrived since its poll, up to the batch size.

        The poll ahead returns as soon as records are there, early in the write; without this,
        records arriving during the rest of the write waited for one more write. Under a backlog
        the poll ahead fills the batch itself and nothing is added."""
        room = self._settings.batch_max_records - (len(self._ahead.items) if self._ahead else 0)
        if room <= 0:
            return
        try:
            more = await self._poll(timeout_ms=0, max_records=room)
        except KafkaError:
            return  # the next poll meets the same trouble and backs off
        if more is not None:
            # Read self._ahead only now: a revoke during the poll may have trimmed it.
            self._ahead = more if self._ahead is None else _joined(self._ahead, more)

    async def _poll(
        self, *, timeout_ms: int | None = None, max_records: int | None = None
    ) -> PreparedBatch | None:
        """The next batch (by default waiting ``batch_timeout_ms`` for up to
        ``batch_max_records``), prepared; None when there is none. KafkaError: nothing was
        taken."""
        self._resume_due()
        batch = await self._consumer.getmany(
            timeout_ms=self._settings.batch_timeout_ms if timeout_ms is None else timeout_ms,
            max_records=max_records or self._settings.batch_max_records,
        )
        records: list[KafkaRecord] = [r for rs in batch.values() for r in rs]
        if not records:
            return None
        return await self._processor.prepare(records)

    def _after(
        self, written: Sequence[Item], upcoming: PreparedBatch | None
    ) -> PreparedBatch | None:
        """``upcoming``, less what was polled before :meth:`_defer` sought partitions back.

        A partition ``written`` left unfinished was sought back to its first open record. Its
        records in ``upcoming`` start there when they were polled since: they are what comes
        next. Otherwise they were polled before and come after that record: they are dropped,
        and the partition is sought back to the open record once more (the poll moved on)."""
        if upcoming is None:
            return None
        reopened: dict[TopicPartition, int] = {}
        for item in written:
            if not item.done:
                tp = TopicPartition(item.record.topic, item.record.partition)
                reopened[tp] = min(reopened.get(tp, item.record.offset), item.record.offset)
        stale: set[TopicPartition] = set()
        for tp, part in _by_partition(upcoming.items).items():
            if tp in reopened and part[0].record.offset != reopened[tp]:
                stale.add(tp)
        if not stale:
            return upcoming
        assigned = self._consumer.assignment()
        for tp in stale & assigned:
            with contextlib.suppress(IllegalStateError):
                self._consumer.seek(tp, reopened[tp])
        dropped = [
            item
            for item in upcoming.items
            if TopicPartition(item.record.topic, item.record.partition) in stale
        ]
        return upcoming.without(dropped)

    def _observe(self, items: list[Item], elapsed: float) -> None:
        done = [item for item in items if item.done]
        metrics.MESSAGES_CONSUMED.labels(self._topic).inc(len(done))
        metrics.BATCH_SIZE.observe(len(items))
        committed_at = datetime.now(UTC)
        for item in items:
            if item.counted:
                metrics.MESSAGES_FAILED.labels(self._topic, "RecordFailedError").inc()
            if not item.done:
                continue
            metrics.PROCESSING_DURATION.labels(self._topic).observe(elapsed)
            if item.outcome == "applied" and item.envelope is not None:
                freshness = (committed_at - item.envelope.received_at).total_seconds()
                metrics.FRESHNESS.labels(item.entity).observe(max(0.0, freshness))
            metrics.EVENTS_OUTCOME.labels(item.entity, item.outcome).inc()
            if item.outcome == "dead_letter" and item.error is not None:
                metrics.MESSAGES_FAILED.labels(self._topic, type(item.error).__name__).inc()

    async def offsets_committed(self) -> None:
        """Wait for the offset commit in flight, if any (its failures are remembered in
        :attr:`pending_offsets` by :meth:`_commit` itself)."""
        committing, self._committing = self._committing, None
        if committing is None:
            return
        try:
            await committing
        except Exception:  # a bug; the rows are in, so at worst their records come again
            logger.exception("unexpected failure committing offsets")

    async def _commit(self, items: Sequence[Item]) -> None:
        """Commit, per assigned partition, the offsets up to its first record not done."""
        assigned = self._consumer.assignment()
        offsets: dict[TopicPartition, int] = {}
        for tp, part in _by_partition(items).items():
            if tp not in assigned:
                continue
            first_open = next((i.record.offset for i in part if not i.done), None)
            if first_open is None:
                offsets[tp] = part[-1].record.offset + 1
            elif first_open > part[0].record.offset:
                offsets[tp] = first_open
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except KafkaError as exc:
            # The rows are committed; a redelivery of these records would be a no-op, but
            # remember the offsets so a revoke (or the next batch) commits them after all.
            logger.warning("offset commit failed: %s", type(exc).__name__)
            self.pending_offsets.update(offsets)
            return
        for tp in offsets:
            self.pending_offsets.pop(tp, None)

    def _defer(self, items: Sequence[Item]) -> None:
        """Seek each partition back to its first record not done; pause it if that record was
        deferred (a record merely held behind a parked one is polled again at once)."""
        now = time.monotonic()
        assigned = self._consumer.assignment()
        for tp, part in _by_partition(items).items():
            first = next((i for i in part if not i.done), None)
            if first is None or first.outcome != "deferred":
                self._waits.pop(tp, None)
            if first is not None and first.outcome == "deferred" and first.envelope is not None:
                self.stalled_since[tp] = first.envelope.received_at
            else:
                self.stalled_since.pop(tp, None)
            if first is None or tp not in assigned:
                continue
            if first.outcome != "deferred":
                with contextlib.suppress(IllegalStateError):
                    self._consumer.seek(tp, first.record.offset)
                continue
            delay = first.retry_after_seconds
            if delay is None:  # no wait of its own: back off per partition
                self._waits[tp] = self._waits.get(tp, 0) + 1
                delay = retry_delay(
                    self._waits[tp],
                    self._settings.retry_initial_seconds,
                    self._settings.retry_max_seconds,
                )
            backing_off = first.resume_when is None
            self.paused[tp] = _Pause(now + delay, first.resume_when, backing_off)
            with contextlib.suppress(IllegalStateError):
                self._consumer.seek(tp, first.record.offset)
                self._consumer.pause(tp)
            if backing_off:
                logger.info(
                    "partition waits at a deferred record",
                    extra={
                        "partition": tp.partition,
                        "offset": first.record.offset,
                        "wait_seconds": delay,
                        "entity": first.entity,
                    },
                )
        self._set_backoff_gauge(now)

    def _resume_due(self) -> None:
        now = time.monotonic()
        for tp, pause in list(self.paused.items()):
            if now >= pause.resume_at or (pause.ready is not None and pause.ready()):
                del self.paused[tp]
                with contextlib.suppress(IllegalStateError):
                    self._consumer.resume(tp)
        self._set_backoff_gauge(now)

    def _set_backoff_gauge(self, now: float) -> None:
        waits = [p.resume_at - now for p in self.paused.values() if p.backing_off]
        metrics.BACKOFF_SECONDS.set(max([0.0, *waits]))
        # Freshness only moves when events are applied; this moves while nothing is.
        since = self.stalled_since.values()
        oldest = (datetime.now(UTC) - min(since)).total_seconds() if since else 0.0
        metrics.OLDEST_DEFERRED_AGE.set(max(0.0, oldest))
        metrics.DEFERRED_PARTITIONS.labels("backoff").set(len(waits))
        metrics.DEFERRED_PARTITIONS.labels("read").set(len(self.paused) - len(waits))

    def forget(self, tp: TopicPartition) -> None:
        """A revoked partition: no pause, no lag of ours any more."""
        self.paused.pop(tp, None)
        self.stalled_since.pop(tp, None)
        self._waits.pop(tp, None)
        labels = (tp.topic, str(tp.partition))
        if labels in self.lag_labels:
            metrics.CONSUMER_LAG.remove(*labels)
            self.lag_labels.discard(labels)

    def drop_ahead(self, revoked: set[TopicPartition]) -> None:
        """The batch prepared ahead, less the records of ``revoked`` partitions: their new owner
        starts from the committed offset, so writing them here would make two writers of one
        partition (and spend Zoho reads twice)."""
        if self._ahead is not None:
            self._ahead = _less(self._ahead, revoked.__contains__)

    async def commit_pending(self, partitions: set[TopicPartition]) -> None:
        """Commit remembered offsets of ``partitions`` (called on revoke, under the lock)."""
        offsets = {tp: o for tp, o in self.pending_offsets.items() if tp in partitions}
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except KafkaError as exc:
            logger.warning("offset commit on revoke failed: %s", type(exc).__name__)
        for tp in offsets:
            self.pending_offsets.pop(tp, None)

    def _rewind(self, records: Sequence[KafkaRecord]) -> None:
        first: dict[TopicPartition, int] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            first[tp] = min(first.get(tp, record.offset), record.offset)
        for tp, offset in first.items():
            with contextlib.suppress(IllegalStateError):  # revoked meanwhile: not ours anymore
                self._consumer.seek(tp, offset)

    async def _back_off(self, reason: str, records: Sequence[KafkaRecord]) -> None:
        self._rewind(records)
        self._failures += 1
        delay = retry_delay(
            self._failures, self._settings.retry_initial_seconds, self._settings.retry_max_seconds
        )
        metrics.BACKOFF_SECONDS.set(delay)
        logger.warning(
            "infrastructure failure; retrying: %s",
            reason,
            extra={"retry_in_seconds": delay, "attempt": self._failures},
        )
        until = time.monotonic() + delay
        while not self.stop.is_set() and (left := until - time.monotonic()) > 0:
            await sleep_unless_stopping(self.stop, min(left, self._settings.lag_refresh_seconds))
            await self._refresh_lag()  # the backlog keeps growing while we wait: show it
        metrics.BACKOFF_SECONDS.set(0)

    def _refresh_lag_soon(self) -> None:
        """Refresh the lag gauge beside the batches when it is due: its broker queries (up to
        2 s when the broker is slow) must not hold back the next batch."""
        due = time.monotonic() - self._lag_refreshed >= self._settings.lag_refresh_seconds
        if due and (self._lag_refresh is None or self._lag_refresh.done()):
            self._lag_refresh = asyncio.create_task(self._refresh_lag())
            self._lag_refresh.add_done_callback(_log_failure)

    async def stop_lag_refresh(self) -> None:
        """Stop a lag refresh still running (at shutdown, before the consumer closes)."""
        if self._lag_refresh is not None:
            self._lag_refresh.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lag_refresh
            self._lag_refresh = None

    async def _refresh_lag(self) -> None:
        """Consumer lag per assigned partition: the broker's end offset minus our position."""
        now = time.monotonic()
        if now - self._lag_refreshed < self._settings.lag_refresh_seconds:
            return
        self._lag_refreshed = now
        assigned = list(self._consumer.assignment())
        if not assigned:
            return
        try:
            ends = await asyncio.wait_for(
                self._consumer.end_offsets(assigned), KAFKA_QUERY_TIMEOUT_SECONDS
            )
        except (TimeoutError, KafkaError, IllegalStateError):
            # The broker is away: the last fetch's high watermarks are the best we know.
            ends = {tp: hw for tp in assigned if (hw := self._consumer.highwater(tp)) is not None}
        for tp in assigned:
            if tp not in ends:
                continue
            try:
                position = await asyncio.wait_for(self._consumer.position(tp), 1.0)
            except (TimeoutError, KafkaError, IllegalStateError):
                continue
            if tp not in self._consumer.assignment():
                continue  # revoked while we asked: forget() has dropped its gauge
            labels = (tp.topic, str(tp.partition))
            metrics.CONSUMER_LAG.labels(*labels).set(max(0, ends[tp] - position))
            self.lag_labels.add(labels)

    async def backlog(self) -> int | None:
        """Messages of the topic the group has not committed yet, over all partitions (every
        replica's, not just ours); ``None`` when the broker cannot tell now."""
        cached_at, value = self._backlog
        if time.monotonic() - cached_at < BACKLOG_CACHE_SECONDS:
            return value
        try:
            value = await asyncio.wait_for(self._group_lag(), KAFKA_QUERY_TIMEOUT_SECONDS)
        except (TimeoutError, KafkaError, IllegalStateError) as exc:
            logger.warning("cannot read the group's lag: %s", type(exc).__name__)
            value = None
        self._backlog = (time.monotonic(), value)
        return value

    async def _group_lag(self) -> int | None:
        partitions = self._consumer.partitions_for_topic(self._topic)
        if not partitions:
            return None
        tps = [TopicPartition(self._topic, p) for p in sorted(partitions)]
        ends = await self._consumer.end_offsets(tps)
        total = 0
        for tp in tps:
            committed = await self._consumer.committed(tp)
            total += max(0, ends[tp] - (committed or 0))
        return total


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        logger.warning("lag refresh failed: %s", type(exc).__name__)


def _joined(batch: PreparedBatch, more: PreparedBatch) -> PreparedBatch:
    """``batch`` and then ``more``, written as one batch under ``batch``'s span. ``more``'s own
    span ends at once, linked to it; its events' spans keep their link to that span."""
    if batch.span is not None and more.span is not None:
        more.span.add_link(batch.span.get_span_context())
        more.span.end()
        batch.span.set_attribute(
            "messaging.batch.message_count", len(batch.items) + len(more.items)
        )
    return PreparedBatch([*batch.items, *more.items], batch.started_at, batch.span)


async def _polled(polling: asyncio.Task[PreparedBatch | None]) -> PreparedBatch | None:
    """What a poll took (nothing when it failed)."""
    try:
        return await polling
    except KafkaError:
        return None


def _less(batch: PreparedBatch, gone: Callable[[TopicPartition], bool]) -> PreparedBatch | None:
    """``batch`` without the items of partitions ``gone`` says are no longer ours."""
    dropped = [i for i in batch.items if gone(TopicPartition(i.record.topic, i.record.partition))]
    return batch.without(dropped) if dropped else batch


def _by_partition(items: Sequence[Item]) -> dict[TopicPartition, list[Item]]:
    """Items per partition, in offset order."""
    parts: dict[TopicPartition, list[Item]] = {}
    for item in items:
        parts.setdefault(TopicPartition(item.record.topic, item.record.partition), []).append(item)
    for part in parts.values():
        part.sort(key=lambda i: i.record.offset)
    return parts
