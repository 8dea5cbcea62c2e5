"""Re-publish selected dead letters from ``tds.zoho.events.dlq`` to ``tds.zoho.events``.

The DLQ holds each poison record's original bytes, so a replay publishes exactly what was first
received (once the cause is fixed: a code change, a proxy that is back, data corrected in Zoho).

Letters are chosen in PostgreSQL (their ``tds_sync_queue`` rows: entity, organization, record
id, queue ids, time of failure), in pages of :data:`CHUNK_ROWS`, and each message is fetched
from the topic where it sits (:mod:`processor.dlq_reader`): at the DLQ offset the processor
stored on the row (one seek, one fetch), or for a letter without one (dead-lettered by an older
release, or whose offset could not be stored) by time, reading only the minutes around its
failure (``offsets_for_times``). A letter the broker took only cut short is republished whole
from ``tds_dead_letter_values``. The topic is never read as a whole, and memory holds one page
of letters.

Idempotent: a letter is republished only after its row was claimed (``dead_letter`` →
``pending``, ``replayed_at`` set, in one conditional UPDATE, so two replays never both take it);
the republished message's identity is then stored in ``replayed_as``. A second replay finds the
row no longer dead and publishes nothing. A replay interrupted between claim and publish leaves
``pending`` without ``replayed_as``; after ``interrupted_after_seconds`` another replay may take
it again, and should the first copy have gone out after all, the processor's inbox (dedup key)
applies the event once: the second copy is a duplicate.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Final

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from processor.dlq_reader import DeadLetterReader, Letter
from processor.settings import ReplaySettings, Settings
from tds_common.db import create_pool
from tds_common.identifiers import OrgId
from tds_common.kafka import create_consumer, create_producer

logger = logging.getLogger(__name__)

CHUNK_ROWS: Final = 100
"""Dead letters located, claimed and published together."""
CHUNK_BYTES: Final = 16 * 1024 * 1024
"""A page is published early once its letters hold this much, whatever their number."""
MISSING_IDS_REPORTED: Final = 100

Text = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Selection(BaseModel):
    """Which dead letters to replay: every given selector must match; ``all`` for no selector."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    entity: Text | None = None
    """``tds_sync_queue.entity_type`` (``invoices``…; ``unknown`` for undecodable letters)."""
    org_id: OrgId | None = None
    record_id: Text | None = None
    """The Zoho id of the record (``zoho_entity_id``)."""
    queue_ids: frozenset[Annotated[int, Field(ge=1)]] = Field(frozenset(), max_length=10_000)
    since: AwareDatetime | None = None
    """Dead-lettered at or after (``processing_completed_at``)."""
    until: AwareDatetime | None = None
    """Dead-lettered before."""
    limit: int | None = Field(None, ge=1)
    """At most this many letters."""
    every: bool = Field(False, alias="all")
    """Every dead letter: required when no selector narrows the choice."""

    @model_validator(mode="after")
    def _narrowed(self) -> Selection:
        selectors = (
            self.entity,
            self.org_id,
            self.record_id,
            self.queue_ids,
            self.since,
            self.until,
        )
        if not self.every and not any(s for s in selectors):
            raise ValueError(
                "choose dead letters (entity, org_id, record_id, queue_ids, since, "
                "until) or set all"
            )
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ValueError("since must be before until")
        return self


@dataclass
class ReplayReport:
    selected: int = 0
    """Dead letters that matched (and could be taken) when the replay looked."""
    replayed: int = 0
    """Republished to the events topic (a dry run: would be)."""
    missing: int = 0
    """Letters whose message is gone from the topic (older than its retention) and not stored."""
    taken: int = 0
    """Claimed by another replay (or handled) between this one's look and its claim."""
    scanned: int = 0
    """DLQ messages read from Kafka to find them."""
    dry_run: bool = False
    missing_queue_ids: list[int] = field(default_factory=list)
    """The first :data:`MISSING_IDS_REPORTED` of them."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "selected": self.selected,
            "replayed": self.replayed,
            "missing": self.missing,
            "taken": self.taken,
            "scanned": self.scanned,
            "dry_run": self.dry_run,
            "missing_queue_ids": self.missing_queue_ids,
        }


@dataclass(frozen=True)
class Candidate:
    queue_id: int
    dlq_partition: int | None
    dlq_offset: int | None
    failed_at: datetime | None
    stored: bool
    """The whole key and value are in ``tds_dead_letter_values`` (the topic has a cut copy)."""


_ELIGIBLE: Final = """
(q.status = 'dead_letter' OR (q.status = 'pending' AND q.replayed_as IS NULL
    AND q.replayed_at < clock_timestamp() - make_interval(secs => $1)))
