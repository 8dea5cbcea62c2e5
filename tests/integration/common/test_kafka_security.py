"""Our Kafka clients against a broker that only speaks SASL_SSL (SCRAM-SHA-512 over TLS).

One private broker for the module (devstack's secured KRaft broker: a throwaway CA, the SCRAM
user created at format time); the settings come from the environment as in a pod.
"""

from __future__ import annotations

import secrets
import shutil
import uuid
from collections.abc import Iterator

import pytest
from aiokafka.errors import KafkaConnectionError
from pydantic import SecretStr

from devstack import kafka as devkafka
from tds_common.errors import UpstreamUnavailableError
from tds_common.kafka import create_consumer, create_producer, ensure_topics
from tds_common.settings import ConsumerGroupSettings, KafkaSettings, ServiceSettings
from tests.conftest import free_port
from tests.secret_scan import SCAN

USERNAME = "tds-test"
# Generated per run and registered: the suite's log scan (tests/secret_scan.py) looks for it.
PASSWORD = SCAN.register_secret(f"scram-{secrets.token_hex(12)}")


@pytest.fixture(scope="module", name="secure_kafka")
def fixture_secure_kafka() -> Iterator[devkafka.KafkaConfig]:
    config = devkafka.KafkaConfig(
        port=free_port(),
        controller_port=free_port(),
        name=f"kafka-sasl-{uuid.uuid4().hex[:8]}",
        heap="384m",
        scram_user=devkafka.ScramUser(USERNAME, PASSWORD),
    )
    devkafka.start(config)
    yield config
    devkafka.stop(config, kill=True)
    shutil.rmtree(config.home, ignore_errors=True)


@pytest.fixture(name="settings")
def fixture_settings(
    secure_kafka: devkafka.KafkaConfig, monkeypatch: pytest.MonkeyPatch
) -> ServiceSettings:
    """A service's settings read from the environment, as the chart sets it."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", secure_kafka.bootstrap)
    monkeypatch.setenv("KAFKA__SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA__SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("KAFKA__SASL_USERNAME", USERNAME)
    monkeypatch.setenv("KAFKA__SASL_PASSWORD", PASSWORD)
    monkeypatch.setenv("KAFKA__SSL_CA_FILE", str(secure_kafka.ca_file))
    return ServiceSettings()


async def test_round_trip_through_our_settings(settings: ServiceSettings) -> None:
    topic = f"secure.{uuid.uuid4().hex[:8]}"
    await ensure_topics(settings.kafka_bootstrap_servers, {topic: 2}, kafka=settings.kafka)
    producer = create_producer(settings.kafka_bootstrap_servers, settings.kafka)
    await producer.start()
    try:
        for n in range(3):
            await producer.send_and_wait(topic, f"m{n}".encode(), key=b"k")
    finally:
        await producer.stop()

    group = ConsumerGroupSettings(group_id=f"g-{uuid.uuid4().hex[:8]}")
    consumer = create_consumer(settings.kafka_bootstrap_servers, group, settings.kafka)
    consumer.subscribe([topic])
    await consumer.start()
    values: list[bytes] = []
    try:
        while len(values) < 3:
            batch = await consumer.getmany(timeout_ms=1000)
            values += [r.value for records in batch.values() for r in records if r.value]
        await consumer.commit()
    finally:
        await consumer.stop()
    assert values == [b"m0", b"m1", b"m2"]


async def test_wrong_password_is_refused_with_the_reason(settings: ServiceSettings) -> None:
    wrong = settings.kafka.model_copy(update={"sasl_password": SecretStr("not-the-password")})
    with pytest.raises(UpstreamUnavailableError) as refused:
        await ensure_topics(settings.kafka_bootstrap_servers, {"never.created": 1}, kafka=wrong)
    message = str(refused.value)
    assert "SaslAuthenticationFailed" in message
    assert "invalid credentials" in message
    assert "not-the-password" not in message and PASSWORD not in message


async def test_a_plaintext_client_is_refused(settings: ServiceSettings) -> None:
    plaintext = KafkaSettings(replication_factor=1, min_insync_replicas=1)
    with pytest.raises(UpstreamUnavailableError, match="TLS listener closes plaintext"):
        await ensure_topics(settings.kafka_bootstrap_servers, {"never.created": 1}, kafka=plaintext)
    producer = create_producer(settings.kafka_bootstrap_servers, plaintext)
    with pytest.raises(KafkaConnectionError, match="Unable to bootstrap"):
        await producer.start()
    await producer.stop()


async def test_an_untrusted_broker_certificate_is_refused(settings: ServiceSettings) -> None:
    """Without our CA the system's trust store does not know the broker: TLS fails."""
    no_ca = settings.kafka.model_copy(update={"ssl_ca_file": None})
    with pytest.raises(UpstreamUnavailableError, match="CERTIFICATE_VERIFY_FAILED"):
        await ensure_topics(settings.kafka_bootstrap_servers, {"never.created": 1}, kafka=no_ca)
