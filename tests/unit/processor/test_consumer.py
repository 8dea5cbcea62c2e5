"""The consume loop with a fake consumer: commit what is done, defer one partition, back off."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaConnectionError

from processor import metrics
from processor.attempts import retry_delay
from processor.consumer import EventConsumer, _joined, _Rebalance
from processor.pipeline import PreparedBatch
from processor.records import Item, KafkaRecord
from processor.settings import ConsumerSettings
from tds_common.errors import UpstreamUnavailableError
from tds_common.tracing import get_tracer
from tests.unit.mirror import factories as f
from tests.utils.polling import wait_until
from tests.utils.tracing import by_name, recorded_spans

P0, P1, P2 = (TopicPartition("events", p) for p in range(3))


@dataclass
class Rec:
    partition: int
    offset: int
    topic: str = "events"
    key: bytes | None = None
    value: bytes | None = b"{}"


@dataclass
class FakeConsumer:
    """A broker's log per partition: a poll returns what lies from each partition's position
    (at most ``per_poll`` records in all), a seek moves the position, a pause skips it."""

    log: dict[TopicPartition, list[Rec]]
    per_poll: int = 1000
    commits: list[dict[TopicPartition, int]] = field(default_factory=list)
    seeks: list[tuple[TopicPartition, int]] = field(default_factory=list)
    assigned: set[TopicPartition] = field(default_factory=lambda: {P0, P1})
    paused: set[TopicPartition] = field(default_factory=set)
    ends: dict[TopicPartition, int] = field(default_factory=dict)
    positions: dict[TopicPartition, int] = field(default_factory=dict)
    committed_offsets: dict[TopicPartition, int] = field(default_factory=dict)
    fail_commits: int = 0

    async def getmany(
        self, *, max_records: int | None = None, **_: Any
    ) -> dict[TopicPartition, list[Rec]]:
        batch: dict[TopicPartition, list[Rec]] = {}
        room = min(self.per_poll, max_records or self.per_poll)
        for tp, records in self.log.items():
            if tp in self.paused or not records or room == 0:
                continue
            position = self.positions.get(tp, records[0].offset)
            taken = [r for r in records if r.offset >= position][:room]
            if taken:
                batch[tp] = taken
                self.positions[tp] = taken[-1].offset + 1
                room -= len(taken)
        return batch

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.fail_commits:
            self.fail_commits -= 1
            raise KafkaConnectionError("broker gone")
        self.commits.append(offsets)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append((tp, offset))
        self.positions[tp] = offset

    def pause(self, *tps: TopicPartition) -> None:
        self.paused.update(tps)

    def resume(self, *tps: TopicPartition) -> None:
        self.paused.difference_update(tps)

    def assignment(self) -> set[TopicPartition]:
        return self.assigned

    def highwater(self, tp: TopicPartition) -> int | None:
        return None

    async def end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: self.ends.get(tp, 0) for tp in tps}

    async def position(self, tp: TopicPartition) -> int:
        return self.positions.get(tp, 0)

    def partitions_for_topic(self, topic: str) -> set[int]:
        return {0, 1, 2}

    async def committed(self, tp: TopicPartition) -> int | None:
        return self.committed_offsets.get(tp)


class FlakyProcessor:
    """Fails ``failures`` writes (infrastructure), then handles every record; ``defer`` names
    records (partition, offset) that come back deferred for ``delay`` seconds. Remembers what
    it prepared and wrote, in order."""

    def __init__(
        self,
        failures: int,
        defer: frozenset[tuple[int, int]] = frozenset(),
        delay: float | None = 5.0,
    ) -> None:
        self.failures = failures
        self.defer = defer
        self.delay = delay
        self.calls = 0
        self.prepared: list[list[tuple[int, int]]] = []
        self.written: list[list[tuple[int, int]]] = []

    async def prepare(self, records: list[Rec]) -> PreparedBatch:
        self.prepared.append([(r.partition, r.offset) for r in records])
        return PreparedBatch([Item(record) for record in records], datetime.now(UTC))

    async def write(self, batch: PreparedBatch) -> list[Item]:
        self.calls += 1
        self.written.append([(i.record.partition, i.record.offset) for i in batch.items])
        if self.calls <= self.failures:
            raise UpstreamUnavailableError("PostgreSQL unavailable")
        return [self.outcome(item.record) for item in batch.items]

    def outcome(self, record: KafkaRecord) -> Item:
        item = Item(record, outcome="applied")
        if (record.partition, record.offset) in self.defer:
            item.outcome = "deferred"
            item.retry_after_seconds = self.delay
        return item


def _batch() -> dict[TopicPartition, list[Rec]]:
    return {
        P0: [Rec(0, 10), Rec(0, 11), Rec(0, 12)],
        P1: [Rec(1, 3)],
        P2: [Rec(2, 8)],  # revoked meanwhile: never committed
    }


async def _poll_once(consumer: EventConsumer) -> None:
    """One turn of the loop, its offset commit (which runs beside the next write) awaited."""
    await consumer._poll_once()
    await consumer.offsets_committed()


def _consumer(fake: FakeConsumer, processor: FlakyProcessor, **overrides: Any) -> EventConsumer:
    values: dict[str, Any] = {"retry_initial_seconds": 0.01, "retry_max_seconds": 0.02}
    settings = ConsumerSettings(**(values | overrides))
    return EventConsumer(fake, "events", processor, settings)  # type: ignore[arg-type]


async def test_offsets_are_committed_after_processing_for_assigned_partitions_only() -> None:
    fake = FakeConsumer(_batch())
    consumer = _consumer(fake, FlakyProcessor(0))
    await _poll_once(consumer)
    assert fake.commits == [{P0: 13, P1: 4}]
    assert fake.seeks == [] and fake.paused == set()


async def test_a_deferred_record_holds_back_its_own_partition_only() -> None:
    fake = FakeConsumer(_batch())
    processor = FlakyProcessor(0, defer=frozenset({(0, 11)}))
    consumer = _consumer(fake, processor)
    await _poll_once(consumer)
    # Partition 0 commits what came before the record, goes back to it and waits; 1 goes on.
    assert fake.commits == [{P0: 11, P1: 4}]
    assert fake.seeks == [(P0, 11)] and fake.paused == {P0}
    assert metrics.BACKOFF_SECONDS._value.get() > 0
    consumer.paused[P0].resume_at = time.monotonic()  # its wait is over
    processor.defer = frozenset()
    await _poll_once(consumer)
    assert fake.paused == set() and P0 not in consumer.paused
    assert processor.written[-1] == [(0, 11), (0, 12)] and fake.commits[-1] == {P0: 13}


async def test_a_partition_waiting_on_a_read_resumes_as_soon_as_the_read_is_done() -> None:
    read_done = False

    class WaitingForARead(FlakyProcessor):
        async def write(self, batch: PreparedBatch) -> list[Item]:
            items = await super().write(batch)
            items[0].resume_when = lambda: read_done
            return items

    fake = FakeConsumer({P1: [Rec(1, 3)]})
    processor = WaitingForARead(0, defer=frozenset({(1, 3)}), delay=60)
    consumer = _consumer(fake, processor)
    await _poll_once(consumer)
    assert fake.paused == {P1} and metrics.BACKOFF_SECONDS._value.get() == 0  # not a failure
    await _poll_once(consumer)
    assert fake.paused == {P1}
    read_done = True
    processor.defer = frozenset()
    await _poll_once(consumer)
    assert fake.paused == set() and fake.commits == [{P1: 4}]


async def test_an_infrastructure_failure_rewinds_the_batch_and_commits_nothing() -> None:
    fake = FakeConsumer(_batch())
    processor = FlakyProcessor(1)
    consumer = _consumer(fake, processor)
    await _poll_once(consumer)
    assert fake.commits == []
    assert sorted(fake.seeks) == [(P0, 10), (P1, 3), (P2, 8)]
    await _poll_once(consumer)  # the same records again: now they go through
    assert processor.calls == 2 and len(fake.commits) == 1


async def test_the_lag_gauge_is_refreshed_while_the_consumer_backs_off() -> None:
    fake = FakeConsumer(_batch(), ends={P0: 50, P1: 7})
    consumer = _consumer(
        fake,
        FlakyProcessor(1),
        retry_initial_seconds=0.05,
        retry_max_seconds=0.05,
        lag_refresh_seconds=0.01,
    )
    await _poll_once(consumer)
    # Rewound to offsets 10 and 3: the backlog is what the broker holds beyond them.
    assert metrics.CONSUMER_LAG.labels("events", "0")._value.get() == 40
    assert metrics.CONSUMER_LAG.labels("events", "1")._value.get() == 4


async def test_the_lag_gauge_follows_a_growing_backlog_before_the_backoff_ends() -> None:
    fake = FakeConsumer(_batch(), ends={P0: 50, P1: 7})
    waits = {"retry_initial_seconds": 30, "retry_max_seconds": 30, "lag_refresh_seconds": 0.01}
    consumer = _consumer(fake, FlakyProcessor(1), **waits)
    metrics.CONSUMER_LAG.labels("events", "0").set(0)  # whatever an earlier test left
    backing_off = asyncio.create_task(consumer._poll_once())

    def lag() -> float:
        return float(metrics.CONSUMER_LAG.labels("events", "0")._value.get())

    # Well inside the 30 s wait: a gauge refreshed only when the wait ends never gets there.
    await wait_until(lambda: lag() == 40, what="the lag after the rewind", limit_seconds=10)
    fake.ends[P0] = 90  # events keep arriving while the consumer waits
    await wait_until(lambda: lag() == 80, what="the lag to follow them", limit_seconds=10)
    assert not backing_off.done() and metrics.BACKOFF_SECONDS._value.get() == 30
    consumer.stop.set()
    await backing_off
    assert metrics.BACKOFF_SECONDS._value.get() == 0


async def test_the_backlog_counts_every_partition_of_the_group() -> None:
    fake = FakeConsumer({}, ends={P0: 50, P1: 7, P2: 5}, committed_offsets={P0: 45, P1: 7})
    consumer = _consumer(fake, FlakyProcessor(0))
    assert await consumer.backlog() == 5 + 0 + 5  # partition 2 never committed


async def test_stop_interrupts_a_backoff() -> None:
    fake = FakeConsumer(_batch())
    consumer = _consumer(fake, FlakyProcessor(5))
    consumer._settings = ConsumerSettings(retry_initial_seconds=30, retry_max_seconds=30)
    consumer.stop.set()
    await asyncio.wait_for(consumer._poll_once(), 5)
    assert fake.commits == []


@pytest.mark.parametrize("attempt", [1, 2, 5, 20])
def test_backoff_grows_and_stays_capped(attempt: int) -> None:
    delay = retry_delay(attempt, 0.5, 30.0)
    assert 0.5 <= delay <= min(30.0, 0.5 * 2 ** (attempt - 1))


async def test_offsets_whose_commit_failed_are_committed_when_partitions_are_revoked() -> None:
    fake = FakeConsumer(_batch(), fail_commits=1)
    consumer = _consumer(fake, FlakyProcessor(0))
    await _poll_once(consumer)
    assert fake.commits == [] and fake.seeks == []  # rows are in: no rewind, offsets remembered
    await _Rebalance(consumer).on_partitions_revoked([P0])
    assert fake.commits == [{P0: 13}]
    assert consumer.pending_offsets == {P1: 4}


async def test_records_held_behind_a_parked_one_are_polled_again_at_once() -> None:
    class ParkedThenHeld(FlakyProcessor):
        async def write(self, batch: PreparedBatch) -> list[Item]:
            outcomes = {10: "dead_letter", 11: "held", 12: "held"}
            return [
                Item(i.record, outcome=outcomes.get(i.record.offset, "applied"))
                for i in batch.items
            ]

    fake = FakeConsumer({P0: [Rec(0, 10), Rec(0, 11), Rec(0, 12)]})
    consumer = _consumer(fake, ParkedThenHeld(0))
    await _poll_once(consumer)
    assert fake.commits == [{P0: 11}]
    assert fake.seeks == [(P0, 11)] and fake.paused == set()  # no wait: nothing failed there


async def test_the_age_of_the_oldest_waiting_event_shows_a_stall_until_it_is_done() -> None:
    received = datetime.now(UTC) - timedelta(seconds=60)
    event = f.envelope("products", "1", f.product("1"), received_at=received)

    class Waiting(FlakyProcessor):
        async def write(self, batch: PreparedBatch) -> list[Item]:
            items = await super().write(batch)
            for item in items:
                item.envelope = event
            return items

    fake = FakeConsumer({P0: [Rec(0, 10)]})
    processor = Waiting(0, defer=frozenset({(0, 10)}), delay=0.0)
    consumer = _consumer(fake, processor)
    await _poll_once(consumer)
    assert metrics.OLDEST_DEFERRED_AGE._value.get() >= 60
    await _poll_once(consumer)  # resumed, still failing: the stall keeps its age
    assert metrics.OLDEST_DEFERRED_AGE._value.get() >= 60
    processor.defer = frozenset()
    await _poll_once(consumer)  # done at last
    await _poll_once(consumer)
    assert metrics.OLDEST_DEFERRED_AGE._value.get() == 0


class Overlapping(FlakyProcessor):
    """Its first ``overlaps`` writes wait for the consumer to prepare the next batch meanwhile
    (as a write waits on PostgreSQL while the consumer polls and prepares)."""

    def __init__(self, failures: int, overlaps: int, **options: Any) -> None:
        super().__init__(failures, **options)
        self.overlaps = overlaps

    async def write(self, batch: PreparedBatch) -> list[Item]:
        if self.overlaps:
            self.overlaps -= 1
            wanted = len(self.prepared) + 1
            await wait_until(
                lambda: len(self.prepared) >= wanted,
                what="the next batch prepared while this one writes",
                limit_seconds=5,
            )
        return await super().write(batch)


def _log(*offsets: int, p1: bool = False) -> dict[TopicPartition, list[Rec]]:
    log = {P0: [Rec(0, offset) for offset in offsets]}
    return log | {P1: [Rec(1, 3)]} if p1 else log


async def test_the_next_batch_is_prepared_while_the_current_one_writes() -> None:
    fake = FakeConsumer(_log(10, 11, 12, 13), per_poll=2)
    processor = Overlapping(0, overlaps=1)
    consumer = _consumer(fake, processor)
    await _poll_once(consumer)
    assert processor.written == [[(0, 10), (0, 11)]]
    assert processor.prepared == [[(0, 10), (0, 11)], [(0, 12), (0, 13)]]
    assert fake.commits == [{P0: 12}]  # only what was written
    await _poll_once(consumer)  # the prepared batch, not polled again
    assert processor.written[1] == [(0, 12), (0, 13)] and len(processor.prepared) == 2
    assert fake.commits == [{P0: 12}, {P0: 14}]


async def test_a_failed_write_commits_neither_it_nor_the_batch_prepared_meanwhile() -> None:
    fake = FakeConsumer(_log(10, 11, 12, 13, p1=True), per_poll=3)
    processor = Overlapping(1, overlaps=2)
    consumer = _consumer(fake, processor)
    await _poll_once(consumer)
    assert processor.prepared == [[(0, 10), (0, 11), (0, 12)], [(0, 13), (1, 3)]]
    assert fake.commits == []
    # Both batches are polled again: partition 1, only in the second, from its first record.
    assert sorted(fake.seeks) == [(P0, 10), (P1, 3)]
    await _poll_once(consumer)
    await _poll_once(consumer)
    assert processor.written == [
        [(0, 10), (0, 11), (0, 12)],  # failed
        [(0, 10), (0, 11), (0, 12)],
        [(0, 13), (1, 3)],
    ]
    assert fake.commits == [{P0: 13}, {P0: 14, P1: 4}]


async def test_records_polled_before_their_partition_went_back_are_polled_again_in_order() -> None:
    fake = FakeConsumer(_log(10, 11, 12, 13, p1=True), per_poll=3)
    processor = Overlapping(0, overlaps=1, defer=frozenset({(0, 11)}))
    consumer = _consumer(fake, processor)
    await _poll_once(consumer)
    # Offset 13 was polled while 11 was being deferred: dropped, and partition 0 sent back to
    # 11 again (the poll had moved past it). Partition 1's record goes on.
    assert processor.prepared[1] == [(0, 13), (1, 3)]
    assert fake.commits == [{P0: 11}] and fake.seeks == [(P0, 11), (P0, 11)]
    await _poll_once(consumer)
    assert processor.written[1] == [(1, 3)] and fake.commits[-1] == {P1: 4}
    consumer.paused[P0].resume_at = time.monotonic()
    processor.defer = frozenset()
    await _poll_once(consumer)
    assert processor.written == [[(0, 10), (0, 11), (0, 12)], [(1, 3)], [(0, 11), (0, 12), (0, 13)]]
    assert fake.commits == [{P0: 11}, {P1: 4}, {P0: 14}]


async def test_a_batch_prepared_ahead_drops_the_records_of_partitions_revoked_meanwhile() -> None:
    """After a revoke another consumer owns the partition from its committed offset: records we
    polled before must not be written (a second writer of one partition, and reads of Zoho
    spent twice), nor their offsets committed."""
    fake = FakeConsumer(_log(10, 11, 12, p1=True), per_poll=2)
    processor = Overlapping(0, overlaps=1)
    consumer = _consumer(fake, processor)
    await _poll_once(consumer)
    assert processor.prepared[1] == [(0, 12), (1, 3)]  # ready, not written yet
    fake.assigned = {P0}
    await _Rebalance(consumer).on_partitions_revoked([P1])
    await _poll_once(consumer)
    assert processor.written == [[(0, 10), (0, 11)], [(0, 12)]]
    assert all(P1 not in commit for commit in fake.commits)


async def test_a_batch_polled_while_a_revoke_went_by_is_written_for_owned_partitions_only() -> None:
    # The revoke ran while the poll ahead was still under way: the batch reached the consumer
    # after the listener had looked; what is no longer assigned is dropped when it is taken.
    fake = FakeConsumer(_log(10, 11, 12, p1=True), per_poll=2)
    processor = Overlapping(0, overlaps=1)
    consumer = _consumer(fake, processor)
    await _poll_once(consumer)
    fake.assigned = {P0}
    await _poll_once(consumer)
    assert processor.written == [[(0, 10), (0, 11)], [(0, 12)]]
    assert all(P1 not in commit for commit in fake.commits)


class ArrivingDuringWrites(Overlapping):
    """Records ``arriving`` reach the log while its first write runs, after the poll ahead
    has taken what was there."""

    def __init__(self, log: dict[TopicPartition, list[Rec]], arriving: list[Rec]) -> None:
        super().__init__(0, overlaps=1)
        self.log, self.arriving = log, arriving

    async def write(self, batch: PreparedBatch) -> list[Item]:
        overlapping = bool(self.overlaps)
        items = await super().write(batch)
        if overlapping:
            self.log[P0].extend(self.arriving)
        return items


async def test_records_arriving_during_a_write_join_the_batch_prepared_meanwhile() -> None:
    """The next batch is written with everything that arrived during the write before it, not
    only what the poll ahead found when the write began: those records used to wait for one
    more write."""
    fake = FakeConsumer(_log(10, 11, 12), per_poll=2)
    processor = ArrivingDuringWrites(fake.log, [Rec(0, 13), Rec(0, 14)])
    consumer = _consumer(fake, processor)
    await _poll_once(consumer)
    await _poll_once(consumer)
    assert processor.written == [[(0, 10), (0, 11)], [(0, 12), (0, 13), (0, 14)]]
    assert processor.prepared == [[(0, 10), (0, 11)], [(0, 12)], [(0, 13), (0, 14)]]
    assert fake.commits == [{P0: 12}, {P0: 15}]


async def test_a_batch_topped_up_after_a_write_stays_within_the_batch_size() -> None:
    fake = FakeConsumer(_log(10, 11, 12), per_poll=2)
    processor = ArrivingDuringWrites(fake.log, [Rec(0, 13), Rec(0, 14)])
    consumer = _consumer(fake, processor, batch_max_records=2)
    await _poll_once(consumer)
    await _poll_once(consumer)
    await _poll_once(consumer)
    assert processor.written == [[(0, 10), (0, 11)], [(0, 12), (0, 13)], [(0, 14)]]
    assert fake.commits[-1] == {P0: 15}


class SlowLagQuery(FakeConsumer):
    """end_offsets answers only once ``answer`` is set (a broker slow to answer)."""

    def __init__(self, log: dict[TopicPartition, list[Rec]]) -> None:
        super().__init__(log, per_poll=1)
        self.answer = asyncio.Event()
        self.asked = self.ended = 0

    async def end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        self.asked += 1
        try:
            await self.answer.wait()
        finally:  # answered, or given up on
            self.ended += 1
        return await super().end_offsets(tps)


async def test_a_slow_lag_query_does_not_hold_back_the_next_batch() -> None:
    """The lag gauge's broker queries (up to 2 s when the broker is slow) ran between two
    batches, every lag_refresh_seconds: a stall of the stream that showed in its p99."""
    fake = SlowLagQuery(_log(10, 11))
    consumer = _consumer(fake, FlakyProcessor(0), lag_refresh_seconds=0.001)
    await _poll_once(consumer)
    await _poll_once(consumer)
    await wait_until(lambda: fake.asked >= 1, what="the lag query", limit_seconds=5)
    # Both batches are written and committed while the broker has not answered yet.
    assert (fake.asked, fake.ended) == (1, 0) and fake.commits == [{P0: 11}, {P0: 12}]
    fake.answer.set()
    await consumer.stop_lag_refresh()
    assert fake.ended == 1


def test_records_added_to_a_prepared_batch_are_written_under_its_span(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spans = recorded_spans(monkeypatch)
    tracer = get_tracer("test")
    now = datetime.now(UTC)
    batch = PreparedBatch([Item(Rec(0, 12))], now, tracer.start_span("batch"))
    more = PreparedBatch([Item(Rec(0, 13)), Item(Rec(0, 14))], now, tracer.start_span("more"))
    joined = _joined(batch, more)
    assert joined.span is batch.span and joined.started_at == now
    assert [item.record.offset for item in joined.items] == [12, 13, 14]
    (ended,) = spans.get_finished_spans()  # the top-up's own span, at once
    assert batch.span is not None and ended.name == "more"
    assert [link.context.span_id for link in ended.links] == [batch.span.get_span_context().span_id]
    batch.span.end()
    attributes = by_name(spans)["batch"].attributes
    assert attributes is not None and attributes["messaging.batch.message_count"] == 3


async def test_a_partition_revoked_while_its_lag_is_asked_gets_no_gauge() -> None:
    fake = SlowLagQuery({})
    fake.ends = {P0: 5, P1: 7}
    consumer = _consumer(fake, FlakyProcessor(0), lag_refresh_seconds=0.001)
    consumer._refresh_lag_soon()
    await wait_until(lambda: fake.asked == 1, what="the lag query", limit_seconds=5)
    fake.assigned = {P0}
    await _Rebalance(consumer).on_partitions_revoked([P1])
    fake.answer.set()
    await wait_until(lambda: ("events", "0") in consumer.lag_labels, what="the lag of 0")
    await consumer.stop_lag_refresh()
    assert consumer.lag_labels == {("events", "0")}


class SlowCommits(FakeConsumer):
    """Offset commits wait until ``answer`` is set (a broker slow to answer)."""

    def __init__(self, log: dict[TopicPartition, list[Rec]], per_poll: int) -> None:
        super().__init__(log, per_poll=per_poll)
        self.answer = asyncio.Event()
        self.asked = 0

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.asked += 1
        await self.answer.wait()
        await super().commit(offsets)


async def test_a_batch_is_written_while_the_offsets_of_the_one_before_are_committed() -> None:
    """The offset commit, a broker round trip, used to sit between two writes; now it runs
    beside the next one, and the next commit still waits for it (offsets go out in order)."""
    fake = SlowCommits(_log(10, 11, 12, 13), per_poll=2)
    processor = FlakyProcessor(0)
    consumer = _consumer(fake, processor)
    await consumer._poll_once()
    second = asyncio.create_task(consumer._poll_once())
    await wait_until(lambda: len(processor.written) == 2, what="the second write")
    assert fake.asked == 1 and fake.commits == []  # the first batch's commit still out
    await asyncio.sleep(0.05)
    assert not second.done() and fake.asked == 1  # the second commit waits for the first
    fake.answer.set()
    await second
    await consumer.offsets_committed()
    assert fake.commits == [{P0: 12}, {P0: 14}]


async def test_a_revoke_waits_for_the_offset_commit_in_flight() -> None:
    """The partition's next owner starts from its committed offset: it must include what this
    member wrote, or that owner writes it again (a no-op, but Zoho reads spent twice)."""
    fake = SlowCommits(_log(10, 11), per_poll=2)
    consumer = _consumer(fake, FlakyProcessor(0))
    await consumer._poll_once()
    revoking = asyncio.create_task(_Rebalance(consumer).on_partitions_revoked([P0]))
    await asyncio.sleep(0.05)
    assert not revoking.done() and fake.commits == []
    fake.answer.set()
    await revoking
    assert fake.commits == [{P0: 12}]
