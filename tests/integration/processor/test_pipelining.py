"""The next batch is prepared while the current one writes: nothing it prepared decides what
the write keeps (issue 18). Mapping needs no database, so an older version prepared early still
meets the newer row at write time and loses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from processor.pipeline import BatchProcessor
from processor.records import Item
from tests.integration.processor.helpers import Record, batch_processor, new_id, new_org
from tests.unit.mirror import factories as f


@pytest.fixture(name="processor")
async def fixture_processor(db_pool: asyncpg.Pool) -> AsyncIterator[BatchProcessor]:
    # Every event here is complete: a read through zoho-proxy would be a bug, and fail.
    async with batch_processor(db_pool, lambda _: httpx.Response(503)) as processor:
        yield processor


async def _overlapped(processor: BatchProcessor, first: Record, second: Record) -> list[Item]:
    """Two one-record batches as the consumer runs them: the second prepared during the first's
    write, written after it."""
    current = await processor.prepare([first])
    ahead = asyncio.create_task(processor.prepare([second]))
    written = await processor.write(current)
    return [*written, *await processor.write(await ahead)]


@pytest.mark.parametrize(("first", "second"), [(2, 1), (1, 2)])
async def test_the_newer_of_two_overlapped_batches_wins_whichever_comes_first(
    db_pool: asyncpg.Pool, processor: BatchProcessor, first: int, second: int
) -> None:
    org, zoho_id = new_org(), new_id()

    def event(offset: int, version: int) -> Record:
        record = f.product(zoho_id, version=version, name=f"version {version}")
        return Record(offset, f.envelope("products", zoho_id, record, org_id=org).to_bytes())

    items = await _overlapped(processor, event(0, first), event(1, second))
    newer_first = first > second
    assert [i.outcome for i in items] == (["applied", "stale"] if newer_first else ["applied"] * 2)
    row = await db_pool.fetchrow(
        "SELECT name, zoho_last_modified_time FROM zoho.products "
        "WHERE org_id = $1 AND item_id = $2",
        org,
        zoho_id,
    )
    assert row is not None and row["name"] == "version 2"
    # Both events recorded once, the stale one too, each row telling where it came from.
    queued = await db_pool.fetch(
        "SELECT q.entity_id, q.zoho_entity_id, q.entity_type, q.priority, q.kafka_topic, "
        "q.kafka_partition, q.kafka_offset, q.queued_at = i.received_at AS same_receipt "
        "FROM tds_sync_queue q JOIN tds_inbox_events i ON i.id = q.inbox_event_id "
        "WHERE q.org_id = $1 AND q.status = 'completed' ORDER BY q.kafka_offset",
        org,
    )
    assert [tuple(row) for row in queued] == [
        (f"{org}:products:{zoho_id}", zoho_id, "products", 1, "events", 0, offset, True)
        for offset in (0, 1)
    ]
