"""A real Prometheus server scraping the local stack, with the chart's alert rules loaded.

The binary is Debian's ``prometheus`` package (``make prometheus`` installs it when missing;
``make up`` tries, and the stack runs without it). The scrape configuration mirrors what the
chart's ServiceMonitor produces in a cluster: one job per service named after its component
(``ingest``, ``processor``, ``bulk-sync``, ``zoho-proxy``) and a ``namespace`` target label, so
the dashboards' queries and the PrometheusRule's expressions (both scoped to a namespace) work
unchanged. The rules come from the chart as ``helm template`` renders them; without helm
(``make helm``) Prometheus runs without rules and ``make up`` says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from devstack import processes
from devstack.paths import repo_root, state_dir

NAME: Final = "prometheus"
NAMESPACE: Final = "tds"
"""The namespace the chart's rules are rendered for, and the label every local target gets."""
HELM_TIMEOUT_SECONDS: Final = 120.0
KUBE_VERSION: Final = "1.34.0"
"""Rendered as ``make lint-k8s`` renders it (mk/k8s.mk's KUBE_VERSION); the rules ignore it."""
START_TIMEOUT_SECONDS: Final = 30.0


@dataclass(frozen=True)
class PrometheusConfig:
    port: int = field(default_factory=lambda: int(os.environ.get("TDS_PROMETHEUS_PORT", "9090")))
    scrape_interval_seconds: float = field(
        default_factory=lambda: float(os.environ.get("TDS_PROMETHEUS_SCRAPE_SECONDS", "5"))
    )
    name: str = NAME
    """Pid and state-folder name; tests run their own under another name."""

    @property
    def home(self) -> Path:
        return state_dir() / self.name

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def binary() -> Path | None:
    """The ``prometheus`` server on PATH (Debian puts it in /usr/bin), if installed."""
    found = shutil.which("prometheus")
    return Path(found) if found else None


def helm_binary() -> Path | None:
    """The project's helm (``make helm``), which renders the chart's rules."""
    helm = repo_root() / ".local" / "bin" / "helm"
    return helm if helm.is_file() else None


def rules_from_chart(helm: Path, *, namespace: str = NAMESPACE) -> dict[str, Any]:
    """The chart's PrometheusRule, rendered with its default values, as a Prometheus rules file."""
    chart = repo_root() / "charts" / "tds"
    render = [str(helm), "template", "tds", str(chart), "--namespace", namespace]
    render += ["--kube-version", KUBE_VERSION]
    render += ["--set", "metrics.prometheusRule.enabled=true"]
    render += ["--show-only", "templates/prometheusrule.yaml"]
    result = subprocess.run(
        render,
        capture_output=True,
        text=True,
        check=False,
        timeout=HELM_TIMEOUT_SECONDS,
    )
    if result.returncode != 0:
        raise RuntimeError(f"helm could not render the chart's rules: {result.stderr.strip()}")
    rule = yaml.safe_load(result.stdout)
    return {"groups": rule["spec"]["groups"]}


def scrape_config(
    targets: Mapping[str, str],
    *,
    interval_seconds: float,
    rule_files: Sequence[Path] = (),
    namespace: str = NAMESPACE,
) -> dict[str, Any]:
    """Prometheus's configuration: ``targets`` maps a job (component) to ``host:port``."""
    interval = f"{interval_seconds:g}s"
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [
            {
                "job_name": job,
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [address], "labels": {"namespace": namespace}}],
            }
            for job, address in targets.items()
        ],
    }


def write_config(
    directory: Path,
    targets: Mapping[str, str],
    *,
    interval_seconds: float,
    rules: Mapping[str, Any] | None,
) -> Path:
    """Write ``prometheus.yml`` (and ``tds.rules.yaml`` when given rules); returns the config."""
    directory.mkdir(parents=True, exist_ok=True)
    rule_files: list[Path] = []
    if rules is not None:
        rules_file = directory / "tds.rules.yaml"
        rules_file.write_text(yaml.safe_dump(dict(rules), sort_keys=False), "utf-8")
        rule_files.append(rules_file)
    config = scrape_config(targets, interval_seconds=interval_seconds, rule_files=rule_files)
    config_file = directory / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")
    return config_file


def command(prometheus: Path, config_file: Path, data_dir: Path, port: int) -> list[str]:
    """The server's command line: loopback only, its own data folder, lifecycle API on."""
    return [
        str(prometheus),
        f"--config.file={config_file}",
        f"--storage.tsdb.path={data_dir}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",
        "--storage.tsdb.retention.time=2d",
    ]


def start(config: PrometheusConfig, targets: Mapping[str, str]) -> str:
    """Start the server unless it runs (config and rules written anew); a state for ``up``."""
    prometheus = binary()
    if prometheus is None:
        return "not installed (make prometheus: Debian's package); the stack runs without it"
    if processes.read_pid(config.name) is not None:
        return f"already up: {config.url}"
    if processes.port_open(config.port):
        return f"FAILED: port {config.port} is taken by another program (set TDS_PROMETHEUS_PORT)"
    helm = helm_binary()
    rules = rules_from_chart(helm) if helm else None
    config_file = write_config(
        config.home, targets, interval_seconds=config.scrape_interval_seconds, rules=rules
    )
    pid = processes.start_background(
        config.name, command(prometheus, config_file, config.home / "data", config.port)
    )
    try:
        processes.wait_for_port(
            config.port, timeout=START_TIMEOUT_SECONDS, name=config.name, pid=pid
        )
    except RuntimeError as exc:
        processes.stop(config.name)
        return f"FAILED: {exc}"
    if rules is None:
        return (
            f"started: {config.url} (no alert rules: make helm builds the helm that renders them)"
        )
    return f"started: {config.url} (the chart's alert rules loaded)"


def stop(config: PrometheusConfig) -> bool:
    """Stop the server ``start`` started; True if it ran."""
    return processes.stop(config.name)
