"""Dead-letter replay against the real Kafka and PostgreSQL (issue 16): one letter out of a DLQ
topic full of others, found by its stored offset or by time without reading the rest; replaying
twice applies once; the HTTP API's answers for an unknown id and a bad selection.

zoho-proxy is mocked (httpx.MockTransport): it refuses a thin product until it is "fixed".
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import REGISTRY

from processor.replay import Selection, replay
from processor.settings import Settings
from tds_common.kafka import create_producer
from tds_common.settings import TopicSettings
from tests.integration.processor.helpers import (
    fully_committed,
    new_id,
    new_org,
    partitions_of,
    processor_settings,
    publish,
    running_processor,
)
from tests.unit.mirror import factories as f
from tests.utils.polling import wait_until

pytestmark = pytest.mark.integration

FILLERS = 2000
"""Other dead letters on the DLQ topic, on each side of the one replayed."""
LIMIT_SECONDS = 30.0


class Proxy:
    """Refuses (400) the thin product's read until ``fixed``; counts reads per path."""

    def __init__(self, org: str, zoho_id: str) -> None:
        self.org = org
        self.zoho_id = zoho_id
        self.fixed = False
        self.calls: Counter[str] = Counter()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls[request.url.path] += 1
        if not self.fixed:
            return httpx.Response(400, json={"error_code": "bad_request", "message": "bad id"})
        record = f.product(self.zoho_id, version=1, name="Fixed")
        body = {"entity": "products", "source": "books", "organization_id": self.org}
        return httpx.Response(200, json={**body, "record": record})


async def _fillers(bootstrap: str, topic: str, count: int, *, age: timedelta) -> None:
    """Dead letters of other queue rows, published ``age`` ago (their timestamps)."""
    producer = create_producer(bootstrap)
    await producer.start()
    try:
        stamp = int((datetime.now(UTC) - age).timestamp() * 1000)
        for i in range(count):
            headers = [("tds-queue-id", b"0"), ("tds-entity", b"invoices")]
            await producer.send(
                topic, b'{"filler": %d}' % i, key=b"filler", headers=headers, timestamp_ms=stamp
            )
        await producer.flush()
    finally:
        await producer.stop()


async def _queue_row(pool: asyncpg.Pool, org: str, zoho_id: str) -> asyncpg.Record:
    row = await pool.fetchrow(
        "SELECT id, status, retry_count, dlq_partition, dlq_offset, replayed_as "
        "FROM tds_sync_queue WHERE org_id = $1 AND zoho_entity_id = $2",
        org,
        zoho_id,
    )
    assert row is not None
    return row


def _settings(
    database_url: str, bootstrap: str, topics: TopicSettings, group: str | None = None
) -> Settings:
    settings = processor_settings(database_url, bootstrap, topics)
    if group is not None:
        consumer = settings.consumer.model_copy(update={"group_id": group})
        settings = settings.model_copy(update={"consumer": consumer})
    return settings


