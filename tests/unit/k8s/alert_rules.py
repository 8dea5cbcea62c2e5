"""The chart's alerts against their ``promtool test rules`` unit tests (``tests/alerts``).

``make lint-k8s`` renders the PrometheusRule with the default thresholds, then runs
``python -m tests.unit.k8s.alert_rules --rendered F --out DIR``: it writes the rules as a plain
Prometheus rules file next to copies of the test files (which name it ``tds.rules.yaml``), and
fails unless every alert the chart ships has a case where it fires and a case where it stays
silent, and every case names an alert that exists. ``promtool test rules DIR/*.test.yaml`` runs
the cases.

Alerts a user adds through ``additionalRules`` (group ``tds.additional``) are theirs to test.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import yaml

from tests.unit.k8s.chartcheck import REPO_ROOT, Document, load_documents

logger = logging.getLogger(__name__)

ALERT_TESTS_DIR: Final = REPO_ROOT / "tests" / "alerts"
RULES_FILE_NAME: Final = "tds.rules.yaml"
USER_RULES_GROUP: Final = "tds.additional"


@dataclass
class AlertCases:
    """How one alert is tested: a case expecting it to fire, one expecting silence."""

    fires: int = 0
    silent: int = 0


def chart_alerts(documents: Iterable[Document]) -> dict[str, Document]:
    """The alerting rules the chart ships, by name (user-supplied rules left out)."""
    alerts: dict[str, Document] = {}
    for doc in documents:
        if doc.get("kind") != "PrometheusRule":
            continue
        for group in doc["spec"]["groups"]:
            if group["name"] == USER_RULES_GROUP:
                continue
            for rule in group["rules"]:
                if "alert" in rule:
                    alerts[rule["alert"]] = rule
    return alerts


def alert_test_files(directory: Path = ALERT_TESTS_DIR) -> list[Path]:
    """The promtool test files, in a stable order."""
    return sorted(directory.glob("*.test.yaml"))


def alert_cases(paths: Iterable[Path]) -> dict[str, AlertCases]:
    """Per alert name: how many cases expect it to fire and how many expect silence."""
    cases: dict[str, AlertCases] = {}
    for path in paths:
        suite = yaml.safe_load(path.read_text("utf-8"))
        for test in suite.get("tests", []):
            for case in test.get("alert_rule_test", []):
                counted = cases.setdefault(case["alertname"], AlertCases())
                if case.get("exp_alerts"):
                    counted.fires += 1
                else:
                    counted.silent += 1
    return cases


def coverage_errors(alerts: Iterable[str], cases: dict[str, AlertCases]) -> list[str]:
    """What is untested (an alert without a firing or a silent case) or stale (a case for an
    alert the chart no longer has)."""
    shipped = set(alerts)
    errors: list[str] = []
    for name in sorted(shipped):
        counted = cases.get(name, AlertCases())
        if not counted.fires:
            errors.append(f"{name}: no promtool case where it fires")
        if not counted.silent:
            errors.append(f"{name}: no promtool case where it stays silent")
    errors += [
        f"{name}: tested, but the chart has no such alert" for name in cases.keys() - shipped
    ]
    return errors


def prepare(rendered: Path, out: Path, tests_dir: Path = ALERT_TESTS_DIR) -> list[Path]:
    """Write the rendered rules as ``out/tds.rules.yaml`` beside copies of the test files."""
    rules = [doc for doc in load_documents([rendered]) if doc.get("kind") == "PrometheusRule"]
    if len(rules) != 1:
        raise ValueError(f"{rendered}: expected one PrometheusRule, found {len(rules)}")
    out.mkdir(parents=True, exist_ok=True)
    rules_file = out / RULES_FILE_NAME
    rules_file.write_text(yaml.safe_dump({"groups": rules[0]["spec"]["groups"]}), "utf-8")
    return [Path(shutil.copy(path, out)) for path in alert_test_files(tests_dir)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rendered", type=Path, required=True, help="helm template output")
    parser.add_argument("--out", type=Path, required=True, help="where promtool runs the tests")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    copied = prepare(args.rendered, args.out)
    alerts = chart_alerts(load_documents([args.rendered]))
    errors = coverage_errors(alerts, alert_cases(copied))
    for error in errors:
        logger.error("alert tests: %s", error)
    if errors:
        return 1
    logger.info("alert tests: %d alerts, each with firing and silent cases", len(alerts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
