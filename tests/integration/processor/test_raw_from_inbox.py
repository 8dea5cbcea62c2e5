"""A pushed record is parsed by PostgreSQL once (issue 18): its inbox row's payload is what the
mirror upsert stores as ``raw``, read there in the same transaction. Only a payload the batch
itself inserted is read so: a record fetched through zoho-proxy, or an event whose inbox row is
an older dead letter's, sends its own."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from processor.pipeline import BatchProcessor, decode
from tds_common.mirror import writer
from tests.integration.processor.helpers import Record, batch_processor, new_id, new_org
from tests.unit.mirror import factories as f

Proxy = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(name="answers")
def fixture_answers() -> dict[str, dict[str, Any]]:
    """What the mocked zoho-proxy holds, by Zoho id."""
    return {}


@pytest.fixture(name="processor")
async def fixture_processor(
    db_pool: asyncpg.Pool, answers: dict[str, dict[str, Any]]
) -> AsyncIterator[BatchProcessor]:
    def proxy(request: httpx.Request) -> httpx.Response:
        record = answers[request.url.path.rsplit("/", 1)[-1]]
        body = {"entity": "invoices", "source": "books", "organization_id": "", "record": record}
        return httpx.Response(200, json=body)

    async with batch_processor(db_pool, proxy) as processor:
        yield processor


@pytest.fixture(name="sent")
def fixture_sent(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The parent rows the upserts sent."""
    rows: list[dict[str, Any]] = []
    render = writer._upserts_json

    def spy(items: Any) -> str:
        text = render(items)
        rows.extend(json.loads(text))
        return text

    monkeypatch.setattr(writer, "_upserts_json", spy)
    return rows


async def _stored(pool: asyncpg.Pool, org: str, zoho_id: str) -> dict[str, Any]:
    raw = await pool.fetchval(
        "SELECT raw::text FROM zoho.invoices WHERE org_id = $1 AND invoice_id = $2", org, zoho_id
    )
    assert raw is not None
    return dict(json.loads(raw))


async def test_pushed_records_are_stored_from_their_inbox_rows_without_sending_them_twice(
    db_pool: asyncpg.Pool, processor: BatchProcessor, sent: list[dict[str, Any]]
) -> None:
    org, ids = new_org(), [new_id(), new_id()]
    records = [f.invoice(zoho_id, lines=2, customer_name="Zoë ₹") for zoho_id in ids]
    events = [f.envelope("invoices", i, r, org_id=org) for i, r in zip(ids, records, strict=True)]
    batch = [Record(n, e.to_bytes()) for n, e in enumerate(events)]
    items = await processor.process(batch)
    assert [i.outcome for i in items] == ["applied", "applied"]
    assert not any("raw" in row for row in sent)
    assert {row["raw_in_inbox"] for row in sent} == {i.dedup_key for i in items}
    for zoho_id, record in zip(ids, records, strict=True):
        assert await _stored(db_pool, org, zoho_id) == record
    # The same stored value as the inbox's: typed columns still come from the row sent.
    same = await db_pool.fetchval(
        "SELECT bool_and(v.raw = i.raw_payload AND v.customer_name = 'Zoë ₹') "
        "FROM zoho.invoices v JOIN tds_inbox_events i "
        "ON i.org_id = v.org_id AND i.entity_id = v.invoice_id WHERE v.org_id = $1",
        org,
    )
    assert same is True


async def test_a_record_read_through_zoho_proxy_is_sent_whole(
    db_pool: asyncpg.Pool,
    processor: BatchProcessor,
    answers: dict[str, dict[str, Any]],
    sent: list[dict[str, Any]],
) -> None:
    org, zoho_id = new_org(), new_id()
    answers[zoho_id] = f.invoice(zoho_id, lines=1, status="paid")
    thin = f.envelope("invoices", zoho_id, {"invoice_id": zoho_id}, org_id=org)
    items = await processor.process([Record(0, thin.to_bytes())])
    assert [i.outcome for i in items] == ["applied"]
    assert sent[0]["raw"] == answers[zoho_id] and sent[0].get("raw_in_inbox") is None
    assert await _stored(db_pool, org, zoho_id) == answers[zoho_id]


async def test_an_event_whose_inbox_row_is_a_dead_letter_without_payload_sends_its_own(
    db_pool: asyncpg.Pool, processor: BatchProcessor, sent: list[dict[str, Any]]
) -> None:
    """A replayed dead letter revives the inbox row it left, whose payload PostgreSQL may not
    have kept (store.record_dead_letter): reading raw there would store nothing."""
    org, zoho_id = new_org(), new_id()
    record = f.invoice(zoho_id, lines=1)
    event = Record(0, f.envelope("invoices", zoho_id, record, org_id=org).to_bytes())
    await db_pool.execute(
        "INSERT INTO tds_inbox_events (event_id, source_type, entity_type, entity_id, "
        "event_type, raw_payload, received_at, status, org_id, dedup_key) "
        "VALUES ('e', 'webhook', 'invoices', $1, 'upsert', NULL, $2, 'dead_letter', $3, $4)",
        zoho_id,
        datetime.now(UTC),
        org,
        decode(event).dedup_key,
    )
    items = await processor.process([event])
    assert [i.outcome for i in items] == ["applied"]
    assert sent[0]["raw"] == record
    assert await _stored(db_pool, org, zoho_id) == record
