"""The dev cluster's Kafka creates the DLQ topic with the retention the services assume."""

from __future__ import annotations

from tds_common.kafka import topic_configs
from tds_common.settings import TopicSettings
from tests.unit.k8s.chartcheck import REPO_ROOT


def test_dev_kafka_gives_the_dead_letter_topic_the_default_retention() -> None:
    topics = TopicSettings()
    retention_ms = topic_configs(topics)[topics.dead_letters]["retention.ms"]
    script = (REPO_ROOT / "k8s" / "dev" / "kafka.yaml").read_text()
    assert f"--entity-name {topics.dead_letters}" in script
    assert f"--add-config retention.ms={retention_ms}" in script
