"""Thin events' reads through zoho-proxy: in the background, at most one per record at a time.

A read runs as a task of its own, so a thin event waiting on Zoho (a spent budget, a slow
answer) holds back only its own partition: the batch takes what has finished within a short
wait and defers the rest, and the consumer polls the other partitions meanwhile. When the
deferred records come round again, the finished read is used: it is never paid twice.

Which events a read may serve: Zoho answers with the record as it is when the read starts, so
the read covers every change whose event was in Kafka by then. Kafka offsets tell that without
comparing clocks: a read started while a batch held offsets up to ``covers_through`` of a
partition serves every event of that record at or below it (a record's events all live on one
partition). A later event starts a new read. Reads that failed are forgotten after their batch,
so the next attempt asks again; finished reads are kept for ``ttl_seconds`` at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from processor import metrics
from processor.proxy import RecordFetcher

logger = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS: Final = 300.0

RecordKey = tuple[str, str, str]
"""org, entity, Zoho id."""
PartitionKey = tuple[str, int]
"""topic, partition."""
ReadTask = asyncio.Task[dict[str, Any] | None]


@dataclass
class _Read:
    task: ReadTask
    partition: PartitionKey
    covers_through: int
    requested_at: datetime
    """Wall-clock time the read was asked for: Zoho's answer is no older than this."""
    finished_at: float | None = field(default=None)


class ThinReads:
    """The reads in flight or finished recently, by record."""

    def __init__(
        self, proxy: RecordFetcher, concurrency: int, ttl_seconds: float = DEFAULT_TTL_SECONDS
    ) -> None:
        self._proxy = proxy
        self._slots = asyncio.Semaphore(concurrency)
        self._ttl_seconds = ttl_seconds
        self._reads: dict[RecordKey, _Read] = {}

    def __len__(self) -> int:
        return len(self._reads)

    def read(
        self,
        record: RecordKey,
        partition: PartitionKey,
        *,
        offset: int,
        covers_through: int,
        not_before: datetime | None = None,
    ) -> ReadTask:
        """The read serving the event at ``offset``: one that covers it (and was asked for no
        earlier than ``not_before``, when given), or a new one."""
        self._expire()
        known = self._reads.get(record)
        if (
            known is not None
            and known.partition == partition
            and offset <= known.covers_through
            and (not_before is None or known.requested_at >= not_before)
        ):
            metrics.PROXY_FETCHES.labels(record[1], "shared").inc()
            return known.task
        task = asyncio.create_task(self._fetch(record), name=f"read {record[1]} {record[2]}")
        self._reads[record] = _Read(task, partition, covers_through, datetime.now(UTC))
        task.add_done_callback(lambda _: self._finished(record, task))
        return task

    def requested_at(self, task: ReadTask) -> datetime | None:
        """When ``task`` was asked for (None once it is forgotten)."""
        return next((r.requested_at for r in self._reads.values() if r.task is task), None)

    def forget_failures(self) -> None:
        """Drop reads that failed, so the record's next attempt asks zoho-proxy again."""
        for key, read in list(self._reads.items()):
            if read.task.done() and (read.task.cancelled() or read.task.exception() is not None):
                del self._reads[key]

    async def close(self) -> None:
        """Cancel the reads still running (shutdown)."""
        tasks = [read.task for read in self._reads.values() if not read.task.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._reads.clear()

    async def _fetch(self, record: RecordKey) -> dict[str, Any] | None:
        org_id, entity, zoho_id = record
        async with self._slots:
            try:
                result = await self._proxy.fetch(entity, org_id, zoho_id)
            except Exception as exc:
                metrics.PROXY_FETCHES.labels(entity, type(exc).__name__).inc()
                raise
        metrics.PROXY_FETCHES.labels(entity, "gone" if result is None else "record").inc()
        return result

    def _finished(self, record: RecordKey, task: ReadTask) -> None:
        read = self._reads.get(record)
        if read is not None and read.task is task:
            read.finished_at = time.monotonic()
        if not task.cancelled():
            task.exception()  # retrieved here, so asyncio never reports it as lost

    def _expire(self) -> None:
        horizon = time.monotonic() - self._ttl_seconds
        for key, read in list(self._reads.items()):
            if read.finished_at is not None and read.finished_at < horizon:
                del self._reads[key]
