"""The consume loop with a fake consumer: commit after success, rewind and wait on failure."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaConnectionError

from processor.consumer import EventConsumer, _Rebalance, backoff_seconds
from processor.settings import ConsumerSettings
from tds_common.errors import UpstreamUnavailableError


@dataclass
class Rec:
    partition: int
    offset: int
    topic: str = "events"
    key: bytes | None = None
    value: bytes | None = b"{}"


@dataclass
class FakeConsumer:
    batches: list[dict[TopicPartition, list[Rec]]]
    commits: list[dict[TopicPartition, int]] = field(default_factory=list)
    seeks: list[tuple[TopicPartition, int]] = field(default_factory=list)
    assigned: set[TopicPartition] = field(
        default_factory=lambda: {TopicPartition("events", 0), TopicPartition("events", 1)}
    )

    async def getmany(self, **_: Any) -> dict[TopicPartition, list[Rec]]:
        return self.batches.pop(0) if self.batches else {}

    fail_commits: int = 0

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.fail_commits:
            self.fail_commits -= 1
            raise KafkaConnectionError("broker gone")
        self.commits.append(offsets)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append((tp, offset))

    def assignment(self) -> set[TopicPartition]:
        return self.assigned

    def highwater(self, tp: TopicPartition) -> int | None:
        return None


class FlakyProcessor:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def process(self, records: list[Rec]) -> list[Any]:
        self.calls += 1
        if self.calls <= self.failures:
            raise UpstreamUnavailableError("PostgreSQL unavailable")
        return []


def _batch() -> dict[TopicPartition, list[Rec]]:
    return {
        TopicPartition("events", 0): [Rec(0, 10), Rec(0, 11)],
        TopicPartition("events", 1): [Rec(1, 3)],
        TopicPartition("events", 2): [Rec(2, 8)],  # revoked meanwhile: never committed
    }


def _consumer(fake: FakeConsumer, processor: FlakyProcessor) -> EventConsumer:
    settings = ConsumerSettings(retry_initial_seconds=0.01, retry_max_seconds=0.02)
    return EventConsumer(fake, "events", processor, settings)  # type: ignore[arg-type]


async def test_offsets_are_committed_after_processing_for_assigned_partitions_only() -> None:
    fake = FakeConsumer([_batch()])
    consumer = _consumer(fake, FlakyProcessor(0))
    await consumer._poll_once()
    assert fake.commits == [{TopicPartition("events", 0): 12, TopicPartition("events", 1): 4}]
    assert fake.seeks == []


async def test_an_infrastructure_failure_rewinds_the_batch_and_commits_nothing() -> None:
    fake = FakeConsumer([_batch(), _batch()])
    processor = FlakyProcessor(1)
    consumer = _consumer(fake, processor)
    await consumer._poll_once()
    assert fake.commits == []
    assert sorted(fake.seeks) == [
        (TopicPartition("events", 0), 10),
        (TopicPartition("events", 1), 3),
        (TopicPartition("events", 2), 8),
    ]
    await consumer._poll_once()  # the same records again: now they go through
    assert processor.calls == 2 and len(fake.commits) == 1


async def test_stop_interrupts_a_backoff() -> None:
    fake = FakeConsumer([_batch()])
    consumer = _consumer(fake, FlakyProcessor(5))
    consumer._settings = ConsumerSettings(retry_initial_seconds=30, retry_max_seconds=30)
    consumer.stop.set()
    await asyncio.wait_for(consumer._poll_once(), 5)
    assert fake.commits == []


@pytest.mark.parametrize("attempt", [1, 2, 5, 20])
def test_backoff_grows_and_stays_capped(attempt: int) -> None:
    delay = backoff_seconds(attempt, 0.5, 30.0)
    assert 0.5 <= delay <= min(30.0, 0.5 * 2 ** (attempt - 1))


async def test_offsets_whose_commit_failed_are_committed_when_partitions_are_revoked() -> None:
    fake = FakeConsumer([_batch()], fail_commits=1)
    consumer = _consumer(fake, FlakyProcessor(0))
    await consumer._poll_once()
    assert fake.commits == [] and fake.seeks == []  # rows are in: no rewind, offsets remembered
    await _Rebalance(consumer).on_partitions_revoked([TopicPartition("events", 0)])
    assert fake.commits == [{TopicPartition("events", 0): 12}]
    assert consumer.pending_offsets == {TopicPartition("events", 1): 4}
