"""Helpers for ingest against the real broker: an app per test, and reading a topic back."""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from ingest.app import create_app
from ingest.settings import Settings
from tds_common.settings import TopicSettings
from tests.conftest import free_port

TOKEN = "integration-webhook-token"
ORG = "700000001"
SECOND_ORG = "800000002"
STAMP = "2026-06-09T09:45:21-0400"


def make_settings(bootstrap: str, topics: TopicSettings, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        # The default organization and a second one, as one Zoho account's webhooks would be.
        "webhook_secrets": {ORG: [TOKEN], SECOND_ORG: [TOKEN]},
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


@dataclass
class LiveServer:
    url: str
    server: uvicorn.Server


@contextmanager
def live_server(app: FastAPI) -> Iterator[LiveServer]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread (stopped on exit)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    thread = threading.Thread(target=server.run, name=f"ingest-{port}", daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("ingest server failed to start")
            thread.join(0.05)
        yield LiveServer(f"http://127.0.0.1:{port}", server)
    finally:
        server.should_exit = True
        thread.join(60)


def accepts_connections(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as sock:
        return sock.connect_ex((host, int(port))) == 0
