"""The chart's dashboards are generated from code, scoped to a release, and all shipped.

``make dashboards`` writes them (``python -m devstack.dashboards``); the committed files must be
exactly what the code generates, so an edit by hand (or a code change without regenerating)
fails here. What each panel's query returns is tested against a real Prometheus in
tests/e2e/test_prometheus.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from devstack.dashboards.catalogue import DASHBOARDS
from devstack.dashboards.model import NAMESPACE_MATCHER
from devstack.dashboards.render import dashboards_dir, differences, expected_files, write
from tests.unit.k8s.chartcheck import Document
from tests.unit.k8s.conftest import Render, by_kind

# A metric selector: a name, then its matchers (if any). Functions such as ``rate(`` are no match.
SELECTOR = re.compile(r"\b((?:tds_[a-z0-9_]+)|up)\b(\{[^}]*\})?(?!\s*\()")


def test_the_committed_dashboards_are_what_the_code_generates() -> None:
    assert differences(dashboards_dir()) == []


def test_a_hand_edit_a_stale_file_and_a_missing_file_are_all_found(tmp_path: Path) -> None:
    write(tmp_path)
    assert differences(tmp_path) == []
    edited = tmp_path / "pipeline.json"
    edited.write_text(edited.read_text("utf-8").replace("Consumer lag", "Lag"), "utf-8")
    (tmp_path / "zoho.json").unlink()
    (tmp_path / "old.json").write_text("{}", "utf-8")
    assert differences(tmp_path) == ["old.json", "pipeline.json", "zoho.json"]
    assert write(tmp_path) == sorted(expected_files())
    assert differences(tmp_path) == [] and not (tmp_path / "old.json").exists()


def test_one_dashboard_per_concern_each_with_unique_uid_and_panel_titles() -> None:
    assert [d.name for d in DASHBOARDS] == [
        "overview",
        "pipeline",
        "zoho",
        "bulk-sync",
        "writeback",
    ]
    assert len({d.uid for d in DASHBOARDS}) == len(DASHBOARDS)
    for dashboard in DASHBOARDS:
        titles = [panel.title for panel in dashboard.panels]
        assert len(titles) == len(set(titles)), dashboard.name
        assert all(panel.queries for panel in dashboard.panels)


@pytest.mark.parametrize("name", sorted(expected_files()))
def test_every_query_is_scoped_to_the_namespace_variable(name: str) -> None:
    dashboard = json.loads((dashboards_dir() / name).read_text("utf-8"))
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert exprs
    for expr in exprs:
        selectors = SELECTOR.findall(expr)
        assert selectors, expr
        unscoped = [metric for metric, matchers in selectors if NAMESPACE_MATCHER not in matchers]
        assert unscoped == [], f"{name}: {expr}"
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert set(variables) == {"datasource", "namespace"}
    # 0 (never) would leave the namespace list as saved in the file: empty, and every panel too.
    assert variables["namespace"]["refresh"] == 2  # on time range change (and dashboard load)


def test_the_selector_check_catches_an_unscoped_metric() -> None:
    found = SELECTOR.findall('sum(rate(tds_ingest_webhooks_total[5m])) / max(up{job="x"})')
    assert found == [("tds_ingest_webhooks_total", ""), ("up", '{job="x"}')]


def test_event_only_panels_say_so_to_the_operator() -> None:
    for dashboard in DASHBOARDS:
        rendered = json.loads(expected_files()[f"{dashboard.name}.json"])
        descriptions = {p["title"]: p.get("description", "") for p in rendered["panels"]}
        for panel in dashboard.panels:
            if panel.event_only:
                assert f"Empty until {panel.event_only}." in descriptions[panel.title]


def test_the_chart_ships_every_dashboard_as_its_own_configmap(production: list[Document]) -> None:
    shipped: dict[str, Document] = {
        name: doc
        for name, doc in by_kind(production, "ConfigMap").items()
        if doc["metadata"]["labels"].get("grafana_dashboard") == "1"
    }
    assert sorted(shipped) == sorted(f"tds-tds-dashboard-{d.name}" for d in DASHBOARDS)
    for dashboard in DASHBOARDS:
        (content,) = shipped[f"tds-tds-dashboard-{dashboard.name}"]["data"].values()
        assert json.loads(content)["uid"] == dashboard.uid


def test_dashboards_can_be_turned_off(render: Render) -> None:
    documents = render(sets={"metrics.dashboards.enabled": False})
    assert not [
        doc
        for doc in by_kind(documents, "ConfigMap").values()
        if "-dashboard-" in doc["metadata"]["name"]
    ]
