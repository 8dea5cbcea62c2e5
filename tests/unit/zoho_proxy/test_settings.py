"""Settings: shared env names, required secrets, Fernet key validation, plan quotas."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from tds_common.settings import loggable
from zoho_proxy.settings import Settings

from .conftest import TEST_KEY, make_settings


def test_reads_the_shared_zoho_names_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ZOHO_CLIENT_ID", "1000.ENVCLIENT")
    monkeypatch.setenv("ZOHO_CLIENT_SECRET", "env-secret-value")
    monkeypatch.setenv("ZOHO_REFRESH_TOKEN", "1000.cccc.dddd")
    monkeypatch.setenv("ZOHO_ORGANIZATION_ID", "60000000009")
    monkeypatch.setenv("ZOHO_ACCOUNTS_URL", "http://127.0.0.1:8090/")
    monkeypatch.setenv("ZOHO_API_BASE_URL", "http://127.0.0.1:8090")
    monkeypatch.setenv("ZOHO_PROXY_TOKEN_ENCRYPTION_KEY", TEST_KEY)
    monkeypatch.setenv("ZOHO_PROXY_PER_MINUTE_LIMIT", "50")
    monkeypatch.setenv("ZOHO_PROXY_MAX_WAIT_SECONDS__BULK", "3")
    settings = Settings()
    assert settings.zoho_client_id == "1000.ENVCLIENT"
    assert settings.zoho_organization_id == "60000000009"
    assert settings.token_url == "http://127.0.0.1:8090/oauth/v2/token"
    assert settings.api_root("books") == "http://127.0.0.1:8090/books/v3"
    assert settings.api_root("inventory") == "http://127.0.0.1:8090/inventory/v1"
    assert settings.per_minute_limit == 50
    assert settings.max_wait_seconds.bulk == 3
    assert settings.port == 8004
    dumped = str(loggable(settings))
    assert "env-secret-value" not in dumped and "cccc" not in dumped and TEST_KEY not in dumped


def test_encryption_key_is_required_and_must_be_fernet() -> None:
    with pytest.raises(ValidationError, match="token_encryption_key"):
        make_settings(token_encryption_key="not-a-key")
    with pytest.raises(ValidationError, match="placeholder"):
        make_settings(zoho_client_secret="changeme")


def test_daily_quota_follows_plan_unless_overridden() -> None:
    assert make_settings(plan="free").daily_quota("books") == 1000
    assert make_settings(plan="standard").daily_quota("inventory") == 2500
    assert make_settings(daily_limit=300, daily_reserve=10).daily_quota("books") == 300
    with pytest.raises(ValidationError, match="daily_reserve"):
        make_settings(daily_limit=100, daily_reserve=100)


def test_old_encryption_keys_come_comma_separated_and_are_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old_one, old_two = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("ZOHO_PROXY_TOKEN_ENCRYPTION_OLD_KEYS", f"{old_one}, {old_two}")
    settings = make_settings()
    assert settings.token_keys() == [k.encode() for k in (TEST_KEY, old_one, old_two)]
    assert old_one not in str(loggable(settings))
    monkeypatch.setenv("ZOHO_PROXY_TOKEN_ENCRYPTION_OLD_KEYS", f"{old_one},not-a-fernet-key")
    with pytest.raises(ValidationError, match="token_encryption_old_keys") as caught:
        make_settings()
    assert "not-a-fernet-key" not in str(caught.value)


def test_database_commits_are_synchronous_unless_opted_out() -> None:
    assert make_settings().synchronous_commit == "on"
    assert make_settings(synchronous_commit="off").synchronous_commit == "off"
    with pytest.raises(ValidationError, match="synchronous_commit"):
        make_settings(synchronous_commit="sometimes")


def test_lane_order_keeps_webhooks_first_and_bulk_last(monkeypatch: pytest.MonkeyPatch) -> None:
    assert make_settings().lane_order == ["webhook", "write", "incremental", "bulk"]
    monkeypatch.setenv("ZOHO_PROXY_LANE_ORDER", '["webhook","incremental","write","bulk"]')
    monkeypatch.setenv("ZOHO_PROXY_MAX_WAIT_SECONDS__WRITE", "7")
    settings = make_settings()
    assert settings.lane_order == ["webhook", "incremental", "write", "bulk"]
    assert settings.max_wait_seconds.write == 7
    for bad in (
        ["write", "webhook", "incremental", "bulk"],
        ["webhook", "incremental", "bulk"],
        ["webhook", "write", "write", "incremental", "bulk"],
    ):
        with pytest.raises(ValidationError, match="webhook first, bulk last"):
            make_settings(lane_order=bad)
