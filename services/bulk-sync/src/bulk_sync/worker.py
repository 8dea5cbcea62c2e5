"""The consumer group on ``tds.sync.requests``: one command at a time, offsets after the run.

A run can take far longer than Kafka's max poll interval, so while it executes (as a task) every
assigned partition is paused and the loop keeps polling: the group keeps us, and no further
command is taken. The command's offset is committed only when its run ended (completed, failed,
or found ended already). When the worker stops, or loses the partition in a rebalance, the run
is interrupted between pages and the offset is not committed: whoever gets the command next
resumes the run from its checkpoint. A malformed command is logged and committed (it can never
succeed). PostgreSQL outages back off and retry the same command.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterable, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from bulk_sync.executor import Outcome, RunExecutor
from bulk_sync.models import SyncCommand
from bulk_sync.settings import ConsumerSettings
from bulk_sync.spans import run_span
from tds_common.backoff import backoff_seconds, sleep_unless_stopping
from tds_common.errors import TransientError

logger = logging.getLogger(__name__)

RETRY_INITIAL_SECONDS = 1.0
RETRY_MAX_SECONDS = 30.0


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: SyncWorker) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        await self._owner.revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        self._owner.assigned(set(assigned))


class SyncWorker:
    """Runs until ``stop`` is set; the run in progress then checkpoints and the loop ends."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        topic: str,
        executor: RunExecutor,
        settings: ConsumerSettings,
        stop: asyncio.Event,
    ) -> None:
        self._consumer = consumer
        self._topic = topic
        self._executor = executor
        self._settings = settings
        self.stop = stop
        self._current: tuple[TopicPartition, asyncio.Task[Outcome]] | None = None
        self.outcomes: list[tuple[str, Outcome]] = []
        """(run id, outcome) of every command handled, for tests and logs."""

    async def run(self) -> None:
        self._consumer.subscribe([self._topic], listener=_Rebalance(self))
        await self._consumer.start()
        logger.info("consuming sync commands", extra={"topic": self._topic})
        try:
            while not self.stop.is_set():
                try:
                    batch = await self._consumer.getmany(
                        timeout_ms=self._settings.poll_timeout_ms, max_records=1
                    )
                except KafkaError as exc:
                    logger.warning("Kafka poll failed: %s", type(exc).__name__)
                    await self._sleep(RETRY_INITIAL_SECONDS)
                    continue
                for tp, records in batch.items():
                    for record in records:
                        await self._handle(tp, record.offset, record.value, record.headers)
        finally:
            await self._consumer.stop()
            logger.info("sync worker stopped")

    async def _handle(
        self,
        tp: TopicPartition,
        offset: int,
        value: bytes | None,
        headers: Iterable[tuple[str, bytes | None]] | None = None,
    ) -> None:
        try:
            command = SyncCommand.model_validate_json(value or b"")
            uuid.UUID(command.run_id)
        except (ValidationError, ValueError) as exc:
            logger.error(
                "dropping a malformed sync command: %s",
                str(exc)[:300],
                extra={"partition": tp.partition, "offset": offset},
            )
            await self._commit(tp, offset)
            return
        failures = 0
        while not self.stop.is_set():
            try:
                outcome = await self._execute(tp, offset, command, headers)
            except Exception as exc:  # transient or a bug: back off and retry, never crash
                if not isinstance(exc, TransientError):
                    logger.exception(
                        "sync run failed unexpectedly", extra={"run_id": command.run_id}
                    )
                failures += 1
                delay = backoff_seconds(failures, RETRY_INITIAL_SECONDS, RETRY_MAX_SECONDS)
                logger.warning(
                    "sync run failed for now: %s; retrying",
                    exc,
                    extra={"run_id": command.run_id, "retry_in_seconds": delay},
                )
                await self._sleep(delay)
                continue
            if outcome is None:  # lost the partition: the new owner resumes it
                return
            self.outcomes.append((command.run_id, outcome))
            if outcome != "interrupted":
                await self._commit(tp, offset)
            return
        # Stopping before the command ran: it stays uncommitted and is read again.

    async def _execute(
        self,
        tp: TopicPartition,
        offset: int,
        command: SyncCommand,
        headers: Iterable[tuple[str, bytes | None]] | None,
    ) -> Outcome | None:
        """Execute with every partition paused, polling meanwhile; None if the task was revoked."""
        task = asyncio.create_task(self._traced(command, headers), name=f"run-{command.run_id}")
        self._current = (tp, task)
        self._consumer.pause(*self._consumer.assignment())
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=self._settings.poll_timeout_ms / 1000)
                if task.done():
                    break
                with contextlib.suppress(KafkaError):
                    stray = await self._consumer.getmany(timeout_ms=0)
                    self._rewind(stray)
        finally:
            self._current = None
            with contextlib.suppress(Exception):
                self._consumer.resume(*self._consumer.assignment())
        if task.cancelled():
            return None
        return task.result()

    async def _traced(
        self, command: SyncCommand, headers: Iterable[tuple[str, bytes | None]] | None
    ) -> Outcome:
        with run_span(command, headers) as span:
            outcome = await self._executor.execute(command)
            span.set_attribute("tds.sync.outcome", outcome)
            return outcome

    def _rewind(self, stray: dict[TopicPartition, list[object]]) -> None:
        """Records polled while busy (a partition assigned mid-run) are read again later."""
        for tp, records in stray.items():
            if records:
                self._consumer.seek(tp, min(getattr(r, "offset", 0) for r in records))
                self._consumer.pause(tp)

    async def revoked(self, partitions: set[TopicPartition]) -> None:
        current = self._current
        if current is not None and current[0] in partitions and not current[1].done():
            logger.info("partition of the run in progress revoked; interrupting it")
            current[1].cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await current[1]

    def assigned(self, partitions: set[TopicPartition]) -> None:
        if self._current is not None and partitions:
            self._consumer.pause(*partitions)

    async def _commit(self, tp: TopicPartition, offset: int) -> None:
        if tp not in self._consumer.assignment():
            return
        try:
            await self._consumer.commit({tp: offset + 1})
        except KafkaError as exc:
            # The run's end is in PostgreSQL: a redelivered command finds it ended and skips.
            logger.warning("offset commit failed: %s", type(exc).__name__)

    async def _sleep(self, seconds: float) -> None:
        await sleep_unless_stopping(self.stop, seconds)