"""
_CANDIDATES: Final = f"""
SELECT q.id, q.dlq_partition, q.dlq_offset, q.processing_completed_at AS failed_at,
    EXISTS (SELECT 1 FROM tds_dead_letter_values v WHERE v.queue_id = q.id) AS stored
FROM tds_sync_queue q
WHERE q.status IN ('dead_letter', 'pending') AND {_ELIGIBLE}
  AND q.id > $2
  AND ($3::text IS NULL OR q.entity_type = $3)
  AND ($4::text IS NULL OR q.org_id = $4)
  AND ($5::text IS NULL OR q.zoho_entity_id = $5)
  AND (cardinality($6::bigint[]) = 0 OR q.id = ANY($6::bigint[]))
  AND ($7::timestamptz IS NULL OR q.processing_completed_at >= $7)
  AND ($8::timestamptz IS NULL OR q.processing_completed_at < $8)
ORDER BY q.id LIMIT $9
"""
_CLAIM: Final = f"""
UPDATE tds_sync_queue q SET status = 'pending', replayed_at = clock_timestamp(), replayed_as = NULL
WHERE q.id = ANY($2::bigint[]) AND {_ELIGIBLE}
RETURNING q.id, q.replayed_at
"""
_REPLAYED_AS: Final = """
UPDATE tds_sync_queue q SET replayed_as = r.replayed_as
FROM unnest($1::bigint[], $2::text[], $3::timestamptz[]) AS r(id, replayed_as, claimed_at)
WHERE q.id = r.id AND q.replayed_at = r.claimed_at
"""
_UNCLAIM: Final = """
UPDATE tds_sync_queue SET status = 'dead_letter', replayed_at = NULL
WHERE id = ANY($1::bigint[]) AND status = 'pending' AND replayed_as IS NULL
"""
_STORED: Final = "SELECT kafka_key, kafka_value FROM tds_dead_letter_values WHERE queue_id = $1"
_KNOWN_IDS: Final = "SELECT id FROM tds_sync_queue WHERE id = ANY($1::bigint[])"


async def unknown_queue_ids(pool: asyncpg.Pool, queue_ids: frozenset[int]) -> list[int]:
    """The ids among ``queue_ids`` that name no queue row at all."""
    if not queue_ids:
        return []
    known = {row["id"] for row in await pool.fetch(_KNOWN_IDS, sorted(queue_ids))}
    return sorted(queue_ids - known)


class Replay:
    """One replay run: pages of candidates → letters → claim → publish → ``replayed_as``."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        reader: DeadLetterReader,
        settings: Settings,
    ) -> None:
        self._pool = pool
        self._producer = producer
        self._reader = reader
        self._events_topic = settings.topics.events
        self._options: ReplaySettings = settings.replay
        self.report = ReplayReport()

    async def run(self, selection: Selection, *, dry_run: bool) -> ReplayReport:
        self.report.dry_run = dry_run
        after = 0
        left = selection.limit
        while left is None or left > 0:
            page = CHUNK_ROWS if left is None else min(CHUNK_ROWS, left)
            candidates = await self._candidates(selection, after, page)
            if not candidates:
                break
            after = candidates[-1].queue_id
            self.report.selected += len(candidates)
            letters: list[Letter] = []
            size = 0
            for candidate in candidates:
                letter = await self._locate(candidate)
                if letter is None:
                    self._missing(candidate.queue_id)
                    continue
                letters.append(letter)
                size += len(letter.value)
                if size >= CHUNK_BYTES:
                    await self._replay(letters, dry_run=dry_run)
                    letters, size = [], 0
            await self._replay(letters, dry_run=dry_run)
            if left is not None:
                left -= len(candidates)
            if len(candidates) < page:
                break
        self.report.scanned = self._reader.scanned
        return self.report

    async def _candidates(self, selection: Selection, after: int, page: int) -> list[Candidate]:
        rows = await self._pool.fetch(
            _CANDIDATES,
            self._options.interrupted_after_seconds,
            after,
            selection.entity,
            selection.org_id,
            selection.record_id,
            sorted(selection.queue_ids),
            selection.since,
            selection.until,
            page,
        )
        return [
            Candidate(r["id"], r["dlq_partition"], r["dlq_offset"], r["failed_at"], r["stored"])
            for r in rows
        ]

    async def _locate(self, candidate: Candidate) -> Letter | None:
        if candidate.stored:
            row = await self._pool.fetchrow(_STORED, candidate.queue_id)
            if row is not None:
                return Letter(
                    candidate.queue_id,
                    row["kafka_key"],
                    bytes(row["kafka_value"]),
                    f"tds_dead_letter_values:{candidate.queue_id}",
                )
        if candidate.dlq_partition is not None and candidate.dlq_offset is not None:
            letter = await self._reader.at_offset(
                candidate.queue_id, candidate.dlq_partition, candidate.dlq_offset
            )
            if letter is not None:
                return letter
        if candidate.failed_at is not None:
            return await self._reader.near_time(candidate.queue_id, candidate.failed_at)
        return None

    def _missing(self, queue_id: int) -> None:
        self.report.missing += 1
        if len(self.report.missing_queue_ids) < MISSING_IDS_REPORTED:
            self.report.missing_queue_ids.append(queue_id)
        logger.warning(
            "dead letter no longer on the DLQ topic nor stored; not replayed",
            extra={"queue_id": queue_id},
        )

    async def _replay(self, letters: list[Letter], *, dry_run: bool) -> None:
        if not letters:
            return
        if dry_run:
            self.report.replayed += len(letters)
            return
        claimed = {
            row["id"]: row["replayed_at"]
            for row in await self._pool.fetch(
                _CLAIM, self._options.interrupted_after_seconds, [d.queue_id for d in letters]
            )
        }
        mine = [d for d in letters if d.queue_id in claimed]
        self.report.taken += len(letters) - len(mine)
        # The rows are 'pending' before the letters go out: the processor may handle a replayed
        # event at once, and its verdict must not be overwritten by ours afterwards.
        sends = []
        try:
            for letter in mine:
                sends.append(
                    await self._producer.send(
                        self._events_topic,
                        letter.value,
                        key=letter.key,
                        headers=[("tds-replay-of", letter.source.encode())],
                    )
                )
            sent = await asyncio.gather(*sends, return_exceptions=True)
        except BaseException:
            await self._pool.execute(_UNCLAIM, [d.queue_id for d in mine])
            raise
        done: list[tuple[Letter, RecordMetadata]] = []
        failed: list[int] = []
        error: BaseException | None = None
        for letter, result in zip(mine, sent, strict=True):
            if isinstance(result, BaseException):
                failed.append(letter.queue_id)
                error = error or result
            else:
                done.append((letter, result))
        if done:
            await self._pool.execute(
                _REPLAYED_AS,
                [d.queue_id for d, _ in done],
                [f"{md.topic}:{md.partition}:{md.offset}" for _, md in done],
                [claimed[d.queue_id] for d, _ in done],
            )
        self.report.replayed += len(done)
        if error is not None:
            await self._pool.execute(_UNCLAIM, failed)  # not published: dead again
            raise error


