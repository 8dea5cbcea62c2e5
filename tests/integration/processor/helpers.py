"""Running the processor in tests: in-process (with a mock zoho-proxy) or as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.partitioner import murmur2
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from processor.app import create_app
from processor.deadletters import DeadLetterPublisher
from processor.pipeline import BatchProcessor
from processor.proxy import RecordFetcher
from processor.reads import ThinReads
from processor.settings import ConsumerSettings, Settings
from tds_common.events import EventEnvelope, event_key
from tds_common.kafka import create_producer
from tds_common.proxy_client import ProxyClient
from tds_common.retention import RetentionSettings
from tds_common.settings import TopicSettings
from tests.utils.auth import API_AUTH, API_TOKEN, PROXY_READER_TOKEN

TEST_PARTITIONS = 3
"""Partitions of the ``topics`` fixture's events topic."""


@dataclass
class Record:
    """A consumed Kafka record, as :class:`BatchProcessor` reads one."""

    offset: int
    value: bytes
    key: bytes | None = None
    topic: str = "events"
    partition: int = 0


@asynccontextmanager
async def batch_processor(
    pool: asyncpg.Pool, proxy: Callable[[httpx.Request], httpx.Response]
) -> AsyncIterator[BatchProcessor]:
    """The processor's batch pipeline on ``pool``, its zoho-proxy answered by ``proxy``, no DLQ."""
    http = httpx.AsyncClient(base_url="http://proxy", transport=httpx.MockTransport(proxy))
    reads = ThinReads(RecordFetcher(ProxyClient(http)), concurrency=1)
    try:
        yield BatchProcessor(pool, reads, DeadLetterPublisher(None, "unused"), Settings())
    finally:
        await reads.close()
        await http.aclose()


def new_id() -> str:
    return str(260815000000000000 + uuid.uuid4().int % 10**12)


def partition_of(org: str, entity: str, zoho_id: str) -> int:
    """The partition Kafka's default partitioner gives the record's key."""
    return int(murmur2(event_key(org, entity, zoho_id)) & 0x7FFFFFFF) % TEST_PARTITIONS


def ids_on(
    org: str, entity: str, count: int, *, partition: int | None = None, avoid: int | None = None
) -> list[str]:
    """New ids whose records land on ``partition`` (any, when None) and not on ``avoid``."""
    ids: list[str] = []
    while len(ids) < count:
        candidate = new_id()
        where = partition_of(org, entity, candidate)
        if (partition is None or where == partition) and where != avoid:
            ids.append(candidate)
    return ids


async def finished_queue_row(pool: asyncpg.Pool, entity: str, age_days: int) -> int:
    """A completed ``tds_sync_queue`` row of ``entity`` queued ``age_days`` ago: retention's
    input. Its id."""
    return int(
        await pool.fetchval(
            "INSERT INTO tds_sync_queue (entity_type, status, queued_at) "
            "VALUES ($1, 'completed', now() - make_interval(days => $2)) RETURNING id",
            entity,
            age_days,
        )
    )


def new_org() -> str:
    """Every test mirrors into an organization of its own; the session database is shared."""
    return str(10**12 + uuid.uuid4().int % 10**12)  # Zoho organization ids are digits


def processor_settings(
    database_url: str, bootstrap: str, topics: TopicSettings, **overrides: Any
) -> Settings:
    consumer = ConsumerSettings(
        group_id=f"test-processor-{uuid.uuid4().hex[:8]}",
        batch_timeout_ms=50,
        retry_initial_seconds=0.2,
        retry_max_seconds=2.0,
        lag_refresh_seconds=0.1,
    )
    values: dict[str, Any] = {
        "database_url": database_url,
        "kafka_bootstrap_servers": bootstrap,
        "topics": topics,
        "consumer": consumer,
        "zoho_proxy_url": "http://zoho-proxy.test",
        "proxy": {"token": PROXY_READER_TOKEN},
        "api_tokens": [API_TOKEN],
        "shutdown_timeout_seconds": 10.0,
        "log_json": False,
        # The session's database is shared: only test_retention_loop prunes it, on its own rows.
        "retention": RetentionSettings(enabled=False),
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def running_processor(
    settings: Settings,
    proxy: Callable[[httpx.Request], httpx.Response]
    | Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]
    | None = None,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The whole service in this process; yields the app and an HTTP client for it."""
    transport = httpx.MockTransport(proxy or (lambda request: httpx.Response(503)))
    app = create_app(settings, proxy_transport=transport)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app),
            base_url="http://processor.test",
            headers=API_AUTH,
        )
        async with client:
            yield app, client


async def publish(
    bootstrap: str, topic: str, events: Iterable[EventEnvelope | bytes], *, key: bytes = b"poison"
) -> None:
    producer = create_producer(bootstrap)
    await producer.start()
    try:
        for event in events:
            if isinstance(event, bytes):
                await producer.send(topic, event, key=key)
            else:
                await producer.send(topic, event.to_bytes(), key=event.key)
        await producer.flush()
    finally:
        await producer.stop()


async def read_topic(bootstrap: str, topic: str) -> list[Any]:
    """Every record on a (single-partition) topic so far."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        records: list[Any] = []
        while len(records) < end:
            batch = await consumer.getmany(tp, timeout_ms=1000)
            records.extend(batch.get(tp, []))
        return records
    finally:
        await consumer.stop()


def start_subprocess(settings_env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``python -m processor`` with the test's settings in its environment, output to ``log``."""
    env = {**os.environ, **settings_env}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "processor"], env=env, stdout=out, stderr=subprocess.STDOUT
        )


async def fully_committed(bootstrap: str, topic: str, group_id: str) -> bool:
    """Whether the group's committed offsets reached the end of every partition of ``topic``."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic)]
        ends = await consumer.end_offsets(tps)
        committed = {tp: await consumer.committed(tp) or 0 for tp in tps}
        return bool(tps) and all(committed[tp] >= ends[tp] for tp in tps)
    finally:
        await consumer.stop()


async def partitions_of(bootstrap: str, topic: str) -> set[int]:
    producer = create_producer(bootstrap)
    await producer.start()
    try:
        return set(await producer.partitions_for(topic))
    finally:
        await producer.stop()
