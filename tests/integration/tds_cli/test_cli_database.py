"""``tds doctor``, the one command that reads PostgreSQL and Kafka itself.

Each test gets a migrated database of its own (doctor looks at whole tables); the services' HTTP
side is a fake that answers healthy (tests/unit/tds_cli covers the HTTP commands, among them
``tds writes`` and ``tds prune``; tests/e2e/test_tds_cli.py runs them against the services).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
from typer.testing import CliRunner

from tds_cli.main import create_app
from tds_common.kafka import create_producer
from tds_common.settings import TopicSettings
from tests.conftest import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(name="own_database_url")
def fixture_own_database_url(postgres_admin_url: str) -> Iterator[str]:
    from tds_common.migrate import apply_migrations

    name = f"tds_cli_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = postgres_admin_url.rsplit("/", 1)[0] + f"/{name}"
    apply_migrations(url)
    yield url
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _healthy(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/api/zoho/budget":
        return httpx.Response(200, json={"budgets": [], "token": {"state": "ok"}})
    return httpx.Response(200, json={"status": "healthy"})


def _tds(args: list[str], database_url: str, topics: TopicSettings, bootstrap: str) -> Any:
    env = {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_TOPICS__EVENTS": topics.events,
        "KAFKA_TOPICS__SYNC_REQUESTS": topics.sync_requests,
        "KAFKA_TOPICS__DEAD_LETTERS": topics.dead_letters,
        "COLUMNS": "250",
    }
    return CliRunner().invoke(create_app(httpx.MockTransport(_healthy)), args, env=env)


def _dead_letter(url: str, entity: str, age_days: float) -> int:
    with psycopg.connect(url) as conn:
        inbox = conn.execute(
            "INSERT INTO tds_inbox_events (event_id, source_type, entity_type, entity_id, "
            "event_type, org_id, dedup_key, status, raw_payload) VALUES ('ev-1', 'webhook', %s, "
            "'42', 'upsert', '123', %s, 'dead_letter', '{\"invoice\": {\"total\": 5}}') "
            "RETURNING id",
            (entity, uuid.uuid4().hex),
        ).fetchone()
        assert inbox is not None
        row = conn.execute(
            "INSERT INTO tds_sync_queue (inbox_event_id, entity_type, org_id, zoho_entity_id, "
            "status, error_message, queued_at, processing_completed_at) VALUES (%s, %s, '123', "
            "'42', 'dead_letter', 'mapping failed', now() - make_interval(days => %s), "
            "now() - make_interval(days => %s)) RETURNING id",
            (inbox[0], entity, age_days, age_days),
        ).fetchone()
        assert row is not None
        return int(row[0])


def test_doctor_passes_on_a_healthy_stack(
    own_database_url: str, topics: TopicSettings, kafka_bootstrap: str
) -> None:
    result = _tds(["doctor"], own_database_url, topics, kafka_bootstrap)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert all(line.startswith(("OK", "WARN")) for line in lines), result.output
    for name in ("settings", "postgres", "migrations", "zoho-proxy", "zoho token", "dead letters"):
        assert any(f" {name} " in f" {line} " for line in lines), (name, result.output)
    assert any(f"kafka topic {topics.dead_letters}" in line for line in lines)


def test_doctor_fails_and_names_postgresql_when_it_is_down(
    topics: TopicSettings, kafka_bootstrap: str
) -> None:
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/tds"
    result = _tds(["doctor"], nowhere, topics, kafka_bootstrap)
    assert result.exit_code == 1
    postgres = [line for line in result.output.splitlines() if "postgres " in line]
    assert postgres and postgres[0].startswith("FAIL"), result.output
    assert "PostgreSQL unreachable" in postgres[0]


def test_doctor_fails_when_a_migration_is_missing(
    own_database_url: str, topics: TopicSettings, kafka_bootstrap: str
) -> None:
    with psycopg.connect(own_database_url) as conn:
        conn.execute("DELETE FROM _yoyo_migration WHERE migration_id LIKE '0012.%%'")
    result = _tds(["doctor"], own_database_url, topics, kafka_bootstrap)
    assert result.exit_code == 1
    assert "1 not applied: 0012.control-table-indexes" in result.output


def test_doctor_warns_about_dead_letters_older_than_the_dlq_topic_keeps(
    own_database_url: str, topics: TopicSettings, kafka_bootstrap: str
) -> None:
    _dead_letter(own_database_url, "invoices", age_days=400)
    result = _tds(["-o", "json", "doctor"], own_database_url, topics, kafka_bootstrap)
    checks = {c["check"]: c for c in json.loads(result.output)}
    assert checks["dead letters"]["status"] == "WARN"
    assert checks["dead letters"]["detail"].startswith("1 older than the DLQ topic's retention")
    assert result.exit_code == 0  # a warning, not a failure


def test_doctor_warns_about_letters_deleted_from_the_dlq_topic_by_their_offset(
    own_database_url: str, topics: TopicSettings, kafka_bootstrap: str
) -> None:
    """Recent letters whose offset is below the topic's first one (retention by size, or an
    operator's delete-records) are gone; one whose bytes are stored is still replayable."""
    asyncio.run(_publish_and_delete(kafka_bootstrap, topics.dead_letters, count=3, before=2))
    gone, kept, stored = (_dead_letter(own_database_url, "bills", age_days=0) for _ in range(3))
    with psycopg.connect(own_database_url) as conn:
        for queue_id, offset in ((gone, 1), (kept, 2), (stored, 0)):
            conn.execute(
                "UPDATE tds_sync_queue SET dlq_partition = 0, dlq_offset = %s WHERE id = %s",
                (offset, queue_id),
            )
        conn.execute(
            "INSERT INTO tds_dead_letter_values (queue_id, kafka_value) VALUES (%s, 'v')", (stored,)
        )
    result = _tds(["-o", "json", "doctor"], own_database_url, topics, kafka_bootstrap)
    checks = {c["check"]: c for c in json.loads(result.output)}
    assert checks["dead letters"]["status"] == "WARN", checks["dead letters"]
    assert checks["dead letters"]["detail"].startswith("1 older than the DLQ topic's retention")


async def _publish_and_delete(bootstrap: str, topic: str, *, count: int, before: int) -> None:
    producer = create_producer(bootstrap)
    await producer.start()
    try:
        for i in range(count):
            await producer.send_and_wait(topic, b"letter %d" % i)
    finally:
        await producer.stop()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_records({TopicPartition(topic, 0): RecordsToDelete(before)})
    finally:
        await admin.close()
