"""KAFKA__* settings: what every client gets, and combinations refused at startup."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from tds_common.kafka import client_options
from tds_common.settings import KafkaSettings, ServiceSettings, loggable


def test_plaintext_by_default_with_no_credentials() -> None:
    options = client_options("b:9092", KafkaSettings())
    assert options == {"bootstrap_servers": "b:9092", "security_protocol": "PLAINTEXT"}


def test_sasl_ssl_gives_scram_credentials_and_a_tls_context() -> None:
    kafka = KafkaSettings(
        security_protocol="SASL_SSL", sasl_username="tds", sasl_password=SecretStr("pw")
    )
    options = client_options("b:9093", kafka)
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("tds", "pw")
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_a_missing_ca_file_fails_when_the_client_is_built(tmp_path: Path) -> None:
    kafka = KafkaSettings(security_protocol="SSL", ssl_ca_file=tmp_path / "absent.pem")
    with pytest.raises(FileNotFoundError):
        client_options("b:9093", kafka)


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"security_protocol": "SASL_SSL"}, "needs sasl_username and sasl_password"),
        ({"security_protocol": "SSL", "ssl_cert_file": "c.pem"}, "go together"),
        ({"ssl_ca_file": "ca.pem"}, "security_protocol is PLAINTEXT"),
        ({"replication_factor": 2, "min_insync_replicas": 3}, "cannot exceed"),
        ({"security_protocol": "TLS"}, "security_protocol"),
    ],
)
def test_inconsistent_settings_are_refused(fields: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        KafkaSettings.model_validate(fields)


def test_durable_topics_by_default() -> None:
    kafka = KafkaSettings()
    assert (kafka.replication_factor, kafka.min_insync_replicas) == (3, 2)


def test_read_from_the_environment_and_the_password_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA__SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA__SASL_USERNAME", "tds")
    monkeypatch.setenv("KAFKA__SASL_PASSWORD", "hunter2-secret")
    monkeypatch.setenv("KAFKA__REPLICATION_FACTOR", "5")
    settings = ServiceSettings()
    assert settings.kafka.security_protocol == "SASL_SSL"
    assert settings.kafka.replication_factor == 5
    assert "hunter2-secret" not in str(loggable(settings))
