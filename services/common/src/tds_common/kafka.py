"""Kafka plumbing: producers with the delivery guarantees of the contract, topic setup, checks.

Producers use ``acks=all`` and idempotence (docs/architecture.md#kafka). Consumers have
auto-commit off: the services that own them commit offsets only after the database commit.
Every client (producer, consumer, admin) gets its security settings from :func:`client_options`.
aiokafka errors are translated to our tree at this boundary.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.conn import create_conn
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError, for_code
from aiokafka.helpers import create_ssl_context
from aiokafka.protocol.admin import ApiVersionRequest

from tds_common.errors import ConfigurationError, UpstreamUnavailableError, truncate
from tds_common.settings import ConsumerGroupSettings, KafkaSettings, TopicSettings

logger = logging.getLogger(__name__)

DEFAULT_EVENTS_PARTITIONS: Final = 12
"""Parallelism ceiling for the processor (and the KEDA cap)."""

KAFKA_REQUEST_TIMEOUT_MS: Final = 15_000
TOPIC_READY_TIMEOUT_SECONDS: Final = 30.0
TOPIC_READY_POLL_SECONDS: Final = 0.05
PRODUCER_BATCH_BYTES: Final = 512 * 1024
"""Bytes per partition one produce request may carry (aiokafka's default is 16 KiB). A producer
has one request in flight per broker, and a partition's batch waits behind it: at 16 KiB (six
2.5 KB webhooks) a burst queued for several round trips, each send waiting on the one before.
Half of the broker's default ``message.max.bytes`` (1 MiB), so a full batch is never refused."""


def topic_partitions(topics: TopicSettings, events_partitions: int) -> dict[str, int]:
    """The topics of the contract with their partition counts."""
    return {
        topics.events: events_partitions,
        topics.sync_requests: max(1, events_partitions // 4),
        topics.dead_letters: max(1, events_partitions // 4),
    }


def client_options(bootstrap_servers: str, kafka: KafkaSettings | None = None) -> dict[str, Any]:
    """Connection options every aiokafka client takes: brokers, TLS and SASL."""
    kafka = kafka or KafkaSettings()
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers,
        "security_protocol": kafka.security_protocol,
    }
    if kafka.uses_tls:
        key_password = kafka.ssl_key_password
        options["ssl_context"] = create_ssl_context(
            cafile=kafka.ssl_ca_file,
            certfile=kafka.ssl_cert_file,
            keyfile=kafka.ssl_key_file,
            password=key_password.get_secret_value() if key_password else None,
        )
    if kafka.uses_sasl:
        assert kafka.sasl_password is not None  # KafkaSettings' validator guarantees it
        options["sasl_mechanism"] = kafka.sasl_mechanism
        options["sasl_plain_username"] = kafka.sasl_username
        options["sasl_plain_password"] = kafka.sasl_password.get_secret_value()
    return options


def create_admin(bootstrap_servers: str, kafka: KafkaSettings | None = None) -> AIOKafkaAdminClient:
    """An admin client (not started) with our security settings and timeout."""
    return AIOKafkaAdminClient(
        **client_options(bootstrap_servers, kafka), request_timeout_ms=KAFKA_REQUEST_TIMEOUT_MS
    )


async def connection_failure(bootstrap_servers: str, kafka: KafkaSettings | None = None) -> str:
    """Why the first broker refuses our clients, in words.

    aiokafka's bootstrap error says only "Unable to bootstrap"; a wrong password, an untrusted
    certificate or a plaintext client at a TLS listener each need a different fix.
    """
    kafka = kafka or KafkaSettings()
    host, _, port = bootstrap_servers.split(",")[0].strip().rpartition(":")
    options = client_options(bootstrap_servers, kafka)
    del options["bootstrap_servers"]
    try:
        conn = await create_conn(host, int(port), request_timeout_ms=5_000, **options)
        try:
            await conn.send(ApiVersionRequest[0]())
        finally:
            conn.close()
    except Exception as exc:  # any failure is the answer we are looking for
        reason = f"{type(exc).__name__}: {exc}"
    else:
        return "the first broker answers now"
    if not kafka.uses_tls and "closed" in reason.lower():
        reason += (
            f" (security_protocol is {kafka.security_protocol}: a TLS listener closes"
            " plaintext connections)"
        )
    return truncate(reason)


@asynccontextmanager
async def admin_session(
    bootstrap_servers: str, kafka: KafkaSettings | None = None
) -> AsyncIterator[AIOKafkaAdminClient]:
    """A started admin client; Kafka errors become :class:`UpstreamUnavailableError` with the
    broker's reason when it refused the connection."""
    admin = create_admin(bootstrap_servers, kafka)
    try:
        try:
            await admin.start()
        except KafkaConnectionError as exc:
            reason = await connection_failure(bootstrap_servers, kafka)
            raise UpstreamUnavailableError(f"Kafka at {bootstrap_servers}: {reason}") from exc
        yield admin
    except KafkaError as exc:
        raise UpstreamUnavailableError(f"Kafka admin failed: {exc}") from exc
    finally:
        await admin.close()


def create_producer(
    bootstrap_servers: str, kafka: KafkaSettings | None = None, **overrides: Any
) -> AIOKafkaProducer:
    """A producer whose acknowledged sends are durable and never duplicated by retries.

    No linger: an idle producer sends at once, and under load the sends made while a request
    is in flight are batched anyway (up to :data:`PRODUCER_BATCH_BYTES` per partition)."""
    options: dict[str, Any] = {
        **client_options(bootstrap_servers, kafka),
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 0,
        "max_batch_size": PRODUCER_BATCH_BYTES,
        "request_timeout_ms": KAFKA_REQUEST_TIMEOUT_MS,
        "compression_type": None,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


async def abort_pending(producer: AIOKafkaProducer, error: KafkaError) -> None:
    """Fail every batch the producer still buffers, so ``stop()`` need not wait for a dead broker.

    aiokafka (0.14) has no public abort, so this is the one place that touches its private
    internals; the pin in pyproject.toml and tests/unit/common/test_kafka_abort.py catch an
    upgrade that moved them. The sender stops first, so nothing is re-queued concurrently.
    """
    await producer._sender.close()
    accumulator = producer._message_accumulator
    accumulator.fail_all(error)
    # Mark the failures seen, so asyncio logs no "exception was never retrieved" noise.
    batches = [batch for queue in accumulator._batches.values() for batch in queue]
    for batch in [*batches, *accumulator._pending_batches]:
        for future in (batch.future, batch._drain_waiter):
            if future.done() and not future.cancelled():
                future.exception()


def create_consumer(
    bootstrap_servers: str,
    group: ConsumerGroupSettings | None,
    kafka: KafkaSettings | None = None,
    **overrides: Any,
) -> AIOKafkaConsumer:
    """A consumer that commits only when told to and starts a new group at the beginning.

    Not subscribed: the owner subscribes (or assigns) and commits after its database commit.
    Without a ``group`` it belongs to none (replay assigns partitions and commits nothing).
    """
    if group is None:
        return AIOKafkaConsumer(
            **client_options(bootstrap_servers, kafka), enable_auto_commit=False, **overrides
        )
    options: dict[str, Any] = {
        **client_options(bootstrap_servers, kafka),
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
    kafka: KafkaSettings,
    configs: Mapping[str, Mapping[str, str]] | None = None,
) -> None:
    """Create the topics that do not exist yet, with their ``configs`` and ``kafka``'s
    replication factor and ``min.insync.replicas``; existing ones are left as they are (change
    a live topic's settings with kafka-configs.sh; health reports the difference)."""
    durability = {"min.insync.replicas": str(kafka.min_insync_replicas)}
    async with admin_session(bootstrap_servers, kafka) as admin:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                name,
                num_partitions=count,
                replication_factor=kafka.replication_factor,
                topic_configs={**durability, **(configs or {}).get(name, {})},
            )
            for name, count in partitions.items()
            if name not in existing
        ]
        if missing:
            response = await admin.create_topics(missing)
            _raise_creation_errors(response.topic_errors)
            await _until_led(admin, {t.name: t.num_partitions for t in missing})
            logger.info("created topics", extra={"topics": [t.name for t in missing]})


