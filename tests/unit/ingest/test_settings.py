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
    monkeypatch.setenv("ZOHO_ORGANIZATION_ID", "60000000001")
    settings = Settings()
    assert [s.token.get_secret_value() for s in settings.webhook_secrets] == [
        GOOD,
        "another-secret-value-2",
    ]
    # The comma-separated form binds every token to the default organization only.
    assert all(s.orgs == {"60000000001"} for s in settings.webhook_secrets)
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
    monkeypatch.setenv("ZOHO_ORGANIZATION_ID", "60000000001")
    assert GOOD not in Settings().model_dump_json()


def test_a_json_object_binds_each_token_to_its_organizations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ZOHO_ORGANIZATION_ID", raising=False)
    shared = "token-for-two-orgs-000001"
    monkeypatch.setenv(
        "WEBHOOK_SECRETS",
        f'{{"60000000001": ["{GOOD}", "{shared}"], "60000000002": "{shared},rotated-in-token-02"}}',
    )
    settings = Settings()
    orgs = {s.token.get_secret_value(): s.orgs for s in settings.webhook_secrets}
    assert orgs == {
        GOOD: {"60000000001"},
        shared: {"60000000001", "60000000002"},
        "rotated-in-token-02": {"60000000002"},
    }


def test_unbound_tokens_without_a_default_organization_fail_at_startup_saying_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ZOHO_ORGANIZATION_ID", raising=False)
    monkeypatch.chdir("/")  # no .env to fall back on
    monkeypatch.setenv("WEBHOOK_SECRETS", GOOD)
    with pytest.raises(ValidationError, match="without organizations") as caught:
        Settings()
    assert GOOD not in str(caught.value)


@pytest.mark.parametrize(
    "value",
    [
        '{"60000000001": ["short"]}',
        '{"not-an-org": ["' + GOOD + '"]}',
        '{"60000000001": [',
        '{"60000000001": []}',
        "{}",
    ],
    ids=["short-token", "bad-org", "broken-json", "no-tokens", "empty"],
)
def test_bad_bound_tokens_fail_without_echoing_them(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBHOOK_SECRETS", value)
    with pytest.raises(ValidationError, match=r"WEBHOOK_SECRETS|webhook_secrets") as caught:
        Settings()
    assert GOOD not in str(caught.value) and "short" not in str(caught.value).split("secret #")[0]
