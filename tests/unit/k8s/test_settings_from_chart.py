"""The environment the chart gives each container is read by the service as intended.

A misspelt variable name in a template is not an error anywhere: Kubernetes sets it, pydantic
ignores it, the service runs on its default (127.0.0.1, the wrong topic, a local proxy URL).
Here each Deployment's rendered environment (its ConfigMap plus its env entries, with stand-in
values for Secret references) is handed to the service's own Settings class, and the settings
the chart means to set must come out.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic_settings import BaseSettings

from bulk_sync.settings import OperatorSettings
from bulk_sync.settings import Settings as BulkSyncSettings
from ingest.settings import Settings as IngestSettings
from processor.settings import Settings as ProcessorSettings
from tests.unit.k8s.chartcheck import Document
from tests.unit.k8s.conftest import DEV_VALUES, Render, by_kind
from zoho_proxy.settings import Settings as ZohoProxySettings
from zoho_sim.settings import SimSettings

pytestmark = pytest.mark.timeout(900)

# Stand-ins for the Secrets the chart references (shaped like the real thing).
SECRET_VALUES = {
    "DATABASE_URL": "postgresql://tds:pw@db.example:5432/tds",
    "WEBHOOK_SECRETS": "a-webhook-secret-of-some-length",
    "WEBHOOK_HMAC_SECRETS": "an-hmac-key-of-some-length-too",
    "ZOHO_CLIENT_ID": "1000.ABCDEFGHIJ",
    "ZOHO_CLIENT_SECRET": "0123456789abcdef0123456789abcdef01234567",
    "ZOHO_REFRESH_TOKEN": "1000." + "a" * 32 + "." + "b" * 32,
    "ZOHO_PROXY_TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "ZOHO_PROXY_TOKEN_ENCRYPTION_OLD_KEYS": Fernet.generate_key().decode(),
    "PROCESSOR_PROXY__TOKEN": "processor-proxy-token-0123456789",
    "BULK_SYNC_PROXY__TOKEN": "bulk-sync-proxy-token-0123456789",
    "ZOHO_PROXY_CLIENT_TOKENS": "processor-proxy-token-0123456789,operator-api-token-0123456789",
    "ZOHO_PROXY_WRITER_TOKENS": "bulk-sync-proxy-token-0123456789",
    "PROCESSOR_API_TOKENS": "operator-api-token-0123456789",
    "BULK_SYNC_API_TOKENS": "operator-api-token-0123456789",
    "BULK_SYNC_API_TOKEN": "operator-api-token-0123456789",
}
SETTINGS: dict[str, type[BaseSettings]] = {
    "tds-ingest": IngestSettings,
    "tds-processor": ProcessorSettings,
    "tds-bulk-sync": BulkSyncSettings,
    "tds-bulk-sync-operator": OperatorSettings,
    "tds-zoho-proxy": ZohoProxySettings,
    "tds-zoho-sim": SimSettings,
}


def container_environment(documents: list[Document], deployment: str) -> dict[str, str]:
    """What the container's process sees: envFrom ConfigMaps, then env (Secrets stood in)."""
    configs = by_kind(documents, "ConfigMap")
    container = by_kind(documents, "Deployment")[deployment]["spec"]["template"]["spec"][
        "containers"
    ][0]
    environment: dict[str, str] = {}
    for source in container.get("envFrom", []):
        environment.update(configs[source["configMapRef"]["name"]]["data"])
    for entry in container.get("env", []):
        if "value" in entry:
            environment[entry["name"]] = entry["value"]
        elif ref := entry.get("valueFrom", {}).get("secretKeyRef"):
            environment[entry["name"]] = SECRET_VALUES[ref["key"]]
    return environment


