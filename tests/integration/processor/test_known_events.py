"""Events the inbox holds are recognised before the write only when that spares something: a
read, a failure count, a dead letter. A batch of complete events lets the inbox insert find
them (issue 18: one query fewer per batch), with the same outcome."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from processor import store
from processor.pipeline import BatchProcessor
from tests.integration.processor.helpers import Record, batch_processor, new_id, new_org
from tests.unit.mirror import factories as f


@pytest.fixture(name="reads")
def fixture_reads() -> list[str]:
    """The paths zoho-proxy was asked for."""
    return []


@pytest.fixture(name="processor")
async def fixture_processor(
    db_pool: asyncpg.Pool, reads: list[str]
) -> AsyncIterator[BatchProcessor]:
    def proxy(request: httpx.Request) -> httpx.Response:
        reads.append(request.url.path)
        return httpx.Response(503)

    async with batch_processor(db_pool, proxy) as processor:
        yield processor


@pytest.fixture(name="asked")
def fixture_asked(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The dedup keys each known-events query asked about."""
    queries: list[list[str]] = []
    ask = store.known_events

    async def spy(pool: asyncpg.Pool, keys: list[str]) -> set[str]:
        queries.append(keys)
        return await ask(pool, keys)

    monkeypatch.setattr("processor.pipeline.known_events", spy)
    return queries


async def test_a_redelivered_batch_of_complete_events_is_found_by_the_inbox_insert(
    db_pool: asyncpg.Pool, processor: BatchProcessor, asked: list[list[str]]
) -> None:
    org, ids = new_org(), [new_id(), new_id()]
    batch = [
        Record(n, f.envelope("invoices", i, f.invoice(i), org_id=org).to_bytes())
        for n, i in enumerate(ids)
    ]
    assert [i.outcome for i in await processor.process(batch)] == ["applied", "applied"]
    again = await processor.process(batch)
    assert [i.outcome for i in again] == ["duplicate", "duplicate"]
    assert asked == []
    counts = await db_pool.fetchrow(
        "SELECT (SELECT count(*) FROM tds_inbox_events WHERE org_id = $1) AS inbox, "
        "(SELECT count(*) FROM tds_sync_queue WHERE org_id = $1) AS queue",
        org,
    )
    assert counts is not None and (counts["inbox"], counts["queue"]) == (2, 2)


async def test_a_batch_with_a_thin_event_asks_first_and_reads_nothing_the_inbox_holds(
    db_pool: asyncpg.Pool, processor: BatchProcessor, asked: list[list[str]], reads: list[str]
) -> None:
    org, zoho_id, thin_id = new_org(), new_id(), new_id()
    thin = f.envelope("invoices", thin_id, {"invoice_id": thin_id}, org_id=org)
    complete = f.envelope("invoices", zoho_id, f.invoice(zoho_id), org_id=org)
    first = [Record(0, thin.to_bytes(), partition=1), Record(0, complete.to_bytes())]
    await db_pool.execute(
        "INSERT INTO tds_inbox_events (event_id, source_type, entity_type, entity_id, "
        "event_type, received_at, status, org_id, dedup_key) "
        "VALUES ($1, 'webhook', 'invoices', $2, 'upsert', now(), 'completed', $3, $4)",
        thin.event_id,
        thin_id,
        org,
        f"{org}:invoices:{thin_id}:event:{thin.event_id}",
    )
    items = await processor.process(first)
    assert [i.outcome for i in items] == ["duplicate", "applied"]
    assert len(asked) == 1 and reads == []
