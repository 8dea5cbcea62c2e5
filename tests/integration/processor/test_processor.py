"""The processor end to end on real Kafka and PostgreSQL (zoho-proxy mocked with MockTransport)."""

from __future__ import annotations

import random
import uuid
from decimal import Decimal
from typing import Any

import asyncpg
import httpx

from tds_common.catalogue import get_entity
from tds_common.settings import TopicSettings
from tests.integration.processor.helpers import (
    fully_committed,
    new_org,
    processor_settings,
    publish,
    read_topic,
    running_processor,
)
from tests.unit.mirror import factories as f
from tests.utils.polling import wait_until


def _id() -> str:
    return str(260815000000000000 + uuid.uuid4().int % 10**12)


async def _queue_rows(pool: asyncpg.Pool, org: str) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM tds_sync_queue WHERE org_id = $1", org))


async def test_every_entity_and_thin_events_land_in_the_right_rows(
    db_pool: asyncpg.Pool, database_url: str, kafka_bootstrap: str, topics: TopicSettings
) -> None:
    org = new_org()
    ids = {name: _id() for name in f.BUILDERS}
    events = [
        f.envelope(name, ids[name], build(ids[name]), org_id=org)
        for name, build in f.BUILDERS.items()
    ]
    thin_stock, gone_product = _id(), _id()
    events.append(f.envelope("stock", thin_stock, {"item_id": thin_stock}, org_id=org))
    events.append(f.envelope("products", gone_product, {"item_id": gone_product}, org_id=org))
    proxy_calls: list[httpx.Request] = []

    def proxy(request: httpx.Request) -> httpx.Response:
        proxy_calls.append(request)
        if request.url.path == f"/v1/stock/{thin_stock}":
            record = f.stock(thin_stock, version=3, warehouses=3)
            return httpx.Response(
                200,
                json={
                    "entity": "stock",
                    "source": "inventory",
                    "organization_id": org,
                    "record": record,
                },
            )
        return httpx.Response(404, json={"error_code": "not_found"})

    settings = processor_settings(database_url, kafka_bootstrap, topics)
    async with running_processor(settings, proxy) as (_, client):
        await publish(kafka_bootstrap, topics.events, events)
        await wait_until(lambda: _has(db_pool, org, len(events)), what="all events handled")
        stats = (await client.get("/api/zoho/sync/stats")).json()
        exposition = (await client.get("/metrics")).text
        ready = await client.get("/ready")
        health = (await client.get("/health")).json()

    assert {r.url.path for r in proxy_calls} == {
        f"/v1/stock/{thin_stock}",
        f"/v1/products/{gone_product}",
    }
    assert all(
        r.headers["X-TDS-Lane"] == "webhook" and r.headers["X-TDS-Org"] == org for r in proxy_calls
    )
    for entity in f.BUILDERS:
        spec = get_entity(entity)
        count = await db_pool.fetchval(
            f"SELECT count(*) FROM {spec.table} WHERE org_id = $1 AND {spec.id_field} = $2",
            org,
            ids[entity],
        )
        assert count == (2 if entity == "stock" else 1), entity
    invoice = await db_pool.fetchrow(
        "SELECT total, source, raw FROM zoho.invoices WHERE org_id = $1", org
    )
    assert invoice is not None and invoice["total"] == Decimal(100)
    assert invoice["source"] == "webhook" and len(invoice["raw"]["line_items"]) == 3
    lines = await db_pool.fetchval(
        "SELECT count(*) FROM zoho.invoice_line_items WHERE org_id = $1", org
    )
    assert lines == 3
    thin = await db_pool.fetch(
        "SELECT stock_on_hand FROM zoho.stock_levels WHERE org_id = $1 AND item_id = $2",
        org,
        thin_stock,
    )
    assert [r["stock_on_hand"] for r in thin] == [Decimal("5.000")] * 3
    gone = await db_pool.fetchrow(
        "SELECT deleted_at FROM zoho.products WHERE org_id = $1 AND item_id = $2",
        org,
        gone_product,
    )
    assert gone is not None and gone["deleted_at"] is not None
    statuses = await db_pool.fetch(
        "SELECT status, count(*) AS n FROM tds_inbox_events WHERE org_id = $1 GROUP BY status", org
    )
    assert {r["status"]: r["n"] for r in statuses} == {"completed": len(events)}
    assert stats["queue"]["completed"] >= len(events)
    assert stats["by_entity"]["invoices"]["completed"] >= 1
    assert stats["sync_delay_avg_seconds"] >= 0
    assert ready.status_code == 200 and health["checks"]["consumer"] == "ok"
    assert 'tds_processor_event_freshness_seconds_count{entity="stock"}' in exposition
    assert f'tds_processor_consumer_lag_messages{{partition="0",topic="{topics.events}"}}' in (
        exposition
    )
    assert 'tds_processor_events_total{entity="invoices",outcome="applied"}' in exposition


