"""Helpers for ingest against the real broker: an app per test, and reading a topic back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from asgi_lifespan import LifespanManager

from ingest.app import create_app
from ingest.settings import Settings
from tds_common.settings import TopicSettings

TOKEN = "integration-webhook-token"
ORG = "700000001"
STAMP = "2026-06-09T09:45:21-0400"


def make_settings(bootstrap: str, topics: TopicSettings, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "webhook_secrets": [TOKEN],
        "zoho_organization_id": ORG,
        "kafka_bootstrap_servers": bootstrap,
        "topics": topics,
        "kafka_start_timeout_seconds": 20.0,
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def ingest_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its real lifespan (producer connected), driven in-process."""
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://ingest", timeout=60
        ) as client:
            yield client


async def read_topic(bootstrap: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record in ``topic`` from the beginning to the current end (all partitions)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, isolation_level="read_committed"
    )
    await consumer.start()
    try:
        cluster = await consumer._client.fetch_all_metadata()
        partitions = [TopicPartition(topic, p) for p in cluster.partitions_for_topic(topic) or ()]
        assert partitions, f"topic {topic} does not exist"
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord[bytes, bytes]] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(*partitions, timeout_ms=1000)
            for items in batch.values():
                records.extend(items)
    finally:
        await consumer.stop()
    return records
