"""Grafana dashboard JSON from the catalogue, built with grafana-foundation-sdk.

Every panel reads the data source chosen in the dashboard's ``datasource`` variable and is
scoped to its ``namespace`` variable (filled from ``tds_ingest_build_info``). The output is
deterministic (sorted keys, fixed layout), so the committed files can be compared with it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import prometheus, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef, VariableRefresh

from devstack.dashboards.catalogue import DASHBOARDS
from devstack.dashboards.model import Dashboard, Panel
from devstack.paths import repo_root

DATASOURCE: Final = DataSourceRef(type_val="prometheus", uid="${datasource}")
PANEL_WIDTH: Final = 12  # two panels per row (the grid is 24 wide)
PANEL_HEIGHT: Final = 8
REFRESH: Final = "30s"
NAMESPACE_SERIES: Final = "tds_ingest_build_info"
"""The series whose ``namespace`` labels the dashboards' namespace variable offers."""


def dashboards_dir() -> Path:
    """Where the chart packs its dashboards (templates/dashboards-configmap.yaml)."""
    return repo_root() / "charts" / "tds" / "files" / "dashboards"


def _panel(spec: Panel, panel_id: int) -> timeseries.Panel:
    description = spec.description
    if spec.event_only:
        description = f"{description} Empty until {spec.event_only}.".strip()
    panel = (
        timeseries.Panel()
        .id(panel_id)
        .title(spec.title)
        .datasource(DATASOURCE)
        .unit(spec.unit)
        .span(PANEL_WIDTH)
        .height(PANEL_HEIGHT)
    )
    if description:
        panel = panel.description(description)
    for index, query in enumerate(spec.queries):
        target = prometheus.Dataquery().expr(query.expr).ref_id(chr(ord("A") + index))
        if query.legend:
            target = target.legend_format(query.legend)
        panel = panel.with_target(target.datasource(DATASOURCE))
    return panel


def build(spec: Dashboard) -> gd.Dashboard:
    """The SDK's dashboard for one catalogue entry."""
    dashboard = (
        gd.Dashboard(spec.title)
        .uid(spec.uid)
        .description(spec.description)
        .tags(["tds"])
        .readonly()
        .timezone("utc")
        .time("now-6h", "now")
        .refresh(REFRESH)
        .with_variable(gd.DatasourceVariable("datasource").label("Data source").type("prometheus"))
        .with_variable(
            gd.QueryVariable("namespace")
            .label("Namespace")
            .datasource(DATASOURCE)
            .query(f"label_values({NAMESPACE_SERIES}, namespace)")
            # Never refreshed, the list would stay as saved: empty, so every panel would be too.
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        )
    )
    for panel_id, panel in enumerate(spec.panels, start=1):
        dashboard = dashboard.with_panel(_panel(panel, panel_id))
    return dashboard


def render(spec: Dashboard) -> str:
    """The dashboard's JSON text, as committed."""
    encoded = JSONEncoder(sort_keys=True, indent=2).encode(build(spec).build())
    return json.dumps(json.loads(encoded), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def expected_files() -> dict[str, str]:
    """File name → content for every dashboard of the catalogue."""
    return {f"{spec.name}.json": render(spec) for spec in DASHBOARDS}


def write(directory: Path) -> list[str]:
    """Write every dashboard and delete JSON files no dashboard produces; returns the names."""
    directory.mkdir(parents=True, exist_ok=True)
    files = expected_files()
    for stale in {p.name for p in directory.glob("*.json")} - files.keys():
        (directory / stale).unlink()
    for name, text in files.items():
        (directory / name).write_text(text, "utf-8")
    return sorted(files)


def differences(directory: Path) -> list[str]:
    """File names that are missing, stale or different from what the code generates."""
    files = expected_files()
    present = {p.name: p.read_text("utf-8") for p in directory.glob("*.json")}
    return sorted(
        name for name in files.keys() | present.keys() if files.get(name) != present.get(name)
    )
