"""devstack.jaeger: the local trace backend's configuration, and how the stack uses it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from devstack import jaeger, processes, stack

CONFIG = jaeger.JaegerConfig(
    otlp_http_port=14318,
    otlp_grpc_port=14317,
    ui_port=26686,
    query_grpc_port=26685,
    ui_assets="",
    name="t",
)


def test_config_receives_otlp_and_serves_queries_on_loopback_only() -> None:
    config = jaeger.collector_config(CONFIG)
    protocols = config["receivers"]["otlp"]["protocols"]
    assert protocols == {
        "grpc": {"endpoint": "127.0.0.1:14317"},
        "http": {"endpoint": "127.0.0.1:14318"},
    }
    query = config["extensions"]["jaeger_query"]
    assert query["http"] == {"endpoint": "127.0.0.1:26686"}
    assert query["grpc"] == {"endpoint": "127.0.0.1:26685"}
    assert query["enable_tracing"] is False  # Jaeger's own spans would land in the same store
    pipeline = config["service"]["pipelines"]["traces"]
    assert pipeline["receivers"] == ["otlp"]
    assert pipeline["exporters"] == ["jaeger_storage_exporter"]
    # Every address in the file is a loopback one.
    text = yaml.safe_dump(config)
    assert "0.0.0.0" not in text and text.count("127.0.0.1:") == 4
    assert CONFIG.otlp_endpoint == "http://127.0.0.1:14318"


def test_a_built_ui_is_served_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "ui" not in jaeger.collector_config(CONFIG)["extensions"]["jaeger_query"]
    monkeypatch.setenv("TDS_JAEGER_UI_ASSETS", "/opt/jaeger-ui/build")
    query = jaeger.collector_config(jaeger.JaegerConfig())["extensions"]["jaeger_query"]
    assert query["ui"] == {"assets_path": "/opt/jaeger-ui/build"}


def test_ports_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TDS_JAEGER_UI_PORT", "16999")
    monkeypatch.setenv("TDS_JAEGER_OTLP_HTTP_PORT", "4999")
    config = jaeger.JaegerConfig()
    assert (config.ui_url, config.otlp_endpoint) == (
        "http://127.0.0.1:16999",
        "http://127.0.0.1:4999",
    )


def test_without_the_binary_the_stack_runs_with_export_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(jaeger, "binary", lambda: None)
    assert jaeger.start(CONFIG) == "not built (make jaeger); tracing export is off"


def test_a_taken_port_is_reported_not_fought_over(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TDS_STATE_DIR", str(tmp_path))
    monkeypatch.setattr(jaeger, "binary", lambda: tmp_path / "jaeger")
    monkeypatch.setattr(processes, "port_open", lambda port, *a, **k: port == 26686)
    assert jaeger.start(CONFIG).startswith("FAILED: port 26686 is taken")


@pytest.mark.parametrize(
    ("configured", "running", "expected"),
    [
        (None, True, "http://127.0.0.1:4318"),
        (None, False, None),
        ("http://collector:4318", True, "http://collector:4318"),
    ],
)
def test_services_export_to_the_local_jaeger_only_when_it_runs(
    monkeypatch: pytest.MonkeyPatch, configured: str | None, running: bool, expected: str | None
) -> None:
    monkeypatch.delenv("TDS_JAEGER_OTLP_HTTP_PORT", raising=False)
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": configured} if configured else {}
    monkeypatch.setattr(stack, "stack_env", lambda: dict(env))
    monkeypatch.setattr(jaeger, "running", lambda config: running)
    assert stack.apps_env().get("OTEL_EXPORTER_OTLP_ENDPOINT") == expected
