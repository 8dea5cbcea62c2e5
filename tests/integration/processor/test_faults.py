"""Faults mid-stream: PostgreSQL stopped and restarted, the processor killed with SIGKILL.

Both must end with exactly the expected mirror state and no dead letters: infrastructure
failures are waited out, and a redelivery after a crash is a no-op.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from devstack import kafka as devkafka
from devstack import postgres as devpg
from tds_common.db import create_pool
from tds_common.events import EventEnvelope
from tds_common.kafka import ensure_topics
from tds_common.settings import TopicSettings
from tests.conftest import free_port
from tests.integration.processor.helpers import (
    fully_committed,
    new_org,
    processor_settings,
    publish,
    read_topic,
    running_processor,
    start_subprocess,
)
from tests.unit.mirror import factories as f
from tests.utils.kafka import SINGLE_BROKER
from tests.utils.polling import wait_until


def _stream(org: str, records: int, versions: int) -> tuple[list[EventEnvelope], dict[str, Any]]:
    """Several versions per invoice, shuffled within each record's stream order, and the state
    the mirror must end in (newest version per invoice: status and line count)."""
    events: list[EventEnvelope] = []
    expected: dict[str, Any] = {}
    ids = [str(260815000000000000 + uuid.uuid4().int % 10**12) for _ in range(records)]
    for version in range(versions):
        for invoice_id in ids:
            # Versions arrive newest-last for most, out of order for every third invoice.
            v = versions - 1 - version if int(invoice_id) % 3 == 0 else version
            record = f.invoice(invoice_id, version=v, lines=1 + v % 4, status=f"v{v}")
            events.append(f.envelope("invoices", invoice_id, record, org_id=org))
    for invoice_id in ids:
        expected[invoice_id] = (f"v{versions - 1}", 1 + (versions - 1) % 4)
    return events, expected


async def _state(pool: asyncpg.Pool, org: str) -> dict[str, Any]:
    rows = await pool.fetch(
        "SELECT i.invoice_id, i.status, count(l.line_item_id) AS lines FROM zoho.invoices i "
        "LEFT JOIN zoho.invoice_line_items l USING (org_id, invoice_id) WHERE i.org_id = $1 "
        "GROUP BY i.invoice_id, i.status",
        org,
    )
    return {r["invoice_id"]: (r["status"], r["lines"]) for r in rows}


async def test_postgres_stopped_and_restarted_mid_stream_loses_nothing(
    private_postgres: devpg.PostgresConfig, kafka_bootstrap: str, topics: TopicSettings
) -> None:
    org = new_org()
    events, expected = _stream(org, records=60, versions=4)
    settings = processor_settings(private_postgres.url(), kafka_bootstrap, topics)
    outages_before = _transient_failures(topics.events)
    pool = await create_pool(private_postgres.url())
    try:
        async with running_processor(settings):
            await publish(kafka_bootstrap, topics.events, events[:80])
            await wait_until(lambda: _queued(pool, org, 1), what="the first rows")
            await pool.expire_connections()
            await asyncio.to_thread(devpg.stop, private_postgres)
            # Events keep arriving while the database is down.
            await publish(kafka_bootstrap, topics.events, events[80:200])
            await asyncio.sleep(1.5)  # let the consumer hit the outage and back off
            await asyncio.to_thread(devpg.start, private_postgres)
            await publish(kafka_bootstrap, topics.events, events[200:])
            group = settings.consumer.group_id
            await wait_until(
                lambda: fully_committed(kafka_bootstrap, topics.events, group),
                what="every offset committed",
                limit_seconds=90,
            )
        assert _transient_failures(topics.events) > outages_before  # the outage was hit
        assert await _state(pool, org) == expected
        dead = await pool.fetchval(
            "SELECT count(*) FROM tds_sync_queue WHERE status = 'dead_letter'"
        )
        assert dead == 0
        assert await read_topic(kafka_bootstrap, topics.dead_letters) == []
        inbox = await pool.fetchval("SELECT count(*) FROM tds_inbox_events WHERE org_id = $1", org)
        assert inbox == len(events)
    finally:
        await pool.close()


def _transient_failures(topic: str) -> float:
    from processor import metrics

    return sum(
        sample.value
        for metric in metrics.MESSAGES_FAILED.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
        and sample.labels["topic"] == topic
        and sample.labels["error"] == "UpstreamUnavailableError"
    )


async def _queued(pool: asyncpg.Pool, org: str, count: int) -> bool:
    try:
        n = await pool.fetchval("SELECT count(*) FROM tds_sync_queue WHERE org_id = $1", org)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False
    return int(n) >= count


async def test_sigkill_mid_stream_then_restart_ends_in_the_exact_expected_state(
    db_pool: asyncpg.Pool,
    database_url: str,
    kafka_bootstrap: str,
    topics: TopicSettings,
    tmp_path: Path,
) -> None:
    org = new_org()
    events, expected = _stream(org, records=150, versions=4)
    settings = processor_settings(database_url, kafka_bootstrap, topics)
    env = {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "KAFKA_TOPICS__EVENTS": topics.events,
        "KAFKA_TOPICS__SYNC_REQUESTS": topics.sync_requests,
        "KAFKA_TOPICS__DEAD_LETTERS": topics.dead_letters,
        "PROCESSOR_CONSUMER__GROUP_ID": settings.consumer.group_id,
        # Small batches so the kill lands between commits; short session so the restarted
        # member gets the partitions soon after the killed one is declared dead.
        "PROCESSOR_CONSUMER__BATCH_MAX_RECORDS": "20",
        "PROCESSOR_CONSUMER__SESSION_TIMEOUT_MS": "6000",
        "PROCESSOR_PORT": str(free_port()),
        "ZOHO_PROXY_URL": "http://127.0.0.1:9",
        "LOG_LEVEL": "INFO",
    }
    await publish(kafka_bootstrap, topics.events, events[:400])
    first = start_subprocess(env, tmp_path / "first.log")
    try:
        await wait_until(lambda: _queued(db_pool, org, 60), what="the first batches")
        first.send_signal(signal.SIGKILL)
        await asyncio.to_thread(first.wait, 30)
    finally:
        if first.poll() is None:
            first.kill()
    done = await db_pool.fetchval("SELECT count(*) FROM tds_sync_queue WHERE org_id = $1", org)
    assert done < len(events)  # the kill really happened mid-stream
    await publish(kafka_bootstrap, topics.events, events[400:])
    env["PROCESSOR_PORT"] = str(free_port())
    second = start_subprocess(env, tmp_path / "second.log")
    try:
        await wait_until(
            lambda: fully_committed(kafka_bootstrap, topics.events, settings.consumer.group_id),
            what="every offset committed after the restart",
            limit_seconds=90,
        )
        second.send_signal(signal.SIGTERM)  # graceful: finish the batch, commit, leave the group
        # uvicorn re-raises the signal after its graceful shutdown, hence -SIGTERM.
        assert await asyncio.to_thread(second.wait, 30) in (0, -signal.SIGTERM)
    finally:
        if second.poll() is None:
            second.kill()
    assert await _state(db_pool, org) == expected
    inbox = await db_pool.fetchval("SELECT count(*) FROM tds_inbox_events WHERE org_id = $1", org)
    assert inbox == len(events)  # each event recorded once, redeliveries were no-ops
    dead = await db_pool.fetchval(
        "SELECT count(*) FROM tds_sync_queue WHERE org_id = $1 AND status = 'dead_letter'", org
    )
    assert dead == 0
    log = (tmp_path / "second.log").read_text()
    assert "consumer stopped" in log and "Traceback" not in log


async def test_kafka_restarted_mid_stream_loses_nothing(
    private_kafka: devkafka.KafkaConfig, db_pool: asyncpg.Pool, database_url: str
) -> None:
    bootstrap = private_kafka.bootstrap
    topics = TopicSettings(
        events="fault.events", sync_requests="fault.req", dead_letters="fault.dlq"
    )
    await ensure_topics(bootstrap, {topics.events: 3, topics.dead_letters: 1}, kafka=SINGLE_BROKER)
    org = new_org()
    events, expected = _stream(org, records=40, versions=4)
    settings = processor_settings(database_url, bootstrap, topics)
    async with running_processor(settings):
        await publish(bootstrap, topics.events, events[:80])
        await wait_until(lambda: _queued(db_pool, org, 1), what="the first rows")
        await asyncio.to_thread(devkafka.stop, private_kafka)
        await asyncio.sleep(1.0)  # the group member loses its broker between two bursts
        await asyncio.to_thread(devkafka.start, private_kafka)
        await publish(bootstrap, topics.events, events[80:])
        group = settings.consumer.group_id
        await wait_until(
            lambda: fully_committed(bootstrap, topics.events, group),
            what="every offset committed",
            limit_seconds=120,
        )
    assert await _state(db_pool, org) == expected
    assert await read_topic(bootstrap, topics.dead_letters) == []
    inbox = await db_pool.fetchval("SELECT count(*) FROM tds_inbox_events WHERE org_id = $1", org)
    assert inbox == len(events)
