"""One record never stalls the others (issue 11): bounded attempts, parking, partitions that wait
alone, reads that are paid once, dead letters that never fail on their own bytes.

zoho-proxy is mocked (httpx.MockTransport); Kafka and PostgreSQL are real.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import Counter
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from processor.replay import Selection, replay
from processor.settings import Settings
from tds_common.settings import TopicSettings
from tests.integration.processor.helpers import (
    fully_committed,
    ids_on,
    new_id,
    new_org,
    partition_of,
    partitions_of,
    processor_settings,
    publish,
    read_topic,
    running_processor,
)
from tests.unit.mirror import factories as f
from tests.utils.polling import wait_until

LIMIT_SECONDS = 30.0
PRODUCER_MAX_REQUEST_BYTES = 1_048_576  # aiokafka's default, and the broker's message limit


def _settings(
    database_url: str, bootstrap: str, topics: TopicSettings, **consumer: Any
) -> Settings:
    settings = processor_settings(database_url, bootstrap, topics)
    update = {"retry_initial_seconds": 0.05, "retry_max_seconds": 0.2, **consumer}
    return settings.model_copy(update={"consumer": settings.consumer.model_copy(update=update)})


def _record(entity: str, org: str, record: dict[str, Any]) -> httpx.Response:
    return httpx.Response(
        200, json={"entity": entity, "source": "books", "organization_id": org, "record": record}
    )


async def _rows(pool: asyncpg.Pool, table: str, org: str) -> int:
    return int(await pool.fetchval(f"SELECT count(*) FROM zoho.{table} WHERE org_id = $1", org))


async def _letters(bootstrap: str, topic: str) -> list[Any]:
    return await read_topic(bootstrap, topic)


def _headers(record: Any) -> dict[str, str]:
    return {k: v.decode() for k, v in record.headers}


async def test_a_record_failing_on_its_own_is_parked_after_bounded_attempts_and_replayable(
    db_pool: asyncpg.Pool, database_url: str, kafka_bootstrap: str, topics: TopicSettings
) -> None:
    org = new_org()
    failing = new_id()
    home = partition_of(org, "products", failing)
    behind = ids_on(org, "products", 3, partition=home)  # queued after it on its partition
    elsewhere = ids_on(org, "products", 6, avoid=home)
    calls: Counter[str] = Counter()
    fixed = False

    def proxy(request: httpx.Request) -> httpx.Response:
        calls[request.url.path] += 1
        if fixed:
            return _record("products", org, f.product(failing, version=1, name="Fixed"))
        return httpx.Response(500, json={"error_code": "zoho_server_error"})  # for this id only

    events = [f.envelope("products", failing, {"item_id": failing}, org_id=org)]  # thin
    events += [f.envelope("products", i, f.product(i), org_id=org) for i in behind + elsewhere]
    settings = _settings(database_url, kafka_bootstrap, topics, max_attempts=3)
    async with running_processor(settings, proxy) as (_, client):
        await publish(kafka_bootstrap, topics.events, events)
        await wait_until(
            lambda: _letters_count(kafka_bootstrap, topics.dead_letters, 1),
            what="the failing record parked",
            limit_seconds=LIMIT_SECONDS,
        )
        await wait_until(
            lambda: _has_rows(db_pool, org, 9),
            what="every other record",
            limit_seconds=LIMIT_SECONDS,
        )
        (letter,) = await _letters(kafka_bootstrap, topics.dead_letters)
        parked = await db_pool.fetchrow(
            "SELECT id, status, error_message FROM tds_sync_queue WHERE org_id = $1 "
            "AND zoho_entity_id = $2",
            org,
            failing,
        )
        assert parked is not None
        attempts_left = await db_pool.fetchval(
            "SELECT count(*) FROM tds_processor_attempts WHERE org_id = $1", org
        )
        stats = (await client.get("/api/zoho/sync/stats")).json()
        reads_before_replay = calls[f"/v1/products/{failing}"]

        fixed = True
        chosen = await replay(
            settings, Selection(queue_ids=frozenset({parked["id"]})), dry_run=False
        )
        await wait_until(
            lambda: _queue_status(db_pool, parked["id"], "completed"),
            what="the replayed record",
            limit_seconds=LIMIT_SECONDS,
        )

    headers = _headers(letter)
    assert headers["tds-reason"] == "retries_exhausted"
    assert headers["tds-error-class"] == "RetriesExhaustedError"
    assert "after 3 attempts" in headers["tds-error"] and "HTTP 500" in headers["tds-error"]
    assert letter.value == events[0].to_bytes()
    assert reads_before_replay == 3  # bounded: not retried forever
    assert parked["status"] == "dead_letter" and "retries_exhausted" in parked["error_message"]
    assert attempts_left == 0
    assert stats["queue"]["failed"] >= 1  # a dead letter is a failure
    assert chosen.replayed == 1
    name = await db_pool.fetchval(
        "SELECT name FROM zoho.products WHERE org_id = $1 AND item_id = $2", org, failing
    )
    assert name == "Fixed"


async def test_a_record_too_large_for_an_index_is_parked_and_its_partition_goes_on(
    db_pool: asyncpg.Pool, database_url: str, kafka_bootstrap: str, topics: TopicSettings
) -> None:
    org = new_org()
    huge = new_id()
    home = partition_of(org, "products", huge)
    behind = ids_on(org, "products", 2, partition=home)
    elsewhere = ids_on(org, "products", 3, avoid=home)
    # A random sku of 8 KB: no btree index row holds it (SQLSTATE 54000, not a data error).
    events = [
        f.envelope("products", huge, f.product(huge, sku=secrets.token_urlsafe(6000)), org_id=org)
    ]
    events += [f.envelope("products", i, f.product(i), org_id=org) for i in behind + elsewhere]
    settings = _settings(database_url, kafka_bootstrap, topics, max_attempts=3)
    async with running_processor(settings):
        await publish(kafka_bootstrap, topics.events, events)
        await wait_until(
            lambda: _has_rows(db_pool, org, 5),
            what="the other records",
            limit_seconds=LIMIT_SECONDS,
        )
        await wait_until(
            lambda: _letters_count(kafka_bootstrap, topics.dead_letters, 1),
            what="the huge record parked",
            limit_seconds=LIMIT_SECONDS,
        )
        (letter,) = await _letters(kafka_bootstrap, topics.dead_letters)

    headers = _headers(letter)
    assert headers["tds-reason"] == "retries_exhausted" and "54000" in headers["tds-error"]
    assert await _rows(db_pool, "products", org) == 5


async def _letters_count(bootstrap: str, topic: str, count: int) -> bool:
    return len(await _letters(bootstrap, topic)) >= count


async def _has_rows(pool: asyncpg.Pool, org: str, count: int) -> bool:
    return await _rows(pool, "products", org) >= count


async def _queue_status(pool: asyncpg.Pool, queue_id: int, status: str) -> bool:
    return bool(
        await pool.fetchval("SELECT status FROM tds_sync_queue WHERE id = $1", queue_id) == status
    )


async def test_a_thin_read_waiting_on_zoho_holds_back_only_its_own_partition(
    db_pool: asyncpg.Pool, database_url: str, kafka_bootstrap: str, topics: TopicSettings
) -> None:
    org = new_org()
    thin = new_id()
    home = partition_of(org, "stock", thin)
    others = ids_on(org, "customers", 8, avoid=home)
    zoho_answers = asyncio.Event()
    calls: Counter[str] = Counter()

    async def proxy(request: httpx.Request) -> httpx.Response:
        calls[request.url.path] += 1
        await zoho_answers.wait()  # the budget is spent: the read waits in zoho-proxy's lane
        return _record("stock", org, f.stock(thin, version=1))

    events = [f.envelope("stock", thin, {"item_id": thin}, org_id=org)]
    events += [f.envelope("customers", i, f.customer(i), org_id=org) for i in others]
    settings = _settings(database_url, kafka_bootstrap, topics)
    async with running_processor(settings, proxy):
        await publish(kafka_bootstrap, topics.events, events)
        await wait_until(
            lambda: _customers(db_pool, org, len(others)),
            what="the other partitions while the read waits",
            limit_seconds=LIMIT_SECONDS,
        )
        stock_while_waiting = await _rows(db_pool, "stock_levels", org)
        zoho_answers.set()
        await wait_until(
            lambda: _stock(db_pool, org),
            what="the thin event once Zoho answered",
            limit_seconds=LIMIT_SECONDS,
        )

    assert stock_while_waiting == 0
    assert calls == {f"/v1/stock/{thin}": 1}  # deferred, not asked again: the read was kept


async def _customers(pool: asyncpg.Pool, org: str, count: int) -> bool:
    return await _rows(pool, "customers", org) >= count


async def _stock(pool: asyncpg.Pool, org: str) -> bool:
    return await _rows(pool, "stock_levels", org) >= 1


async def test_copies_of_a_thin_webhook_and_an_offset_reset_cost_one_read(
    db_pool: asyncpg.Pool, database_url: str, kafka_bootstrap: str, topics: TopicSettings
) -> None:
    org = new_org()
    item = new_id()
    stamp = f.product(item, version=3)["last_modified_time"]
    # A stock webhook carries the item and its version but not its warehouses: thin.
    copy = f.envelope("stock", item, {"item_id": item, "last_modified_time": stamp}, org_id=org)
    calls: Counter[str] = Counter()

    def proxy(request: httpx.Request) -> httpx.Response:
        calls[request.url.path] += 1
        return _record("stock", org, f.stock(item, version=3))

    settings = _settings(database_url, kafka_bootstrap, topics)
    group = settings.consumer.group_id
    async with running_processor(settings, proxy):
        await publish(kafka_bootstrap, topics.events, [copy.model_copy() for _ in range(30)])
        await wait_until(
            lambda: fully_committed(kafka_bootstrap, topics.events, group),
            what="the first copies",
            limit_seconds=LIMIT_SECONDS,
        )
        await publish(kafka_bootstrap, topics.events, [copy.model_copy() for _ in range(30)])
        await wait_until(
            lambda: fully_committed(kafka_bootstrap, topics.events, group),
            what="the later copies",
            limit_seconds=LIMIT_SECONDS,
        )
    # An offset reset: a new group reads the whole topic again.
    again = settings.model_copy(
        update={"consumer": settings.consumer.model_copy(update={"group_id": f"{group}-reset"})}
    )
    async with running_processor(again, proxy):
        await wait_until(
            lambda: fully_committed(kafka_bootstrap, topics.events, f"{group}-reset"),
            what="the replayed topic",
            limit_seconds=LIMIT_SECONDS,
        )

    assert calls == {f"/v1/stock/{item}": 1}
    assert await _rows(db_pool, "stock_levels", org) == 2


async def test_a_nul_in_an_envelope_field_is_dead_lettered_and_its_partition_goes_on(
    db_pool: asyncpg.Pool, database_url: str, kafka_bootstrap: str, topics: TopicSettings
) -> None:
    org = new_org()
    good = new_id()
    envelope = f.envelope("products", good, f.product(good), org_id=org)
    document = json.loads(envelope.to_bytes())
    hostile = {**document, "zoho_id": "77\u0000", "event_id": "e\u0000"}
    settings = _settings(database_url, kafka_bootstrap, topics)
    async with running_processor(settings):
        # Both under one key, so the good event waits behind the hostile one on one partition.
        await publish(
            kafka_bootstrap, topics.events, [json.dumps(hostile).encode(), envelope.to_bytes()]
        )
        await wait_until(
            lambda: _has_rows(db_pool, org, 1),
            what="the event behind it",
            limit_seconds=LIMIT_SECONDS,
        )
        letters = await _letters(kafka_bootstrap, topics.dead_letters)

    assert len(letters) == 1 and letters[0].value == json.dumps(hostile).encode()
    # Refused when decoded (the envelope holds its texts to what PostgreSQL stores); the dead
    # letter's own rows never carry the NUL either (see test_store's spelled-out texts).
    dead = await db_pool.fetchval(
        "SELECT count(*) FROM tds_sync_queue WHERE kafka_topic = $1 AND status = 'dead_letter'",
        topics.events,
    )
    assert dead == 1


async def test_a_dead_letter_too_large_for_the_broker_is_parked_and_replayed_whole(
    db_pool: asyncpg.Pool, database_url: str, kafka_bootstrap: str, topics: TopicSettings
) -> None:
    org = new_org()
    poison_id = new_id()
    record = f.invoice(poison_id, total="n/a", notes="")
    small = f.envelope("invoices", poison_id, record, org_id=org)
    key = small.key
    # As large as the broker takes (with room for the replay's header), so the dead letter's
    # own headers push it over.
    overhead = DefaultRecordBatchBuilder.estimate_size_in_bytes(
        key, small.to_bytes(), [("tds-replay-of", b"x" * 80)]
    )
    record["notes"] = "n" * (PRODUCER_MAX_REQUEST_BYTES - overhead - 16)
    poison = f.envelope("invoices", poison_id, record, org_id=org)
    value = poison.to_bytes()
    settings = _settings(database_url, kafka_bootstrap, topics)
    async with running_processor(settings):
        await publish(kafka_bootstrap, topics.events, [poison])
        await wait_until(
            lambda: _letters_count(kafka_bootstrap, topics.dead_letters, 1),
            what="the cut dead letter",
            limit_seconds=LIMIT_SECONDS,
        )
        (letter,) = await _letters(kafka_bootstrap, topics.dead_letters)
        queue_id = int(_headers(letter)["tds-queue-id"])
        stored = await db_pool.fetchval(
            "SELECT kafka_value FROM tds_dead_letter_values WHERE queue_id = $1", queue_id
        )
        chosen = await replay(settings, Selection(queue_ids=frozenset({queue_id})), dry_run=False)
        group = settings.consumer.group_id
        await wait_until(
            lambda: fully_committed(kafka_bootstrap, topics.events, group),
            what="the replayed event consumed",
            limit_seconds=LIMIT_SECONDS,
        )
        events = await _topic_values(kafka_bootstrap, topics.events)
        status = await db_pool.fetchval("SELECT status FROM tds_sync_queue WHERE id = $1", queue_id)

    headers = _headers(letter)
    assert headers["tds-value-truncated"] == str(len(value))
    assert 0 < len(letter.value) < len(value) and value.startswith(letter.value)
    assert bytes(stored) == value  # the whole letter is kept in PostgreSQL
    assert chosen.replayed == 1 and chosen.scanned == 0  # whole, from PostgreSQL
    assert events == [value, value]  # the replay republished the original, whole
    # Handled again (poison still): dead, not left 'pending' by the replay after the fact.
    assert status == "dead_letter"


async def _topic_values(bootstrap: str, topic: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in sorted(await partitions_of(bootstrap, topic))]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        values: list[bytes] = []
        while sum(ends.values()) > len(values):
            batch = await consumer.getmany(timeout_ms=1000)
            values.extend(r.value for records in batch.values() for r in records)
        return values
    finally:
        await consumer.stop()
