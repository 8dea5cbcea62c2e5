"""The chart's alerts are unit-tested with promtool and documented in the runbook.

``tests/alerts/*.test.yaml`` holds the promtool cases; these tests prove the coverage rule (an
alert without a firing and a silent case fails), show that the cases notice a changed threshold,
and check the runbook links and the thresholds the chart refuses. That the cases pass on the rules
as the chart renders them is checked once, by ``make lint-k8s`` (part of ``make test``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Final

import pytest
import yaml
from prometheus_client import Histogram

from processor import metrics as processor_metrics
from tests.unit.k8s.alert_rules import (
    AlertCases,
    alert_cases,
    alert_test_files,
    chart_alerts,
    coverage_errors,
    prepare,
)
from tests.unit.k8s.chartcheck import REPO_ROOT, Document
from tests.unit.k8s.conftest import Render, helm_template, run_make
from tests.unit.k8s.values_cases import SCHEMA_FILE, VALUES_FILE
from zoho_proxy import metrics as zoho_proxy_metrics

# The first test to need helm or promtool may build or install it (minutes on a cold machine).
pytestmark = pytest.mark.timeout(900)

RULES_ON: Final[dict[str, str | int | bool]] = {"metrics.prometheusRule.enabled": True}
RUNBOOK: Final = REPO_ROOT / "docs" / "deploy.md"


@pytest.fixture(scope="session", name="promtool")
def fixture_promtool() -> str:
    """promtool (Debian's prometheus package); ``make promtool`` installs it when missing."""
    result = run_make("promtool")
    assert result.returncode == 0, result.stdout + result.stderr
    path = shutil.which("promtool")
    assert path is not None
    return path


@pytest.fixture(scope="session", name="alerts")
def fixture_alerts(render: Render) -> dict[str, Document]:
    return chart_alerts(render(sets=RULES_ON))


def rendered_rules(helm: Path, tmp_path: Path, sets: dict[str, str | int | bool]) -> Path:
    result = helm_template(helm, sets={**RULES_ON, **sets})
    assert result.returncode == 0, result.stderr
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(result.stdout, "utf-8")
    return rendered


def run_promtool(promtool: str, tests: list[Path]) -> subprocess.CompletedProcess[str]:
    command = [promtool, "test", "rules", *map(str, tests)]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)


def missed_alerts(report: str) -> set[str]:
    """Alerts of failed promtool cases that expected them to fire and got nothing."""
    blocks = report.split("alertname: ")[1:]
    return {
        block.split(",", 1)[0] for block in blocks if "exp:[]" not in block and "got:[]" in block
    }


def test_every_shipped_alert_fires_and_stays_silent_in_some_case(
    alerts: dict[str, Document],
) -> None:
    assert len(alerts) >= 19
    assert coverage_errors(alerts, alert_cases(alert_test_files())) == []


def test_the_coverage_rule_names_what_is_missing() -> None:
    cases = {"A": AlertCases(fires=1, silent=1), "B": AlertCases(fires=2), "Gone": AlertCases(1, 1)}
    assert coverage_errors(["A", "B", "C"], cases) == [
        "B: no promtool case where it stays silent",
        "C: no promtool case where it fires",
        "C: no promtool case where it stays silent",
        "Gone: tested, but the chart has no such alert",
    ]


def test_user_rules_need_no_chart_test(render: Render) -> None:
    documents = render(
        sets={**RULES_ON, "metrics.prometheusRule.additionalRules[0].alert": "Mine"}
        | {"metrics.prometheusRule.additionalRules[0].expr": "vector(1)"}
    )
    assert "Mine" not in chart_alerts(documents)