async def test_one_letter_out_of_a_full_dlq_topic_is_replayed_through_the_api_by_its_offset(
    db_pool: asyncpg.Pool, database_url: str, kafka_bootstrap: str, topics: TopicSettings
) -> None:
    org, poison_id = new_org(), new_id()
    proxy = Proxy(org, poison_id)
    settings = _settings(database_url, kafka_bootstrap, topics)
    await _fillers(kafka_bootstrap, topics.dead_letters, FILLERS, age=timedelta(0))
    async with running_processor(settings, proxy) as (_, client):
        thin = f.envelope("products", poison_id, {"item_id": poison_id}, org_id=org)
        await publish(kafka_bootstrap, topics.events, [thin])
        await wait_until(
            lambda: _dead(db_pool, org, poison_id),
            what="the dead letter",
            limit_seconds=LIMIT_SECONDS,
        )
        await _fillers(kafka_bootstrap, topics.dead_letters, FILLERS, age=timedelta(0))
        parked = await _queue_row(db_pool, org, poison_id)

        listed = await client.get("/api/zoho/dead-letters", params={"org_id": org})
        shown = await client.get(f"/api/zoho/dead-letters/{parked['id']}")
        not_there = await client.get(f"/api/zoho/dead-letters/{10**15}")
        bad_list = await client.get("/api/zoho/dead-letters", params={"org_id": "12ab"})
        unknown = await client.post("/api/zoho/dead-letters/replay", json={"queue_ids": [10**15]})
        nothing = await client.post("/api/zoho/dead-letters/replay", json={})
        backwards = await client.post(
            "/api/zoho/dead-letters/replay",
            json={"since": "2026-06-10T00:00:00Z", "until": "2026-06-09T00:00:00Z"},
        )
        bad_org = await client.post("/api/zoho/dead-letters/replay", json={"org_id": "12ab"})

        proxy.fixed = True
        answer = await client.post(
            "/api/zoho/dead-letters/replay", json={"queue_ids": [parked["id"]]}
        )
        await wait_until(
            lambda: _status(db_pool, parked["id"], "completed"),
            what="the replay applied",
            limit_seconds=LIMIT_SECONDS,
        )
        replayed = await _queue_row(db_pool, org, poison_id)

    assert [row["queue_id"] for row in listed.json()] == [parked["id"]]
    letter = shown.json()
    assert (letter["status"], letter["dlq_offset"], letter["value_stored"]) == (
        "dead_letter",
        FILLERS,
        False,
    )
    assert letter["raw_payload"] == {"item_id": poison_id}
    assert not_there.status_code == 404 and bad_list.status_code == 422
    assert unknown.status_code == 404 and str(10**15) in unknown.json()["message"]
    assert nothing.status_code == 422 and "set all" in nothing.text
    assert backwards.status_code == 422 and "since must be before until" in backwards.text
    assert bad_org.status_code == 422
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["selected"], report["replayed"], report["missing"]) == (1, 1, 0)
    # Its stored offset: one seek, one message read of the 4,001 on the topic.
    assert parked["dlq_partition"] == 0 and parked["dlq_offset"] == FILLERS
    assert report["scanned"] == 1
    assert replayed["replayed_as"].startswith(f"{topics.events}:")
    events = await read_events(kafka_bootstrap, topics.events)
    assert [e.value for e in events] == [thin.to_bytes(), thin.to_bytes()]  # just that one
    name = await db_pool.fetchval(
        "SELECT name FROM zoho.products WHERE org_id = $1 AND item_id = $2", org, poison_id
    )
    assert name == "Fixed"


async def test_replaying_twice_applies_once_even_when_a_replay_died_after_publishing(
    db_pool: asyncpg.Pool, database_url: str, kafka_bootstrap: str, topics: TopicSettings
) -> None:
    org, poison_id = new_org(), new_id()
    proxy = Proxy(org, poison_id)
    settings = _settings(database_url, kafka_bootstrap, topics)
    thin = f.envelope("products", poison_id, {"item_id": poison_id}, org_id=org)
    async with running_processor(settings, proxy):
        await publish(kafka_bootstrap, topics.events, [thin])
        await wait_until(
            lambda: _dead(db_pool, org, poison_id),
            what="the dead letter",
            limit_seconds=LIMIT_SECONDS,
        )
        await wait_until(
            lambda: fully_committed(kafka_bootstrap, topics.events, settings.consumer.group_id),
            what="the poison's offset committed",
        )
    queue_id = (await _queue_row(db_pool, org, poison_id))["id"]
    selection = Selection(queue_ids=frozenset({queue_id}))

    first = await replay(settings, selection, dry_run=False)
    second = await replay(settings, selection, dry_run=False)  # the row is no longer dead
    # A replay that published and died before recording it: its claim long past, no identity.
    await db_pool.execute(
        "UPDATE tds_sync_queue SET replayed_as = NULL, replayed_at = now() - interval '1 hour' "
        "WHERE id = $1",
        queue_id,
    )
    third = await replay(settings, selection, dry_run=False)  # publishes a second copy
    fourth = await replay(settings, selection, dry_run=False)
    applied_before = _applied_products()

    proxy.fixed = True
    async with running_processor(settings, proxy):  # the same group: it takes both copies
        await wait_until(
            lambda: fully_committed(kafka_bootstrap, topics.events, settings.consumer.group_id),
            what="both copies consumed",
            limit_seconds=LIMIT_SECONDS,
        )
    row = await _queue_row(db_pool, org, poison_id)
    applied = _applied_products() - applied_before

    assert [r.replayed for r in (first, second, third, fourth)] == [1, 0, 1, 0]
    events = await read_events(kafka_bootstrap, topics.events)
    assert len(events) == 3  # the original and two copies of it
    assert applied == 1
    assert proxy.calls[f"/v1/products/{poison_id}"] == 2  # the refusal, then one read
    assert row["status"] == "completed" and row["retry_count"] == 1  # revived once
    inbox = await db_pool.fetchval(
        "SELECT count(*) FROM tds_inbox_events WHERE org_id = $1 AND entity_id = $2",
        org,
        poison_id,
    )
    assert inbox == 1


