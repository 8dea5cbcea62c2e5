"""The real broker: durable produce, consumer groups and committed offsets."""

from __future__ import annotations

import asyncio
import time
import uuid
from types import SimpleNamespace

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.producer import message_accumulator

from devstack import kafka as devkafka
from tds_common.kafka import (
    admin_session,
    create_producer,
    ensure_topics,
    topic_configs,
    topic_partitions,
    topic_settings,
)
from tds_common.settings import TopicSettings
from tests.utils.kafka import CREATED_TOPICS, SINGLE_BROKER, delete_topics
from tests.utils.polling import wait_until


async def _consume(bootstrap: str, topic: str, group: str, count: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        while len(values) < count:
            batch = await consumer.getmany(timeout_ms=1000, max_records=count - len(values))
            for records in batch.values():
                values.extend(r.value for r in records if r.value is not None)
        await consumer.commit()
    finally:
        await consumer.stop()
    return values


async def test_consumer_group_resumes_from_committed_offsets(
    kafka_bootstrap: str, topics: TopicSettings
) -> None:
    producer = create_producer(kafka_bootstrap)
    await producer.start()
    try:
        for i in range(10):
            await producer.send_and_wait(topics.events, f"m{i}".encode(), key=f"k{i % 3}".encode())
    finally:
        await producer.stop()

    group = f"g-{uuid.uuid4().hex[:8]}"
    first = await _consume(kafka_bootstrap, topics.events, group, 6)
    assert len(first) == 6

    # A new member of the same group starts after what the first one committed.
    producer = create_producer(kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topics.events, b"late", key=b"k0")
    finally:
        await producer.stop()
    rest = await _consume(kafka_bootstrap, topics.events, group, 5)
    assert sorted(first + rest) == sorted([f"m{i}".encode() for i in range(10)] + [b"late"])

    # The group's committed offsets add up to everything in the topic.
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group)
    await consumer.start()
    try:
        committed = [
            await consumer.committed(TopicPartition(topics.events, p)) or 0 for p in range(3)
        ]
    finally:
        await consumer.stop()
    assert sum(committed) == 11


async def test_ensure_topics_is_idempotent_and_keeps_partition_counts(
    kafka_bootstrap: str,
) -> None:
    name = f"test.{uuid.uuid4().hex[:10]}.idem"
    CREATED_TOPICS.append(name)
    await ensure_topics(kafka_bootstrap, {name: 4}, kafka=SINGLE_BROKER)
    await ensure_topics(kafka_bootstrap, {name: 4}, kafka=SINGLE_BROKER)
    producer = create_producer(kafka_bootstrap)
    await producer.start()
    try:
        partitions = await asyncio.wait_for(producer.partitions_for(name), 10)
    finally:
        await producer.stop()
    assert len(partitions) == 4


async def _led_partitions(bootstrap: str, topics: list[str]) -> dict[str, int]:
    """How many partitions of each topic have a leader, as a new client's metadata says."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        cluster = await consumer._client.fetch_all_metadata()
    finally:
        await consumer.stop()
    return {topic: len(cluster.available_partitions_for_topic(topic) or ()) for topic in topics}


async def test_topics_are_usable_by_any_client_once_ensure_topics_returns(
    private_kafka: devkafka.KafkaConfig,
) -> None:
    """KRaft answers a create once the controller has it, and the broker's metadata follows
    tens of milliseconds later (over a second on a broker just restarted with many topics):
    a reader, a consumer's subscription or a readiness check right after setup found no topic."""
    for round_ in range(4):
        partitions = {f"fresh.{round_}.{i}": 3 for i in range(3)}
        await ensure_topics(private_kafka.bootstrap, partitions, kafka=SINGLE_BROKER)
        assert await _led_partitions(private_kafka.bootstrap, list(partitions)) == partitions


