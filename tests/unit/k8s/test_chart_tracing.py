"""global.tracing turns on trace export in every service the standard way (OTEL_* variables),
and each service reads them as meant; off by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from tds_common.tracing import TracingSettings
from tests.unit.k8s.conftest import Render, by_kind, helm_template
from tests.unit.k8s.test_settings_from_chart import container_environment

COLLECTOR = "http://otel-collector.observability.svc:4318"
SERVICES = ("tds-ingest", "tds-processor", "tds-bulk-sync", "tds-zoho-proxy")


def test_no_service_exports_spans_unless_an_endpoint_is_set(render: Render) -> None:
    documents = render(sets={"zohoSim.enabled": True})
    for name in by_kind(documents, "Deployment"):
        environment = container_environment(documents, name)
        assert not [key for key in environment if key.startswith("OTEL_")], name


def test_an_endpoint_turns_export_on_in_every_service(
    render: Render, monkeypatch: pytest.MonkeyPatch
) -> None:
    documents = render(
        sets={
            "zohoSim.enabled": True,
            "global.tracing.otlpEndpoint": COLLECTOR,
            "global.tracing.resourceAttributes": "deployment.environment=prod",
        }
    )
    deployments = by_kind(documents, "Deployment")
    assert set(SERVICES) <= set(deployments)
    for name in SERVICES:
        environment = container_environment(documents, name)
        with monkeypatch.context() as patched:
            for key, value in environment.items():
                patched.setenv(key, value)
            settings = TracingSettings()
        assert settings.traces_endpoint() == f"{COLLECTOR}/v1/traces", name
        assert settings.service_name == name
        assert environment["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio"
        assert environment["OTEL_RESOURCE_ATTRIBUTES"] == (
            "k8s.namespace.name=tds,deployment.environment=prod"
        )
    simulator = container_environment(documents, "tds-zoho-sim")
    assert not [key for key in simulator if key.startswith("OTEL_")]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("global.tracing.sampler", "sometimes"),
        ("global.tracing.samplerArg", "1.5"),
        ("global.tracing.otlpEndpoint", "otel-collector:4318"),
        ("global.tracing.resourceAttributes", "no-equals-sign"),
    ],
)
def test_bad_tracing_values_are_refused(helm: Path, key: str, value: str) -> None:
    result = helm_template(helm, sets={key: value})
    assert result.returncode != 0
    assert "/" + key.replace(".", "/") in result.stderr
