"""Alerts and dashboards query metrics the services really export.

A renamed metric would leave an alert that never fires and a panel that stays empty, silently;
this test reads every ``tds_*`` name the chart queries and looks it up in the services' own
registries (each service's ``metrics`` module, imported as the service imports it).
"""

from __future__ import annotations

import importlib
import re
from typing import Final

from prometheus_client import REGISTRY

from tests.unit.k8s.chartcheck import CHART_DIR

SERVICE_METRICS_MODULES: Final = (
    "ingest.metrics",
    "processor.metrics",
    "bulk_sync.metrics",
    "bulk_sync.writeback.metrics",
    "zoho_proxy.metrics",
    "tds_common.echo",  # the processor's tds_writeback_echoes_total (processor.store uses it)
)
QUERY_FILES: Final = (
    CHART_DIR / "templates" / "prometheusrule.yaml",
    *sorted((CHART_DIR / "files" / "dashboards").glob("*.json")),
    CHART_DIR / "values.yaml",
)


def exported_names() -> set[str]:
    for module in SERVICE_METRICS_MODULES:
        importlib.import_module(module)
    # Every exposed series name (with _total, _bucket, ... suffixes) maps to its collector.
    return set(REGISTRY._names_to_collectors)


def queried_names() -> set[str]:
    names: set[str] = set()
    for path in QUERY_FILES:
        names |= set(re.findall(r"\btds_[a-z][a-z0-9_]*", path.read_text("utf-8")))
    # Not metrics: the shared package and the control tables that alert descriptions mention.
    return names - {
        "tds_common",
        "tds_sync_queue",
        "tds_inbox_events",
        "tds_sync_runs",
        "tds_outbox",
    }


def test_every_queried_metric_is_exported() -> None:
    queried = queried_names()
    assert len(queried) >= 15
    missing = queried - exported_names()
    assert not missing, f"alerts or dashboards query metrics no service exports: {sorted(missing)}"


# Labels Prometheus attaches to every scraped series (the ServiceMonitor's target labels). A
# metric label of the same name is renamed to ``exported_<name>`` at scrape time, so a rule or
# panel that groups by it silently groups by the target instead.
TARGET_LABELS: Final = frozenset(
    {"job", "instance", "namespace", "pod", "service", "container", "endpoint"}
)


def colliding_labels() -> dict[str, set[str]]:
    """Metric name → its labels that a target label would overwrite."""
    exported_names()
    collisions: dict[str, set[str]] = {}
    for name, collector in REGISTRY._names_to_collectors.items():
        labels = set(getattr(collector, "_labelnames", ())) & TARGET_LABELS
        if labels and name.startswith("tds_"):
            collisions[name] = labels
    return collisions


def test_no_metric_label_is_overwritten_by_a_target_label() -> None:
    assert colliding_labels() == {}