def settings_for(
    monkeypatch: pytest.MonkeyPatch, documents: list[Document], deployment: str
) -> Any:
    # Only the rendered environment: nothing from this machine's or a .env file.
    for name in list(os.environ):
        if name.split("_", 1)[0] in {"INGEST", "PROCESSOR", "BULK", "ZOHO", "KAFKA", "LOG"}:
            monkeypatch.delenv(name)
    for name in ("DATABASE_URL", "WEBHOOK_SECRETS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in container_environment(documents, deployment).items():
        monkeypatch.setenv(name, value)
    return SETTINGS[deployment](_env_file=None)


@pytest.fixture(name="dev")
def fixture_dev(render: Render) -> list[Document]:
    """Dev values: every component, the simulator included."""
    # Non-default values wherever a service has a default, so that only the chart can set them.
    sets: dict[str, str | int | bool] = {
        "global.webhooks.hmacSecretKey": "WEBHOOK_HMAC_SECRETS",
        "global.kafka.topics.events": "custom.events",
        "global.kafka.topics.deadLetters": "custom.events.dlq",
        "processor.consumerGroup": "tds-processor-custom",
    }
    for component in ("ingest", "processor", "bulkSync", "zohoProxy"):
        sets[f"{component}.shutdownTimeoutSeconds"] = 17
    return render(DEV_VALUES, sets=sets)


@pytest.mark.parametrize("deployment", sorted(SETTINGS))
def test_services_listen_where_the_chart_probes(
    monkeypatch: pytest.MonkeyPatch, dev: list[Document], deployment: str
) -> None:
    settings = settings_for(monkeypatch, dev, deployment)
    if deployment == "tds-bulk-sync-operator":
        return  # kopf serves its own liveness endpoint (operator.command)
    container = by_kind(dev, "Deployment")[deployment]["spec"]["template"]["spec"]["containers"][0]
    assert settings.host == "0.0.0.0"
    assert settings.port == container["ports"][0]["containerPort"]


def test_shared_settings_reach_every_service(
    monkeypatch: pytest.MonkeyPatch, dev: list[Document]
) -> None:
    for deployment in ("tds-ingest", "tds-processor", "tds-bulk-sync", "tds-zoho-proxy"):
        settings = settings_for(monkeypatch, dev, deployment)
        assert settings.kafka_bootstrap_servers == "kafka.tds-dev.svc:9092", deployment
        assert (settings.kafka.replication_factor, settings.kafka.min_insync_replicas) == (1, 1)
        if deployment != "tds-ingest":  # ingest holds no database credentials
            assert settings.database_url.get_secret_value() == SECRET_VALUES["DATABASE_URL"]
        assert settings.topics.events == "custom.events"
        assert settings.topics.dead_letters == "custom.events.dlq"
        assert settings.zoho_organization_id == "60000000001"
        assert settings.shutdown_timeout_seconds == 17
        assert settings.log_level == "DEBUG" and settings.log_json is False


def test_each_service_gets_its_own_settings(
    monkeypatch: pytest.MonkeyPatch, dev: list[Document]
) -> None:
    ingest = settings_for(monkeypatch, dev, "tds-ingest")
    assert [s.token.get_secret_value() for s in ingest.webhook_secrets] == [
        SECRET_VALUES["WEBHOOK_SECRETS"]
    ]
    assert ingest.webhook_secrets[0].orgs == {"60000000001"}  # the legacy form: the default org
    assert [s.get_secret_value() for s in ingest.webhook_hmac_secrets] == [
        SECRET_VALUES["WEBHOOK_HMAC_SECRETS"]
    ]
    processor = settings_for(monkeypatch, dev, "tds-processor")
    assert processor.consumer.group_id == "tds-processor-custom"
    assert processor.zoho_proxy_url == "http://tds-zoho-proxy.tds.svc:8004"
    operator = settings_for(monkeypatch, dev, "tds-bulk-sync-operator")
    assert operator.api_url == "http://tds-bulk-sync.tds.svc:8003"
    proxy = settings_for(monkeypatch, dev, "tds-zoho-proxy")
    assert proxy.zoho_accounts_url == proxy.zoho_api_base_url == "http://tds-zoho-sim.tds.svc:8090"
    assert proxy.zoho_refresh_token.get_secret_value() == SECRET_VALUES["ZOHO_REFRESH_TOKEN"]
    assert proxy.token_keys() == [
        SECRET_VALUES[name].encode()
        for name in ("ZOHO_PROXY_TOKEN_ENCRYPTION_KEY", "ZOHO_PROXY_TOKEN_ENCRYPTION_OLD_KEYS")
    ]
    sim = settings_for(monkeypatch, dev, "tds-zoho-sim")
    assert sim.webhooks.url_template.startswith("http://tds-ingest.tds-dev.svc:8001/")
    assert sim.webhooks.query == {"token": SECRET_VALUES["WEBHOOK_SECRETS"]}