async def replay_dead_letters(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    settings: Settings,
    selection: Selection,
    *,
    dry_run: bool,
) -> ReplayReport:
    """Replay ``selection`` with the service's pool and producer (a consumer of its own)."""
    consumer = create_consumer(
        settings.kafka_bootstrap_servers,
        None,
        settings.kafka,
        max_partition_fetch_bytes=settings.replay.fetch_bytes,
    )
    await consumer.start()
    try:
        margin = timedelta(seconds=settings.replay.seek_margin_seconds)
        topic = settings.topics.dead_letters
        reader = DeadLetterReader(consumer, topic, margin)
        await reader.start(set(await producer.partitions_for(topic)))
        report = await Replay(pool, producer, reader, settings).run(selection, dry_run=dry_run)
    finally:
        await consumer.stop()
    logger.info("replayed dead letters", extra=report.as_dict())
    return report


@asynccontextmanager
async def _connections(settings: Settings) -> AsyncIterator[tuple[asyncpg.Pool, AIOKafkaProducer]]:
    pool = await create_pool(settings.database_url.get_secret_value(), max_size=2)
    producer = create_producer(settings.kafka_bootstrap_servers, settings.kafka)
    try:
        await producer.start()
        yield pool, producer
    finally:
        await producer.stop()
        await pool.close()


async def replay(settings: Settings, selection: Selection, *, dry_run: bool) -> ReplayReport:
    """A replay outside the service (``python -m processor replay``, tests, the bench)."""
    async with _connections(settings) as (pool, producer):
        return await replay_dead_letters(pool, producer, settings, selection, dry_run=dry_run)