async def _has(pool: asyncpg.Pool, org: str, count: int) -> bool:
    return await _queue_rows(pool, org) >= count


async def test_duplicates_and_out_of_order_versions_leave_the_newest_row(
    db_pool: asyncpg.Pool, database_url: str, kafka_bootstrap: str, topics: TopicSettings
) -> None:
    org = new_org()
    rng = random.Random(7)
    invoice_ids = [_id() for _ in range(15)]
    events = []
    for invoice_id in invoice_ids:
        for version in range(5):
            record = f.invoice(invoice_id, version=version, lines=version + 1, status=f"v{version}")
            events.append(f.envelope("invoices", invoice_id, record, org_id=org))
    events += rng.sample(events, 20)  # redeliveries
    rng.shuffle(events)
    settings = processor_settings(database_url, kafka_bootstrap, topics)
    async with running_processor(settings):
        await publish(kafka_bootstrap, topics.events, events)
        await wait_until(lambda: _has(db_pool, org, 75), what="all versions handled")
        # Redeliveries arrive after the originals too; wait until everything was consumed.
        group = settings.consumer.group_id
        await wait_until(
            lambda: fully_committed(kafka_bootstrap, topics.events, group),
            what="every offset committed",
        )

    rows = await db_pool.fetch(
        "SELECT invoice_id, status FROM zoho.invoices WHERE org_id = $1", org
    )
    assert {r["invoice_id"]: r["status"] for r in rows} == dict.fromkeys(invoice_ids, "v4")
    lines = await db_pool.fetch(
        "SELECT invoice_id, count(*) AS n FROM zoho.invoice_line_items WHERE org_id = $1 "
        "GROUP BY invoice_id",
        org,
    )
    assert {r["invoice_id"]: r["n"] for r in lines} == dict.fromkeys(invoice_ids, 5)
    inbox = await db_pool.fetchval("SELECT count(*) FROM tds_inbox_events WHERE org_id = $1", org)
    assert inbox == 75  # one row per distinct event, duplicates are no-ops


def _dlq_headers(record: Any) -> dict[str, str]:
    return {k: v.decode() for k, v in record.headers}


