"""Settings: secrets are required, split for rotation, never usable when empty or a placeholder."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ingest.settings import Settings

GOOD = "a-long-enough-secret-1"


def test_webhook_secrets_are_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEBHOOK_SECRETS", raising=False)
    monkeypatch.chdir("/")  # no .env to fall back on
    with pytest.raises(ValidationError, match="WEBHOOK_SECRETS"):
        Settings()


def test_comma_separated_secrets_are_all_live(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_SECRETS", f"{GOOD}, another-secret-value-2")
    monkeypatch.setenv("INGEST_WEBHOOK_HMAC_SECRETS", "hmac-secret-value-0001")
    settings = Settings()
    assert [s.get_secret_value() for s in settings.webhook_secrets] == [
        GOOD,
        "another-secret-value-2",
    ]
    assert [s.get_secret_value() for s in settings.webhook_hmac_secrets] == [
        "hmac-secret-value-0001"
    ]
    assert settings.max_body_bytes == 1024 * 1024


@pytest.mark.parametrize(
    "value",
    [f"{GOOD},", f"{GOOD},,x-second-secret-1234", "changeme", "short-secret", " , "],
)
def test_empty_short_or_placeholder_secrets_are_refused_without_echo(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("WEBHOOK_SECRETS", value)
    with pytest.raises(ValidationError) as info:
        Settings()
    text = str(info.value)
    assert "WEBHOOK_SECRETS" in text
    assert GOOD not in text
    assert "short-secret" not in text and "changeme" not in text


def test_settings_dump_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_SECRETS", GOOD)
    assert GOOD not in Settings().model_dump_json()