@pytest.mark.parametrize(
    ("setting", "value", "alert", "cases"),
    [
        ("syncStaleSeconds", 200000, "TdsSyncStale", "sync.test.yaml"),
        ("processorStalledFor", "40m", "TdsProcessorStalled", "pipeline.test.yaml"),
        ("webhooksSilentFor", "48h", "TdsWebhooksSilent", "webhooks.test.yaml"),
    ],
)
def test_promtool_cases_notice_a_changed_threshold(
    helm: Path,
    promtool: str,
    tmp_path: Path,
    setting: str,
    value: str | int,
    alert: str,
    cases: str,
) -> None:
    rendered = rendered_rules(
        helm, tmp_path, {f"metrics.prometheusRule.thresholds.{setting}": value}
    )
    (tests,) = [path for path in prepare(rendered, tmp_path / "run") if path.name == cases]
    result = run_promtool(promtool, [tests])
    assert result.returncode != 0
    assert alert in missed_alerts(result.stderr), result.stderr


def github_anchor(heading: str) -> str:
    """The fragment GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_every_alert_links_its_runbook_entry(alerts: dict[str, Document]) -> None:
    anchors = {
        github_anchor(line.lstrip("#"))
        for line in RUNBOOK.read_text("utf-8").splitlines()
        if line.startswith("#")
    }
    base = yaml.safe_load(VALUES_FILE.read_text("utf-8"))["metrics"]["prometheusRule"]["runbookUrl"]
    for name, rule in alerts.items():
        url = rule["annotations"]["runbook_url"]
        assert url == f"{base}#{name.lower()}", name
        assert name.lower() in anchors, f"docs/deploy.md has no heading for {name}"


def test_the_runbook_url_is_a_value(render: Render) -> None:
    base = "https://git.example.com/tds/blob/v1/docs/deploy.md"
    documents = render(sets={**RULES_ON, "metrics.prometheusRule.runbookUrl": base})
    urls = {rule["annotations"]["runbook_url"] for rule in chart_alerts(documents).values()}
    assert urls and all(url.startswith(f"{base}#") for url in urls)


def test_the_chart_refuses_a_sync_memory_shorter_than_the_staleness(helm: Path) -> None:
    sets = {
        **RULES_ON,
        "metrics.prometheusRule.thresholds.syncStaleSeconds": 172800,
        "metrics.prometheusRule.thresholds.syncForgetAfterSeconds": 172800,
    }
    result = helm_template(helm, sets=sets)
    assert result.returncode != 0
    assert "syncForgetAfterSeconds (172800) must exceed syncStaleSeconds (172800)" in result.stderr


def test_webhook_silence_alert_can_be_turned_off(render: Render) -> None:
    off = {**RULES_ON, "metrics.prometheusRule.thresholds.webhooksSilentFor": ""}
    assert "TdsWebhooksSilent" not in chart_alerts(render(sets=off))
    without_ingest = {**RULES_ON, "ingest.enabled": False}
    assert "TdsWebhooksSilent" not in chart_alerts(render(sets=without_ingest))


def test_target_alerts_watch_the_components_that_run(render: Render) -> None:
    external_proxy = {"zohoProxy.enabled": False, "global.zohoProxyUrl": "http://proxy:8004"}
    alerts = chart_alerts(render(sets={**RULES_ON, **external_proxy}))
    assert 'job=~"bulk-sync|ingest|processor"' in alerts["TdsTargetDown"]["expr"]
    assert "zoho-proxy" not in alerts["TdsComponentAbsent"]["expr"]


@pytest.mark.parametrize(
    ("threshold", "histogram"),
    [
        ("freshnessSeconds", processor_metrics.FRESHNESS),
        ("budgetDatabaseSeconds", zoho_proxy_metrics.BUDGET_DB),
    ],
)
def test_quantile_thresholds_lie_inside_their_histograms(
    threshold: str, histogram: Histogram
) -> None:
    # histogram_quantile never exceeds the largest finite bucket: a threshold at or above it
    # could never fire.
    largest = max(b for b in histogram._upper_bounds if b != float("inf"))
    schema = yaml.safe_load(SCHEMA_FILE.read_text("utf-8"))
    thresholds = schema["properties"]["metrics"]["properties"]["prometheusRule"]["properties"][
        "thresholds"
    ]["properties"]
    values = yaml.safe_load(VALUES_FILE.read_text("utf-8"))["metrics"]["prometheusRule"]
    assert values["thresholds"][threshold] < largest
    assert thresholds[threshold]["maximum"] < largest
