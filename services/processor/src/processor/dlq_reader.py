"""Single dead letters read from the DLQ topic by offset or by time, nothing else.

The replay (:mod:`processor.replay`) asks for one letter at a time: at the DLQ offset stored on
its queue row (one seek, one fetch), or, for a letter without one, among the messages published
within a margin around its failure (``offsets_for_times``, then read until past the margin). A
record must carry the letter's ``tds-queue-id`` header to count as it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from processor.deadletters import QUEUE_ID_HEADER, header_map

FETCH_TIMEOUT_MS: Final = 2000


@dataclass(frozen=True)
class Letter:
    queue_id: int
    key: bytes | None
    value: bytes
    source: str
    """Where the bytes came from (``<dlq topic>:<partition>:<offset>`` or the stored value):
    sent as the ``tds-replay-of`` header."""


class DeadLetterReader:
    """Finds single letters on the DLQ topic by offset or by time; reads nothing else."""

    def __init__(self, consumer: AIOKafkaConsumer, topic: str, margin: timedelta) -> None:
        self._consumer = consumer
        self._topic = topic
        self._margin = margin
        self._bounds: dict[TopicPartition, tuple[int, int]] = {}
        self.scanned = 0

    async def start(self, partitions: set[int]) -> None:
        """Assign the topic's ``partitions`` and note where each begins and ends now."""
        tps = [TopicPartition(self._topic, p) for p in sorted(partitions)]
        self._consumer.assign(tps)
        if tps:
            begins = await self._consumer.beginning_offsets(tps)
            ends = await self._consumer.end_offsets(tps)
            self._bounds = {tp: (begins[tp], ends[tp]) for tp in tps}

    async def at_offset(self, queue_id: int, partition: int, offset: int) -> Letter | None:
        """The letter at ``partition:offset`` if it is still there and is ``queue_id``'s."""
        tp = TopicPartition(self._topic, partition)
        begin, end = self._bounds.get(tp, (0, 0))
        if not begin <= offset < end:
            return None  # aged out of the topic (or a topic that was recreated)
        found: Letter | None = None

        def check(record: ConsumerRecord[bytes, bytes]) -> bool:
            nonlocal found
            if record.offset < offset:
                return False
            if record.offset == offset and _queue_id(record) == queue_id:
                found = self._letter(queue_id, record)
            return True  # the first record at or past the offset settles it

        await self._read(tp, offset, end, check)
        return found

    async def near_time(self, queue_id: int, failed_at: datetime) -> Letter | None:
        """The newest letter of ``queue_id`` published within the margin around ``failed_at``."""
        start_ms = int((failed_at - self._margin).timestamp() * 1000)
        stop_ms = int((failed_at + self._margin).timestamp() * 1000)
        tps = list(self._bounds)
        starts = await self._consumer.offsets_for_times(dict.fromkeys(tps, start_ms))
        found: Letter | None = None

        def check(record: ConsumerRecord[bytes, bytes]) -> bool:
            nonlocal found
            if record.timestamp > stop_ms:
                return True
            if _queue_id(record) == queue_id:
                found = self._letter(queue_id, record)  # keep going: a later one wins
            return False

        for tp in tps:
            start = starts.get(tp)
            if start is not None:
                await self._read(tp, start.offset, self._bounds[tp][1], check)
        return found

    async def _read(
        self,
        tp: TopicPartition,
        offset: int,
        end: int,
        done: Callable[[ConsumerRecord[bytes, bytes]], bool],
    ) -> None:
        """Records of ``tp`` from ``offset`` until ``done`` says so or ``end`` is reached."""
        self._consumer.seek(tp, offset)
        while await self._consumer.position(tp) < end:
            batch = await self._consumer.getmany(tp, timeout_ms=FETCH_TIMEOUT_MS)
            for record in batch.get(tp, []):
                if record.offset >= end:
                    return
                self.scanned += 1
                if done(record):
                    return

    def _letter(self, queue_id: int, record: ConsumerRecord[bytes, bytes]) -> Letter:
        source = f"{self._topic}:{record.partition}:{record.offset}"
        return Letter(queue_id, record.key, record.value or b"", source)


def _queue_id(record: ConsumerRecord[bytes, bytes]) -> int | None:
    raw = header_map(record.headers).get(QUEUE_ID_HEADER, "")
    return int(raw) if raw.isdigit() else None
