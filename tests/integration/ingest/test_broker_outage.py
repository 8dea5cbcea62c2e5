"""The broker dies while webhooks flow: every 202 is durable, everything else is 503.

Uses a broker of the test's own (``private_kafka``). It is SIGKILLed while eight senders keep
posting; the ingest instance that saw the outage is then shut down while the broker is still
dead (so anything it had only buffered, not had acknowledged, is lost, as in a pod crash); the
broker restarts and a fresh instance takes traffic again. Every request answered 202 must be in
the topic afterwards, and every other answer must be 503 with Retry-After. Phases advance on
progress (how many answers of each kind arrived), never on sleeps or timings.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest

from devstack import kafka as devkafka
from tds_common.events import EventEnvelope
from tds_common.kafka import ensure_topics
from tds_common.settings import TopicSettings
from tests.integration.ingest.conftest import (
    ORG,
    STAMP,
    TOKEN,
    ingest_client,
    make_settings,
    read_topic,
)
from tests.utils.kafka import SINGLE_BROKER

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SENDERS = 8
PROGRESS_TIMEOUT_SECONDS = 90


@dataclass
class Traffic:
    """Answers collected by the senders; ``phase`` labels what the broker was doing."""

    phase: str = "up"
    answers: list[tuple[str, int, str | None, str | None]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def until(self, key: str, count: int) -> None:
        async def reached() -> None:
            while self.counts[key] < count:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(reached(), PROGRESS_TIMEOUT_SECONDS)


async def _send(
    client: httpx.AsyncClient, traffic: Traffic, worker: int, stop: asyncio.Event
) -> None:
    number = 0
    while not stop.is_set():
        zoho_id = f"{worker}{uuid.uuid4().int % 10**12:012d}"
        number += 1
        phase = traffic.phase
        response = await client.post(
            "/api/zoho/webhooks/products",
            json={"item": {"item_id": zoho_id, "last_modified_time": STAMP}},
            headers={"X-TDS-Webhook-Token": TOKEN},
        )
        event_id = response.json().get("event_id") if response.status_code == 202 else None
        traffic.answers.append(
            (zoho_id, response.status_code, event_id, response.headers.get("Retry-After"))
        )
        traffic.counts[f"{phase}:{response.status_code}"] += 1
        traffic.changed.set()


async def _run_senders(
    client: httpx.AsyncClient, traffic: Traffic
) -> tuple[asyncio.Event, list[asyncio.Task[None]]]:
    stop = asyncio.Event()
    tasks = [asyncio.create_task(_send(client, traffic, w, stop)) for w in range(1, SENDERS + 1)]
    return stop, tasks


async def test_every_2xx_survives_a_broker_kill_and_the_rest_get_503(
    private_kafka: devkafka.KafkaConfig,
) -> None:
    bootstrap = private_kafka.bootstrap
    suffix = uuid.uuid4().hex[:8]
    topics = TopicSettings(
        events=f"outage.{suffix}.events",
        sync_requests=f"outage.{suffix}.sync",
        dead_letters=f"outage.{suffix}.dlq",
    )
    await ensure_topics(bootstrap, {topics.events: 3}, kafka=SINGLE_BROKER)
    settings = make_settings(
        bootstrap,
        topics,
        publish_timeout_seconds=1.5,
        retry_after_seconds=9,
        shutdown_timeout_seconds=4,
    )
    traffic = Traffic()

    async with ingest_client(settings) as client:
        stop, tasks = await _run_senders(client, traffic)
        try:
            await traffic.until("up:202", 40)
            await asyncio.to_thread(devkafka.stop, private_kafka, kill=True)
            traffic.phase = "down"
            await traffic.until("down:503", 2 * SENDERS)
            # Readiness follows the broker: 503 after `ready_failure_threshold` failed checks.
            for _ in range(settings.ready_failure_threshold):
                ready = await client.get("/ready")
            assert ready.status_code == 503, ready.text
            assert ready.json()["checks"]["kafka"] != "ok"
        finally:
            stop.set()
            await asyncio.gather(*tasks)
    # That instance is gone while the broker is still down; now the broker comes back.
    await asyncio.to_thread(devkafka.start, private_kafka)
    traffic.phase = "restarted"
    async with ingest_client(settings) as client:
        stop, tasks = await _run_senders(client, traffic)
        try:
            await traffic.until("restarted:202", 40)
            assert (await client.get("/ready")).status_code == 200
        finally:
            stop.set()
            await asyncio.gather(*tasks)

    statuses = Counter(status for _, status, _, _ in traffic.answers)
    assert set(statuses) <= {202, 503}, statuses
    assert all(retry == "9" for _, status, _, retry in traffic.answers if status == 503)

    records = await read_topic(bootstrap, topics.events)
    durable = {EventEnvelope.from_bytes(r.value).event_id: r.key for r in records}
    accepted = [
        (zoho_id, event)
        for zoho_id, status, event, _ in traffic.answers
        if status == 202 and event is not None
    ]
    assert len(accepted) == statuses[202] >= 80
    missing = [zoho_id for zoho_id, event in accepted if event not in durable]
    assert not missing, f"{len(missing)} of {len(accepted)} answered 202 but not in the topic"
    for zoho_id, event_id in accepted:
        assert durable[event_id] == f"{ORG}:products:{zoho_id}".encode()
