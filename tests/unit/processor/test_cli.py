"""``python -m processor``: the replay command's guard rails and the settings' checks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from processor.__main__ import cli
from processor.settings import ConsumerSettings, Settings


def test_replay_refuses_to_run_without_a_selector() -> None:
    result = CliRunner().invoke(cli, ["replay"])
    assert result.exit_code != 0
    assert "--all" in result.output


def test_replay_help_lists_the_selectors() -> None:
    result = CliRunner().invoke(cli, ["replay", "--help"])
    assert result.exit_code == 0
    for option in ("--entity", "--org", "--queue-id", "--since", "--dry-run", "--all"):
        assert option in result.output


def test_backoff_bounds_are_checked() -> None:
    with pytest.raises(ValidationError, match="retry_max_seconds"):
        ConsumerSettings(retry_initial_seconds=10, retry_max_seconds=1)


def test_shared_names_are_read_unprefixed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZOHO_PROXY_URL", "http://proxy:8004")
    monkeypatch.setenv("KAFKA_TOPICS__EVENTS", "custom.events")
    monkeypatch.setenv("PROCESSOR_CONSUMER__BATCH_MAX_RECORDS", "50")
    settings = Settings()
    assert settings.zoho_proxy_url == "http://proxy:8004"
    assert settings.topics.events == "custom.events"
    assert settings.consumer.batch_max_records == 50