async def test_poison_records_end_in_the_dlq_alone_and_replay_brings_them_back(
    db_pool: asyncpg.Pool, database_url: str, kafka_bootstrap: str, topics: TopicSettings
) -> None:
    from processor.replay import Selection, replay

    org = new_org()
    good_ids = [_id() for _ in range(10)]
    good = [f.envelope("products", i, f.product(i), org_id=org) for i in good_ids]
    bad_number, bad_text, unknown, rejected = _id(), _id(), _id(), _id()
    poison: list[Any] = [
        f.envelope("invoices", bad_number, f.invoice(bad_number, total="12,5O"), org_id=org),
        # A NUL PostgreSQL cannot store: refused when decoded (the envelope checks its payload).
        f.envelope("customers", bad_text, f.customer(bad_text, contact_name="BadXName"), org_id=org)
        .to_bytes()
        .replace(b"BadXName", b"Bad\\u0000Name"),
        f.envelope("salesorders", unknown, {"salesorder_id": unknown}, org_id=org),
        f.envelope("products", rejected, {"item_id": rejected}, org_id=org),  # thin, proxy 400
        b"{not an envelope",
    ]
    events: list[Any] = [*good[:4], *poison[:2], *good[4:7], *poison[2:], *good[7:]]
    proxy_fixed = False

    def proxy(request: httpx.Request) -> httpx.Response:
        if not proxy_fixed:
            return httpx.Response(400, json={"error_code": "bad_request", "message": "bad id"})
        record = f.product(rejected, version=1, name="Fixed")
        return httpx.Response(
            200,
            json={
                "entity": "products",
                "source": "books",
                "organization_id": org,
                "record": record,
            },
        )

    settings = processor_settings(database_url, kafka_bootstrap, topics)
    async with running_processor(settings, proxy):
        await publish(kafka_bootstrap, topics.events, events)
        group = settings.consumer.group_id
        await wait_until(
            lambda: fully_committed(kafka_bootstrap, topics.events, group),
            what="every offset committed",
        )
        letters = await read_topic(kafka_bootstrap, topics.dead_letters)
        assert len(letters) == 5
        headers = [_dlq_headers(r) for r in letters]
        assert sorted(h["tds-entity"] for h in headers) == sorted(
            ["invoices", "unknown", "salesorders", "products", "unknown"]
        )
        assert {r.value for r in letters} == {
            p if isinstance(p, bytes) else p.to_bytes() for p in poison
        }
        assert all(h["tds-original-topic"] == topics.events for h in headers)
        by_entity = {h["tds-entity"]: h for h in headers}
        assert "total" in by_entity["invoices"]["tds-error"]
        assert by_entity["products"]["tds-error-class"] == "UpstreamRejectedError"
        assert by_entity["unknown"]["tds-error-class"] == "InvalidMessageError"

        stored = await db_pool.fetchval(
            "SELECT count(*) FROM zoho.products WHERE org_id = $1 AND deleted_at IS NULL", org
        )
        assert stored == 10
        dead = await db_pool.fetch(
            "SELECT id, entity_type, error_message, kafka_offset FROM tds_sync_queue "
            "WHERE kafka_topic = $1 AND status = 'dead_letter'",
            topics.events,
        )
        assert len(dead) == 5 and all(r["error_message"] for r in dead)
        assert {int(h["tds-queue-id"]) for h in headers} == {r["id"] for r in dead}
        assert {int(h["tds-original-offset"]) for h in headers} == {r["kafka_offset"] for r in dead}

        # The proxy is fixed: replaying the rejected product (dry run first) brings it in.
        selection = Selection(entity="products", org_id=org)
        assert (await replay(settings, selection, dry_run=True)).replayed == 1
        proxy_fixed = True
        assert (await replay(settings, selection, dry_run=False)).replayed == 1
        queue_id = int(by_entity["products"]["tds-queue-id"])
        await wait_until(lambda: _status(db_pool, queue_id, "completed"), what="replayed event")
        again = await replay(settings, selection, dry_run=False)
        assert (again.selected, again.replayed) == (0, 0)  # nothing left to replay

    fixed = await db_pool.fetchrow(
        "SELECT name FROM zoho.products WHERE org_id = $1 AND item_id = $2", org, rejected
    )
    assert fixed is not None and fixed["name"] == "Fixed"
    row = await db_pool.fetchrow("SELECT retry_count FROM tds_sync_queue WHERE id = $1", queue_id)
    assert row is not None and row["retry_count"] >= 1
    inbox = await db_pool.fetchval(
        "SELECT status FROM tds_inbox_events WHERE org_id = $1 AND entity_id = $2", org, rejected
    )
    assert inbox == "completed"


async def _status(pool: asyncpg.Pool, queue_id: int, status: str) -> bool:
    return bool(
        await pool.fetchval("SELECT status FROM tds_sync_queue WHERE id = $1", queue_id) == status
    )


async def test_a_proxy_outage_delays_thin_events_but_never_dead_letters_them(
    db_pool: asyncpg.Pool, database_url: str, kafka_bootstrap: str, topics: TopicSettings
) -> None:
    org = new_org()
    item_id = _id()
    calls = 0

    def proxy(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls <= 3:  # down, then rate limited, then back
            if calls < 3:
                raise httpx.ConnectError("refused", request=request)
            return httpx.Response(429)
        body = {
            "entity": "stock",
            "source": "inventory",
            "organization_id": org,
            "record": f.stock(item_id, version=1),
        }
        return httpx.Response(200, json=body)

    good = [f.envelope("customers", i, f.customer(i), org_id=org) for i in (_id(), _id())]
    thin = f.envelope("stock", item_id, {"item_id": item_id}, org_id=org)
    settings = processor_settings(database_url, kafka_bootstrap, topics)
    async with running_processor(settings, proxy):
        await publish(kafka_bootstrap, topics.events, [good[0], thin, good[1]])
        await wait_until(lambda: _has(db_pool, org, 3), what="the thin event after the outage")
    assert calls == 4
    rows = await db_pool.fetchval(
        "SELECT count(*) FROM zoho.stock_levels WHERE org_id = $1 AND item_id = $2", org, item_id
    )
    assert rows == 2
    assert await read_topic(kafka_bootstrap, topics.dead_letters) == []
    statuses = await db_pool.fetch(
        "SELECT DISTINCT status FROM tds_sync_queue WHERE org_id = $1", org
    )
    assert [r["status"] for r in statuses] == ["completed"]
