"""Kafka plumbing: producers with the delivery guarantees of the contract, topic setup, checks.

Producers use ``acks=all`` and idempotence (docs/architecture.md#kafka). Consumers have
auto-commit off: the services that own them commit offsets only after the database commit.
aiokafka errors are translated to our tree at this boundary.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from tds_common.errors import UpstreamUnavailableError
from tds_common.settings import ConsumerGroupSettings, TopicSettings

logger = logging.getLogger(__name__)

DEFAULT_EVENTS_PARTITIONS: Final = 12
"""Parallelism ceiling for the processor (and the KEDA cap)."""

KAFKA_REQUEST_TIMEOUT_MS: Final = 15_000


def topic_partitions(topics: TopicSettings, events_partitions: int) -> dict[str, int]:
    """The topics of the contract with their partition counts."""
    return {
        topics.events: events_partitions,
        topics.sync_requests: max(1, events_partitions // 4),
        topics.dead_letters: max(1, events_partitions // 4),
    }


def create_producer(bootstrap_servers: str, **overrides: Any) -> AIOKafkaProducer:
    """A producer whose acknowledged sends are durable and never duplicated by retries."""
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 2,
        "request_timeout_ms": KAFKA_REQUEST_TIMEOUT_MS,
        "compression_type": None,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


def create_consumer(
    bootstrap_servers: str, group: ConsumerGroupSettings, **overrides: Any
) -> AIOKafkaConsumer:
    """A group member that commits only when told to and starts a new group at the beginning.

    Not subscribed: the owner subscribes (or assigns) and commits after its database commit.
    """
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers,
        "group_id": group.group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": group.session_timeout_ms,
    }
    options.update(overrides)
    return AIOKafkaConsumer(**options)


def topic_configs(topics: TopicSettings) -> dict[str, dict[str, str]]:
    """Topic-level settings of the contract's topics (the others keep the broker's defaults)."""
    retention_ms = int(topics.dead_letters_retention_days * 86_400_000)
    return {topics.dead_letters: {"retention.ms": str(retention_ms)}}


async def ensure_topics(
    bootstrap_servers: str,
    partitions: Mapping[str, int],
    *,
    replication_factor: int = 1,
    configs: Mapping[str, Mapping[str, str]] | None = None,
) -> None:
    """Create the topics that do not exist yet, with their ``configs``; existing ones are left
    as they are (change a live topic's settings with kafka-configs.sh)."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=KAFKA_REQUEST_TIMEOUT_MS
    )
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                name,
                num_partitions=count,
                replication_factor=replication_factor,
                topic_configs=dict((configs or {}).get(name, {})),
            )
            for name, count in partitions.items()
            if name not in existing
        ]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another replica created it between our list and create
            logger.info("created topics", extra={"topics": [t.name for t in missing]})
    except KafkaError as exc:
        raise UpstreamUnavailableError(f"Kafka admin failed: {exc}") from exc
    finally:
        await admin.close()


async def check_producer(producer: AIOKafkaProducer) -> None:
    """Readiness: the producer's client can reach a broker and fetch metadata."""
    try:
        await producer.client.fetch_all_metadata()
    except KafkaError as exc:
        raise UpstreamUnavailableError(f"Kafka unreachable: {exc}") from exc


async def topic_settings(bootstrap_servers: str, topic: str) -> dict[str, str]:
    """A topic's effective settings (``retention.ms``…), as the broker reports them."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=KAFKA_REQUEST_TIMEOUT_MS
    )
    try:
        await admin.start()
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    except KafkaError as exc:
        raise UpstreamUnavailableError(f"Kafka admin failed: {exc}") from exc
    finally:
        await admin.close()
    settings: dict[str, str] = {}
    for response in responses:
        for resource in response.resources:
            # (error_code, error_message, resource_type, resource_name, config_entries)
            error_code, error_message, _, _, entries = resource[:5]
            if error_code:
                reason = error_message or for_code(error_code).__name__
                raise UpstreamUnavailableError(f"topic {topic}: {reason}")
            for entry in entries:
                name, value = entry[0], entry[1]
                if value is not None:
                    settings[name] = value
    return settings