async def test_acknowledged_sends_survive_a_broker_restart(
    private_kafka: devkafka.KafkaConfig,
) -> None:
    topic = "restart.check"
    await ensure_topics(private_kafka.bootstrap, {topic: 1}, kafka=SINGLE_BROKER)
    producer = create_producer(private_kafka.bootstrap)
    await producer.start()
    try:
        for i in range(5):
            await producer.send_and_wait(topic, f"v{i}".encode())
    finally:
        await producer.stop()
    devkafka.stop(private_kafka)
    devkafka.start(private_kafka)
    values = await _consume(private_kafka.bootstrap, topic, "restart-group", 5)
    assert values == [f"v{i}".encode() for i in range(5)]


async def test_the_dead_letter_topic_is_created_with_its_retention(kafka_bootstrap: str) -> None:
    suffix = uuid.uuid4().hex[:10]
    topics = TopicSettings(
        events=f"test.{suffix}.events",
        sync_requests=f"test.{suffix}.sync",
        dead_letters=f"test.{suffix}.dlq",
        dead_letters_retention_days=2,
    )
    CREATED_TOPICS.extend(topic_partitions(topics, 1))
    await ensure_topics(
        kafka_bootstrap,
        topic_partitions(topics, 1),
        kafka=SINGLE_BROKER,
        configs=topic_configs(topics),
    )
    dlq = await topic_settings(kafka_bootstrap, topics.dead_letters)
    events = await topic_settings(kafka_bootstrap, topics.events)
    assert dlq["retention.ms"] == str(2 * 86_400_000)
    assert events["retention.ms"] != dlq["retention.ms"]  # the broker's default


async def test_the_topics_a_session_created_are_deleted_with_one_call(kafka_bootstrap: str) -> None:
    """tests/conftest.py deletes CREATED_TOPICS when the session ends: without it a developer's
    broker kept every test's partitions and started slower with each run (15,931 here)."""
    names = [f"test.{uuid.uuid4().hex[:10]}.cleanup" for _ in range(3)]
    await ensure_topics(kafka_bootstrap, dict.fromkeys(names, 1), kafka=SINGLE_BROKER)

    async def listed() -> set[str]:  # the brokers' metadata follows the controller shortly after
        async with admin_session(kafka_bootstrap) as admin:
            return set(names) & set(await admin.list_topics())

    async def all_listed() -> bool:
        return await listed() == set(names)

    async def none_listed() -> bool:
        return not await listed()

    await wait_until(all_listed, what="the new topics listed")
    await delete_topics(kafka_bootstrap, [*names, "test.never.created"])
    await wait_until(none_listed, what="the session's topics deleted")


async def test_a_burst_of_sends_goes_out_in_one_produce_request(
    kafka_bootstrap: str, topics: TopicSettings
) -> None:
    """The producer has one request in flight per broker; a partition's batch used to hold only
    16 KiB, so 40 webhooks of 2.6 KB sent together took seven round trips, each send waiting for
    the batch before it to drain. Now they leave together and are all acknowledged."""
    producer = create_producer(kafka_bootstrap)
    await producer.start()
    requests: list[int] = []
    send_request = producer._sender._send_produce_req

    async def counting(node_id: int, batches: dict[TopicPartition, object]) -> None:
        requests.append(len(batches))
        await send_request(node_id, batches)

    producer._sender._send_produce_req = counting
    try:
        await producer.send_and_wait(topics.events, b"metadata known", partition=0)
        requests.clear()
        value = b"x" * 2600
        deliveries = [await producer.send(topics.events, value, partition=0) for _ in range(40)]
        acknowledged = await asyncio.gather(*deliveries)
    finally:
        await producer.stop()
    assert requests == [1]
    assert [metadata.offset for metadata in acknowledged] == list(range(1, 41))


async def test_a_lone_send_leaves_without_lingering(
    kafka_bootstrap: str, topics: TopicSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No linger: with the producer's clock stopped, a lingering batch would never be ready."""
    producer = create_producer(kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topics.events, b"metadata known", partition=0)
        stopped = time.monotonic()
        monkeypatch.setattr(message_accumulator, "time", SimpleNamespace(monotonic=lambda: stopped))
        sending = producer.send_and_wait(topics.events, b"alone", partition=0)
        metadata = await asyncio.wait_for(sending, 30)  # a bound on a hang, not on speed
    finally:
        monkeypatch.undo()
        await producer.stop()
    assert metadata.offset == 1
