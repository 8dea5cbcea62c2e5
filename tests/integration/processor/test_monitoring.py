"""docs/monitoring.sql runs against the real tables and gives the numbers a run should give."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx

from devstack import postgres as devpg
from tds_common.catalogue import ENTITIES
from tds_common.db import create_pool
from tds_common.settings import TopicSettings
from tests.integration.processor.helpers import (
    fully_committed,
    ids_on,
    new_id,
    new_org,
    partition_of,
    processor_settings,
    publish,
    running_processor,
)
from tests.unit.mirror import factories as f
from tests.utils.polling import wait_until

MONITORING_SQL = Path(__file__).parents[3] / "docs" / "monitoring.sql"


def monitoring_queries() -> dict[str, str]:
    text = MONITORING_SQL.read_text()
    parts = re.split(r"^-- name: (\w+)\n", text, flags=re.MULTILINE)[1:]
    return {name: sql.strip() for name, sql in zip(parts[::2], parts[1::2], strict=True)}


async def test_monitoring_queries_report_a_run_sensibly(
    private_postgres: devpg.PostgresConfig, kafka_bootstrap: str, topics: TopicSettings
) -> None:
    """On a database of its own, so the numbers are exactly this run's."""
    queries = monitoring_queries()
    assert set(queries) >= {
        "queue_status",
        "sync_delay_per_entity",
        "recent_failures",
        "webhook_success_rate",
        "failing_now",
    }
    ids = [str(260815000000000000 + uuid.uuid4().int % 10**12) for _ in range(22)]
    events = [f.envelope("products", i, f.product(i)) for i in ids[:12]]
    events += [f.envelope("customers", i, f.customer(i)) for i in ids[12:20]]
    events += [f.envelope("invoices", i, f.invoice(i, total="n/a")) for i in ids[20:]]
    settings = processor_settings(private_postgres.url(), kafka_bootstrap, topics)
    async with running_processor(settings):
        await publish(kafka_bootstrap, topics.events, events)
        group = settings.consumer.group_id
        await wait_until(
            lambda: fully_committed(kafka_bootstrap, topics.events, group),
            what="every offset committed",
        )

    pool = await create_pool(private_postgres.url())
    try:
        results = {name: await pool.fetch(sql) for name, sql in queries.items()}
    finally:
        await pool.close()

    assert {r["status"]: r["count"] for r in results["queue_status"]} == {
        "completed": 20,
        "dead_letter": 2,
    }
    delays = {r["entity_type"]: r["avg_delay_seconds"] for r in results["sync_delay_per_entity"]}
    assert set(delays) == {"products", "customers"}
    assert all(Decimal(0) <= d < Decimal(60) for d in delays.values())
    failures = results["recent_failures"]
    assert [(r["entity_type"], r["count"]) for r in failures] == [("invoices", 2)]
    assert results["failing_now"] == []  # both were poison: dead-lettered at once, not retried
    dead = results["recent_dead_letters"]
    assert [(r["entity_type"], r["count"]) for r in dead] == [("invoices", 2)]
    assert "total" in dead[0]["error_message"]
    rate = results["webhook_success_rate"][0]
    assert (rate["total_webhooks"], rate["successful"], rate["failed"]) == (22, 20, 2)
    assert rate["success_rate_percent"] == Decimal("90.91")
    fresh = {r["entity"]: r["last_synced"] for r in results["mirror_freshness"]}
    assert fresh["products"] is not None and fresh["bills"] is None
    assert set(fresh) == {name for name, spec in ENTITIES.items() if spec.versioned}


async def test_stats_show_the_backlog_and_count_dead_letters_and_retries_as_failures(
    db_pool: asyncpg.Pool, database_url: str, kafka_bootstrap: str, topics: TopicSettings
) -> None:
    org = new_org()
    failing = new_id()
    # The others on other partitions than the failing record's: those must not wait.
    home = partition_of(org, "products", failing)
    poison = ids_on(org, "invoices", 1, avoid=home)[0]
    good = ids_on(org, "customers", 2, avoid=home)

    def proxy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"error_code": "zoho_server_error"})

    # The failing thin read and four events behind it under one key: one partition waits.
    thin = f.envelope("products", failing, {"item_id": failing}, org_id=org)
    behind = [f.envelope("products", failing, {"item_id": failing}, org_id=org) for _ in range(4)]
    others = [f.envelope("invoices", poison, f.invoice(poison, total="n/a"), org_id=org)]
    others += [f.envelope("customers", i, f.customer(i), org_id=org) for i in good]
    settings = processor_settings(database_url, kafka_bootstrap, topics)
    consumer = settings.consumer.model_copy(
        update={"max_attempts": 100, "retry_initial_seconds": 0.5, "retry_max_seconds": 0.5}
    )
    settings = settings.model_copy(update={"consumer": consumer})
    async with running_processor(settings, proxy) as (_, client):
        await publish(kafka_bootstrap, topics.events, [thin, *behind, *others])

        async def stalled() -> bool:
            stats = (await client.get("/api/zoho/sync/stats")).json()
            return bool(stats["consumer_lag"] == 5 and stats["retrying"] >= 1)

        await wait_until(stalled, what="the stall visible in the stats", limit_seconds=30)
        stats = (await client.get("/api/zoho/sync/stats")).json()
        exposition = (await client.get("/metrics")).text

    queue = stats["queue"]
    assert queue["pending"] >= stats["consumer_lag"] == 5  # the backlog, no longer 0
    assert queue["dead_letter"] >= 1
    assert queue["failed"] >= queue["dead_letter"] + stats["retrying"]
    assert "tds_processor_deferred_partitions" in exposition
