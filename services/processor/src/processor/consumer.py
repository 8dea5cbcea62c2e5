"""The consumer group on ``tds.zoho.events``: poll, process, commit, back off, shut down cleanly.

At-least-once with exactly-once effect: offsets are committed manually, only after the batch's
database transaction committed (the inbox dedup key and the monotonic upsert make the
redelivery after a crash a no-op). On an infrastructure failure the consumer seeks back to the
batch's first offsets and waits (exponential backoff with jitter, capped well below the
consumer's max poll interval so the group keeps us), then polls the same records again: the
partitions are effectively paused, and nothing is dead-lettered.

Rebalances: a lock is held while a batch is written and committed; ``on_partitions_revoked``
takes the same lock, so partitions are handed over only between batches, with their offsets
committed. Offsets of partitions no longer assigned are never committed (another member owns
them now and will redo the work idempotently).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError

from processor import metrics
from processor.pipeline import BatchProcessor
from processor.records import KafkaRecord
from processor.settings import ConsumerSettings
from tds_common.errors import TransientError

logger = logging.getLogger(__name__)


def backoff_seconds(attempt: int, initial: float, ceiling: float) -> float:
    """Full-jitter exponential backoff: a random delay up to ``initial * 2**(attempt-1)``."""
    bound = min(ceiling, initial * 2 ** max(0, attempt - 1))
    return max(initial, random.uniform(bound / 2, bound))  # jitter, not crypto


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: EventConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        # Waiting for the lock lets the in-flight batch commit its rows and offsets first;
        # offsets whose commit failed earlier get one more try before the partitions go.
        async with self._owner.batch_lock:
            await self._owner.commit_pending(set(revoked))
            for tp in revoked:
                labels = (tp.topic, str(tp.partition))
                if labels in self._owner.lag_labels:
                    metrics.CONSUMER_LAG.remove(*labels)
                    self._owner.lag_labels.discard(labels)
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
        self._failures = 0
        self._lag_refreshed = 0.0

    async def run(self) -> None:
        self._consumer.subscribe([self._topic], listener=_Rebalance(self))
        try:
            if await self._started():
                self.consuming = True
                logger.info("consuming", extra={"topic": self._topic})
                while not self.stop.is_set():
                    await self._poll_once()
        finally:
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
        try:
            batch = await self._consumer.getmany(
                timeout_ms=self._settings.batch_timeout_ms,
                max_records=self._settings.batch_max_records,
            )
        except KafkaError as exc:
            await self._back_off(f"Kafka poll failed: {type(exc).__name__}", [])
            return
        records: list[KafkaRecord] = [r for rs in batch.values() for r in rs]
        if not records:
            await self._refresh_lag()
            return
        started = time.perf_counter()
        try:
            async with self.batch_lock:
                items = await self._processor.process(records)
                await self._commit(records)
        except TransientError as exc:
            metrics.MESSAGES_FAILED.labels(self._topic, type(exc).__name__).inc(len(records))
            await self._back_off(str(exc), records)
            return
        except Exception as exc:  # a bug: never lose the batch, never kill the loop silently
            logger.exception("unexpected failure processing a batch")
            metrics.MESSAGES_FAILED.labels(self._topic, type(exc).__name__).inc(len(records))
            await self._back_off(f"unexpected {type(exc).__name__}", records)
            return
        self._failures = 0
        metrics.BACKOFF_SECONDS.set(0)
        self.batches_done += 1
        elapsed = time.perf_counter() - started
        metrics.MESSAGES_CONSUMED.labels(self._topic).inc(len(records))
        metrics.BATCH_SIZE.observe(len(records))
        committed_at = datetime.now(UTC)
        for item in items:
            metrics.PROCESSING_DURATION.labels(self._topic).observe(elapsed)
            if item.outcome == "applied" and item.envelope is not None:
                freshness = (committed_at - item.envelope.received_at).total_seconds()
                metrics.FRESHNESS.labels(item.entity).observe(max(0.0, freshness))
            metrics.EVENTS_OUTCOME.labels(item.entity, item.outcome).inc()
            if item.outcome == "dead_letter" and item.error is not None:
                metrics.MESSAGES_FAILED.labels(self._topic, type(item.error).__name__).inc()
        await self._refresh_lag()

    async def _commit(self, records: Sequence[KafkaRecord]) -> None:
        assigned = self._consumer.assignment()
        offsets: dict[TopicPartition, int] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            if tp in assigned:
                offsets[tp] = max(offsets.get(tp, 0), record.offset + 1)
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
        delay = backoff_seconds(
            self._failures, self._settings.retry_initial_seconds, self._settings.retry_max_seconds
        )
        metrics.BACKOFF_SECONDS.set(delay)
        logger.warning("infrastructure failure; retrying in %.1fs (attempt %d): %s",
                       delay, self._failures, reason)  # fmt: skip
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), delay)

    async def _refresh_lag(self) -> None:
        """Consumer lag per assigned partition: high watermark minus our position."""
        now = time.monotonic()
        if now - self._lag_refreshed < self._settings.lag_refresh_seconds:
            return
        self._lag_refreshed = now
        for tp in self._consumer.assignment():
            highwater = self._consumer.highwater(tp)
            if highwater is None:
                continue
            try:
                position = await asyncio.wait_for(self._consumer.position(tp), 1.0)
            except (TimeoutError, KafkaError, IllegalStateError):
                continue
            labels = (tp.topic, str(tp.partition))
            metrics.CONSUMER_LAG.labels(*labels).set(max(0, highwater - position))
            self.lag_labels.add(labels)
