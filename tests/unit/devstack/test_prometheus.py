"""The local Prometheus sees the stack the way the chart's monitoring does in a cluster.

Dashboards and alerts are written for the ServiceMonitor's scrape: a job per component and a
``namespace`` label. The local scrape configuration must produce the same, or every panel stays
empty and TdsComponentAbsent fires locally (tests/e2e/test_prometheus.py runs it for real).
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest
import yaml

from devstack import prometheus
from devstack.stack import APPS
from tests.unit.k8s.chartcheck import CHART_DIR
from tests.unit.k8s.conftest import fixture_helm  # noqa: F401  (renders the chart's rules)


def _servicemonitor_jobs() -> set[str]:
    """The components the chart's ServiceMonitor selects (its jobLabel is the component)."""
    template = (CHART_DIR / "templates" / "servicemonitor.yaml").read_text("utf-8")
    (line,) = [line for line in template.splitlines() if line.strip().startswith("values: [")]
    return {name.strip() for name in line.split("[", 1)[1].rstrip("]").split(",")}


def test_every_service_the_chart_scrapes_is_a_local_job_with_the_namespace_label() -> None:
    targets = {app.name: f"127.0.0.1:{app.port}" for app in APPS if app.metrics}
    config = prometheus.scrape_config(targets, interval_seconds=5)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == _servicemonitor_jobs() == {"ingest", "processor", "bulk-sync", "zoho-proxy"}
    for job in jobs.values():
        (static,) = job["static_configs"]
        assert static["labels"] == {"namespace": prometheus.NAMESPACE}
        assert job["metrics_path"] == "/metrics"
    assert config["global"] == {"scrape_interval": "5s", "evaluation_interval": "5s"}


def test_the_config_names_the_rules_file_only_when_there_are_rules(tmp_path: Path) -> None:
    rules = {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "vector(1)"}]}]}
    with_rules = prometheus.write_config(
        tmp_path / "a", {"ingest": "127.0.0.1:1"}, interval_seconds=1, rules=rules
    )
    config = yaml.safe_load(with_rules.read_text("utf-8"))
    (rules_file,) = config["rule_files"]
    assert yaml.safe_load(Path(rules_file).read_text("utf-8")) == rules
    assert config["global"]["scrape_interval"] == "1s"

    without = prometheus.write_config(
        tmp_path / "b", {"ingest": "127.0.0.1:1"}, interval_seconds=1, rules=None
    )
    assert yaml.safe_load(without.read_text("utf-8"))["rule_files"] == []
    assert not (tmp_path / "b" / "tds.rules.yaml").exists()


def test_without_the_binary_the_stack_is_told_and_nothing_starts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TDS_STATE_DIR", str(tmp_path))
    monkeypatch.setattr(prometheus, "binary", lambda: None)
    state = prometheus.start(prometheus.PrometheusConfig(port=1), {"ingest": "127.0.0.1:1"})
    assert state.startswith("not installed")
    assert not (tmp_path / "pids" / "prometheus.pid").exists()


def test_a_port_taken_by_another_program_is_reported_not_reused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TDS_STATE_DIR", str(tmp_path))
    monkeypatch.setattr(prometheus, "binary", lambda: Path("/usr/bin/prometheus"))
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        state = prometheus.start(prometheus.PrometheusConfig(port=port), {"ingest": "127.0.0.1:1"})
    assert state.startswith(f"FAILED: port {port} is taken") and "TDS_PROMETHEUS_PORT" in state
    assert not (tmp_path / "prometheus").exists()  # nothing written, nothing started


def test_the_chart_rules_and_the_config_pass_promtool(helm: Path, tmp_path: Path) -> None:
    rules = prometheus.rules_from_chart(helm)
    rendered = [rule["alert"] for group in rules["groups"] for rule in group["rules"]]
    assert len(rendered) >= 20 and len(set(rendered)) == len(rendered)
    config = prometheus.write_config(
        tmp_path, {"ingest": "127.0.0.1:8001"}, interval_seconds=5, rules=rules
    )
    checked = subprocess.run(
        ["promtool", "check", "config", str(config)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rendered)} rules found" in checked.stdout