async def _until_led(
    admin: AIOKafkaAdminClient,
    partitions: Mapping[str, int],
    within_seconds: float = TOPIC_READY_TIMEOUT_SECONDS,
) -> None:
    """Wait until the broker's metadata lists every partition of the new topics with a leader.

    KRaft answers a create once the controller has it; the brokers' metadata follows tens of
    milliseconds later (over a second on a broker just restarted with many topics). A consumer
    subscribing in that gap may not be assigned the topic until its next metadata refresh."""
    pending = dict(partitions)
    try:
        async with asyncio.timeout(within_seconds):
            while pending:
                for topic in await admin.describe_topics(list(pending)):
                    led = [p for p in topic["partitions"] if p["leader"] >= 0]
                    if not topic["error_code"] and len(led) >= pending[topic["topic"]]:
                        del pending[topic["topic"]]
                if pending:
                    await asyncio.sleep(TOPIC_READY_POLL_SECONDS)
    except TimeoutError:
        raise UpstreamUnavailableError(
            f"Kafka created topics without leaders after {within_seconds:g} s: {sorted(pending)}"
        ) from None


def _raise_creation_errors(topic_errors: list[tuple[Any, ...]]) -> None:
    """The broker answers per topic (aiokafka raises nothing): a replication factor larger than
    the cluster, a forbidden config or a denied ACL must not pass as created."""
    failures = []
    for topic, error_code, *rest in topic_errors:
        error = for_code(error_code) if error_code else None
        if error is None or error is TopicAlreadyExistsError:
            continue  # another replica created it between our list and create
        message = rest[0] if rest and rest[0] else error.__name__
        failures.append(f"{topic}: {message}")
    if failures:
        raise ConfigurationError(f"Kafka refused to create topics: {'; '.join(failures)}")


async def check_producer(producer: AIOKafkaProducer) -> None:
    """Readiness: the producer's client can reach a broker and fetch metadata."""
    try:
        await producer.client.fetch_all_metadata()
    except KafkaError as exc:
        raise UpstreamUnavailableError(f"Kafka unreachable: {exc}") from exc


async def topic_settings(
    bootstrap_servers: str, topic: str, kafka: KafkaSettings | None = None
) -> dict[str, str]:
    """A topic's effective settings (``retention.ms``…), as the broker reports them."""
    async with admin_session(bootstrap_servers, kafka) as admin:
        return (await describe_topic_configs(admin, [topic]))[topic]


async def describe_topic_configs(
    admin: AIOKafkaAdminClient, topics: list[str]
) -> dict[str, dict[str, str]]:
    """Each topic's effective settings through a started ``admin``; a missing topic raises."""
    resources = [ConfigResource(ConfigResourceType.TOPIC, topic) for topic in topics]
    settings: dict[str, dict[str, str]] = {}
    for response in await admin.describe_configs(resources):
        for resource in response.resources:
            # (error_code, error_message, resource_type, resource_name, config_entries)
            error_code, error_message, _, topic, entries = resource[:5]
            if error_code:
                reason = error_message or for_code(error_code).__name__
                raise UpstreamUnavailableError(f"topic {topic}: {reason}")
            settings[topic] = {entry[0]: entry[1] for entry in entries if entry[1] is not None}
    return settings
