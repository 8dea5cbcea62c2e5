"""``tds doctor``: one line per check; any FAIL makes the exit status non-zero.

Checks: the settings load; PostgreSQL answers and every migration is applied; Kafka answers and
the contract's topics exist (with the DLQ topic's retention); each service's ``/health``;
zoho-proxy's Zoho token state; dead letters whose DLQ message has aged out of the topic and
that have no copy in ``tds_dead_letter_values`` (a warning: they can no longer be replayed). A
letter whose DLQ offset is stored is gone when the offset is below its partition's first one
(time or size retention alike); an older release's letter, when it is older than the retention.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

import psycopg
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError
from yoyo import read_migrations

from tds_cli.api import CommandError, Services
from tds_cli.database import connect
from tds_cli.settings import CliSettings
from tds_common.errors import UpstreamUnavailableError
from tds_common.kafka import create_consumer, create_producer, topic_settings
from tds_common.migrate import MIGRATIONS_DIR

DAY_MS: Final = 86_400_000

AGED_OUT: Final = """
SELECT count(*) AS n FROM tds_sync_queue q
WHERE q.status = 'dead_letter'
  AND CASE WHEN q.dlq_offset IS NOT NULL
    -- Where the processor stored it: below its partition's first offset, it is gone.
    THEN q.dlq_offset < coalesce((%(starts)s::jsonb ->> q.dlq_partition::text)::bigint, 0)
    -- An older release's letter: by its age against the topic's retention.
    ELSE %(secs)s::float8 >= 0 AND coalesce(q.processing_completed_at, q.queued_at)
        < now() - make_interval(secs => %(secs)s::float8)
  END
  AND NOT EXISTS (SELECT 1 FROM tds_dead_letter_values v WHERE v.queue_id = q.id)
"""


class Status(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str


def _postgres(settings: CliSettings) -> Iterator[Check]:
    try:
        with connect(settings.database_url.get_secret_value()) as conn:
            info = conn.info
            yield Check("postgres", Status.OK, f"{info.host}:{info.port}/{info.dbname}")
            applied = {
                row["migration_id"]
                for row in conn.execute("SELECT migration_id FROM _yoyo_migration").fetchall()
            }
    except CommandError as exc:
        yield Check("postgres", Status.FAIL, str(exc))
        return
    except psycopg.Error as exc:
        reason = str(exc).splitlines()[0]
        yield Check("migrations", Status.FAIL, f"cannot read _yoyo_migration: {reason}")
        return
    missing = sorted(m.id for m in read_migrations(str(MIGRATIONS_DIR)) if m.id not in applied)
    if missing:
        yield Check("migrations", Status.FAIL, f"{len(missing)} not applied: {', '.join(missing)}")
    else:
        yield Check("migrations", Status.OK, f"{len(applied)} applied")


def _kafka(settings: CliSettings) -> Iterator[Check]:
    topics = settings.topics
    dlq_retention_ms: int | None = None
    for topic in (topics.events, topics.sync_requests, topics.dead_letters):
        try:
            config = asyncio.run(
                topic_settings(settings.kafka_bootstrap_servers, topic, settings.kafka)
            )
        except UpstreamUnavailableError as exc:
            yield Check(f"kafka topic {topic}", Status.FAIL, str(exc))
            if "admin failed" in str(exc):
                return  # the broker itself is away: one line says so
            continue
        retention = int(config.get("retention.ms", "-1"))
        if topic == topics.dead_letters:
            dlq_retention_ms = retention
        kept = "forever" if retention < 0 else f"{retention / DAY_MS:g} days"
        yield Check(f"kafka topic {topic}", Status.OK, f"retention {kept}")
    if dlq_retention_ms is not None:
        yield from _aged_out(settings, dlq_retention_ms)


async def _first_offsets(settings: CliSettings) -> dict[str, int]:
    """The DLQ topic's first offset per partition (what retention has not deleted yet)."""
    topic = settings.topics.dead_letters
    producer = create_producer(settings.kafka_bootstrap_servers, settings.kafka)
    await producer.start()
    try:
        partitions = await producer.partitions_for(topic)  # waits for the topic's metadata
    finally:
        await producer.stop()
    consumer = create_consumer(settings.kafka_bootstrap_servers, None, settings.kafka)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        starts = await consumer.beginning_offsets(tps) if tps else {}
        return {str(tp.partition): offset for tp, offset in starts.items()}
    finally:
        await consumer.stop()


def _aged_out(settings: CliSettings, retention_ms: int) -> Iterator[Check]:
    try:
        starts = asyncio.run(_first_offsets(settings))
    except KafkaError as exc:
        yield Check("dead letters", Status.WARN, f"cannot read the DLQ topic's offsets: {exc}")
        return
    params = {"secs": retention_ms / 1000, "starts": json.dumps(starts)}
    try:
        with connect(settings.database_url.get_secret_value()) as conn:
            row = conn.execute(AGED_OUT, params).fetchone()
    except (CommandError, psycopg.Error):
        return  # the postgres line has said what is wrong
    count = int(row["n"]) if row else 0
    if count:
        yield Check(
            "dead letters",
            Status.WARN,
            f"{count} older than the DLQ topic's retention: their messages are gone from it "
            "and no copy is stored (re-sync those records)",
        )
    else:
        yield Check("dead letters", Status.OK, "every dead letter is still in the DLQ topic")


def _services(services: Services) -> Iterator[Check]:
    for api in services.all():
        try:
            health = api.get("/health")
        except CommandError as exc:
            yield Check(api.name, Status.FAIL, str(exc))
            continue
        status = str(health.get("status", "unknown"))
        yield Check(api.name, Status.OK if status == "healthy" else Status.WARN, status)


def _token(services: Services) -> Iterator[Check]:
    try:
        budget: dict[str, Any] = services.zoho_proxy.get("/api/zoho/budget")
    except CommandError as exc:
        yield Check("zoho token", Status.FAIL, str(exc))
        return
    token = budget.get("token") or {}
    state = str(token.get("state", "unknown"))
    detail = state if not token.get("last_error") else f"{state}: {token['last_error']}"
    yield Check("zoho token", Status.OK if state == "ok" else Status.FAIL, detail)


def run_checks(
    settings_factory: Callable[[], CliSettings], services_factory: Callable[[CliSettings], Services]
) -> list[Check]:
    try:
        settings = settings_factory()
    except (ValueError, CommandError) as exc:  # pydantic's ValidationError is a ValueError
        return [Check("settings", Status.FAIL, " ".join(str(exc).split())[:300])]
    checks = [Check("settings", Status.OK, "loaded")]
    checks += _postgres(settings)
    checks += _kafka(settings)
    services = services_factory(settings)
    try:
        checks += _services(services)
        checks += _token(services)
    finally:
        services.close()
    return checks
