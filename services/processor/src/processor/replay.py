"""Re-publish selected dead letters from ``tds.zoho.events.dlq`` to ``tds.zoho.events``.

The DLQ holds each poison record's original bytes, so a replay publishes exactly what was first
received (once the cause is fixed: a code change, a proxy that is back, data corrected in Zoho).
Selection is by the dead letter's headers (entity, org, queue id, time). By default only letters
whose ``tds_sync_queue`` row is still ``dead_letter`` are replayed, so running the same replay
twice does not publish twice; their queue rows go back to ``pending`` until the processor has
handled them again (it then marks them ``completed`` or ``dead_letter`` once more).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from processor.deadletters import TRUNCATED_HEADER, header_map
from processor.settings import Settings
from tds_common.kafka import create_producer

logger = logging.getLogger(__name__)

READ_TIMEOUT_MS: Final = 1000
_REQUEUE: Final = "UPDATE tds_sync_queue SET status = 'pending' WHERE id = ANY($1::bigint[])"
_UNQUEUE: Final = """
UPDATE tds_sync_queue SET status = 'dead_letter' WHERE id = ANY($1::bigint[]) AND status = 'pending'
"""
_STATUSES: Final = "SELECT id, status FROM tds_sync_queue WHERE id = ANY($1::bigint[])"
_FULL_VALUES: Final = """
SELECT queue_id, kafka_key, kafka_value FROM tds_dead_letter_values
WHERE queue_id = ANY($1::bigint[])
"""


@dataclass(frozen=True)
class Selection:
    entity: str | None = None
    org_id: str | None = None
    queue_ids: frozenset[int] = frozenset()
    since: datetime | None = None
    limit: int | None = None
    include_resolved: bool = False
    """Also replay letters whose queue row is no longer ``dead_letter``."""


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]

    @property
    def queue_id(self) -> int | None:
        raw = self.headers.get("tds-queue-id", "")
        return int(raw) if raw.isdigit() else None

    def matches(self, selection: Selection) -> bool:
        h = self.headers
        if selection.entity and h.get("tds-entity") != selection.entity:
            return False
        if selection.org_id and h.get("tds-org") != selection.org_id:
            return False
        if selection.queue_ids and self.queue_id not in selection.queue_ids:
            return False
        if selection.since is not None:
            try:
                failed_at = datetime.fromisoformat(h.get("tds-failed-at", ""))
            except ValueError:
                return False
            if failed_at < selection.since:
                return False
        return True


async def _partitions(bootstrap: str, topic: str) -> set[int]:
    producer = create_producer(bootstrap)
    await producer.start()
    try:
        return set(await producer.partitions_for(topic))
    finally:
        await producer.stop()


async def read_dead_letters(bootstrap: str, topic: str) -> list[DeadLetter]:
    """Everything on the DLQ topic up to its current end (no consumer group, nothing committed)."""
    partitions = await _partitions(bootstrap, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    letters: list[DeadLetter] = []
    try:
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return letters
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        remaining = {tp for tp in tps if ends[tp] > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=READ_TIMEOUT_MS)
            for tp, records in batch.items():
                for r in records:
                    if r.offset < ends[tp]:
                        letters.append(DeadLetter(r.partition, r.offset, r.key, r.value or b"",
                                                  header_map(r.headers)))  # fmt: skip
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return letters


def select(
    letters: list[DeadLetter], selection: Selection, statuses: dict[int, str]
) -> list[DeadLetter]:
    """Matching letters, the latest per queue row, still dead unless asked otherwise."""
    latest: dict[object, DeadLetter] = {}
    for letter in letters:
        if not letter.matches(selection):
            continue
        queue_id = letter.queue_id
        if not selection.include_resolved and queue_id is not None:
            if statuses.get(queue_id, "dead_letter") != "dead_letter":
                continue
        latest[queue_id if queue_id is not None else (letter.partition, letter.offset)] = letter
    chosen = sorted(latest.values(), key=lambda d: (d.partition, d.offset))
    return chosen[: selection.limit] if selection.limit else chosen


async def _with_full_values(conn: asyncpg.Connection, chosen: list[DeadLetter]) -> list[DeadLetter]:
    """Letters the broker took only cut short get their original bytes from PostgreSQL."""
    cut = [d.queue_id for d in chosen if TRUNCATED_HEADER in d.headers and d.queue_id is not None]
    if not cut:
        return chosen
    full = {r["queue_id"]: r for r in await conn.fetch(_FULL_VALUES, cut)}
    result = []
    for letter in chosen:
        row = full.get(letter.queue_id) if TRUNCATED_HEADER in letter.headers else None
        if TRUNCATED_HEADER in letter.headers and row is None:
            logger.error("dead letter %s was cut and its full value is missing; not replayed",
                         letter.queue_id)  # fmt: skip
            continue
        if row is not None:
            letter = replace(letter, key=row["kafka_key"], value=bytes(row["kafka_value"]))
        result.append(letter)
    return result


async def _publish(settings: Settings, chosen: list[DeadLetter]) -> None:
    producer = create_producer(settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        dlq = settings.topics.dead_letters
        sends = [
            await producer.send(
                settings.topics.events, d.value, key=d.key,
                headers=[("tds-replay-of", f"{dlq}:{d.partition}:{d.offset}".encode())],
            )
            for d in chosen
        ]  # fmt: skip
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


async def replay(settings: Settings, selection: Selection, *, dry_run: bool) -> list[DeadLetter]:
    letters = await read_dead_letters(
        settings.kafka_bootstrap_servers, settings.topics.dead_letters
    )
    ids = [q for q in (d.queue_id for d in letters) if q is not None]
    conn = await asyncpg.connect(settings.database_url.get_secret_value())
    try:
        statuses = {r["id"]: r["status"] for r in await conn.fetch(_STATUSES, ids)}
        chosen = select(letters, selection, statuses)
        if dry_run or not chosen:
            return chosen
        chosen = await _with_full_values(conn, chosen)
        queue_ids = [d.queue_id for d in chosen if d.queue_id is not None]
        # Rows go to 'pending' before the letters are published: the processor may handle a
        # replayed event at once, and its verdict must not be overwritten by ours afterwards.
        await conn.execute(_REQUEUE, queue_ids)
        try:
            await _publish(settings, chosen)
        except BaseException:
            await conn.execute(_UNQUEUE, queue_ids)  # not replayed after all: dead again
            raise
    finally:
        await conn.close()
    logger.info("replayed dead letters", extra={"count": len(chosen)})
    return chosen
