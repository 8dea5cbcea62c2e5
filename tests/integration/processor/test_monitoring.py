"""docs/monitoring.sql runs against the real tables and gives the numbers a run should give."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from pathlib import Path

from devstack import postgres as devpg
from tds_common.db import create_pool
from tds_common.settings import TopicSettings
from tests.integration.processor.helpers import (
    fully_committed,
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
    assert set(queries) >= {"queue_status", "sync_delay_per_entity", "recent_failures",
                            "webhook_success_rate"}  # fmt: skip
    ids = [str(260815000000000000 + uuid.uuid4().int % 10**12) for _ in range(22)]
    events = [f.envelope("products", i, f.product(i)) for i in ids[:12]]
    events += [f.envelope("customers", i, f.customer(i)) for i in ids[12:20]]
    events += [f.envelope("invoices", i, f.invoice(i, total="n/a")) for i in ids[20:]]
    settings = processor_settings(private_postgres.url(), kafka_bootstrap, topics)
    async with running_processor(settings):
        await publish(kafka_bootstrap, topics.events, events)
        group = settings.consumer.group_id
        await wait_until(lambda: fully_committed(kafka_bootstrap, topics.events, group),
                       what="every offset committed")  # fmt: skip

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
    assert results["recent_failures"] == []
    dead = results["recent_dead_letters"]
    assert [(r["entity_type"], r["count"]) for r in dead] == [("invoices", 2)]
    assert "total" in dead[0]["error_message"]
    rate = results["webhook_success_rate"][0]
    assert (rate["total_webhooks"], rate["successful"], rate["failed"]) == (22, 20, 0)
    assert rate["success_rate_percent"] == Decimal("90.91")
    fresh = {r["entity"]: r["last_synced"] for r in results["mirror_freshness"]}
    assert fresh["products"] is not None and fresh["bills"] is None
