"""Topics are created as durable as configured, and a difference is reported by health."""

from __future__ import annotations

import uuid

import pytest

from tds_common.errors import ConfigurationError
from tds_common.kafka import ensure_topics, topic_settings
from tds_common.kafka_durability import (
    TopicDurabilityCheck,
    TopicDurabilityError,
    durability_mismatches,
)
from tests.utils.kafka import CREATED_TOPICS, SINGLE_BROKER
from tests.utils.polling import wait_until


async def _created(bootstrap: str, topic: str) -> None:
    """Creation returns before every broker's metadata lists the topic."""

    async def listed() -> bool:
        found = await durability_mismatches(bootstrap, [topic], SINGLE_BROKER)
        return not any("cannot describe" in line for line in found)

    CREATED_TOPICS.append(topic)
    await ensure_topics(bootstrap, {topic: 2}, kafka=SINGLE_BROKER)
    await wait_until(listed, what=f"{topic} in the metadata")


async def test_topics_are_created_with_the_configured_min_insync_replicas(
    kafka_bootstrap: str,
) -> None:
    topic = f"test.durable.{uuid.uuid4().hex[:8]}"
    await _created(kafka_bootstrap, topic)
    assert (await topic_settings(kafka_bootstrap, topic))["min.insync.replicas"] == "1"
    assert await durability_mismatches(kafka_bootstrap, [topic], SINGLE_BROKER) == []


async def test_a_replication_factor_the_single_broker_cannot_hold_is_refused(
    kafka_bootstrap: str,
) -> None:
    """Creating with the production default (3) on one broker fails loudly, never silently 1."""
    topic = f"test.durable.{uuid.uuid4().hex[:8]}"
    durable = SINGLE_BROKER.model_copy(update={"replication_factor": 3, "min_insync_replicas": 2})
    with pytest.raises(ConfigurationError, match=f"{topic}: .*replication factor of 3"):
        await ensure_topics(kafka_bootstrap, {topic: 1}, kafka=durable)


async def test_health_names_each_setting_that_differs(kafka_bootstrap: str) -> None:
    topic = f"test.durable.{uuid.uuid4().hex[:8]}"
    await _created(kafka_bootstrap, topic)
    expected = SINGLE_BROKER.model_copy(update={"replication_factor": 3, "min_insync_replicas": 2})
    check = TopicDurabilityCheck(kafka_bootstrap, [topic, "test.durable.absent"], expected)
    with pytest.raises(TopicDurabilityError) as mismatch:
        await check()
    message = str(mismatch.value)
    assert f"{topic}: replication factor 1, configured 3" in message
    assert f"{topic}: min.insync.replicas 1, configured 2" in message
    assert "test.durable.absent: cannot describe" in message
