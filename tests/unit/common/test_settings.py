from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from bulk_sync.settings import ProxySettings as BulkSyncProxySettings
from processor.settings import ConsumerSettings as ProcessorConsumerSettings
from tds_common.settings import BackoffSettings, ServiceSettings, loggable


def test_shared_names_are_read_unprefixed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:hunter2@db:5432/x")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "k1:9092,k2:9092")
    monkeypatch.setenv("KAFKA_TOPICS__EVENTS", "custom.events")
    settings = ServiceSettings()
    assert settings.database_url.get_secret_value() == "postgresql://u:hunter2@db:5432/x"
    assert settings.kafka_bootstrap_servers == "k1:9092,k2:9092"
    assert settings.topics.events == "custom.events"
    assert settings.topics.dead_letters == "tds.zoho.events.dlq"


def test_loggable_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:hunter2@db:5432/x")
    assert "hunter2" not in json.dumps(loggable(ServiceSettings()))


@pytest.mark.parametrize(
    "group", [ProcessorConsumerSettings, BulkSyncProxySettings], ids=lambda cls: cls.__module__
)
def test_backoff_bounds_must_be_in_order(group: type[BackoffSettings]) -> None:
    with pytest.raises(ValidationError, match="retry_max_seconds must be >= retry_initial"):
        group(retry_initial_seconds=10, retry_max_seconds=1)
    assert group(retry_initial_seconds=2, retry_max_seconds=2).retry_max_seconds == 2