async def test_a_letter_without_a_stored_offset_is_found_by_time_and_a_lost_one_is_reported(
    db_pool: asyncpg.Pool, database_url: str, kafka_bootstrap: str, topics: TopicSettings
) -> None:
    """Letters of an older release (no DLQ offset on the row): read from minutes before their
    failure, not from the topic's start; one no longer on the topic is reported, not replayed."""
    settings = _settings(database_url, kafka_bootstrap, topics)
    org, zoho_id = new_org(), new_id()
    await _fillers(kafka_bootstrap, topics.dead_letters, 2 * FILLERS, age=timedelta(days=1))
    found_id = await _dead_row(db_pool, org, zoho_id, datetime.now(UTC))
    lost_id = await _dead_row(db_pool, org, zoho_id, datetime.now(UTC) - timedelta(days=40))
    event = f.envelope("products", zoho_id, f.product(zoho_id), org_id=org)
    producer = create_producer(kafka_bootstrap)
    await producer.start()
    try:
        headers = [("tds-queue-id", str(found_id).encode())]
        await producer.send_and_wait(
            topics.dead_letters, event.to_bytes(), key=event.key, headers=headers
        )
    finally:
        await producer.stop()

    dry = await replay(settings, Selection(org_id=org), dry_run=True)
    report = await replay(settings, Selection(org_id=org), dry_run=False)

    assert (dry.selected, dry.replayed, dry.missing) == (2, 1, 1)
    assert (report.selected, report.replayed, report.missing) == (2, 1, 1)
    assert report.missing_queue_ids == [lost_id]
    assert report.scanned <= 2  # the letter itself, not the 4,000 older ones
    events = await read_events(kafka_bootstrap, topics.events)
    assert [e.value for e in events] == [event.to_bytes()]
    rows = await db_pool.fetch("SELECT id, status FROM tds_sync_queue WHERE org_id = $1", org)
    statuses = {row["id"]: row["status"] for row in rows}
    assert statuses == {found_id: "pending", lost_id: "dead_letter"}


async def read_events(bootstrap: str, topic: str) -> list[Any]:
    """Every record of every partition of the events topic, up to its current end."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in sorted(await partitions_of(bootstrap, topic))]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[Any] = []
        while len(records) < sum(ends.values()):
            batch = await consumer.getmany(timeout_ms=1000)
            records.extend(r for rs in batch.values() for r in rs)
        return sorted(records, key=lambda r: r.timestamp)
    finally:
        await consumer.stop()


def _applied_products() -> float:
    value = REGISTRY.get_sample_value(
        "tds_processor_events_total", {"entity": "products", "outcome": "applied"}
    )
    return value or 0.0


async def _dead(pool: asyncpg.Pool, org: str, zoho_id: str) -> bool:
    row = await pool.fetchrow(
        "SELECT status, dlq_offset FROM tds_sync_queue WHERE org_id = $1 AND zoho_entity_id = $2",
        org,
        zoho_id,
    )
    return bool(
        row is not None and row["status"] == "dead_letter" and row["dlq_offset"] is not None
    )


async def _status(pool: asyncpg.Pool, queue_id: int, status: str) -> bool:
    found = await pool.fetchval("SELECT status FROM tds_sync_queue WHERE id = $1", queue_id)
    return bool(found == status)


async def _dead_row(pool: asyncpg.Pool, org: str, zoho_id: str, failed_at: datetime) -> int:
    """A dead letter's queue row as an older release left it: no DLQ offset."""
    return int(
        await pool.fetchval(
            "INSERT INTO tds_sync_queue (entity_type, org_id, zoho_entity_id, status, "
            "processing_completed_at) VALUES ('products', $1, $2, 'dead_letter', $3) "
            "RETURNING id",
            org,
            zoho_id,
            failed_at,
        )
    )
