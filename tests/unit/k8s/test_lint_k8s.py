"""``make lint-k8s`` fails on deliberately broken values.

Each broken file gets past the stages before the one it targets, so together they prove that
every stage gates: helm's schema validation, the strict Kubernetes schemas, and promtool. That it
passes on the shipped values is checked once, by ``make test`` itself, which runs ``make
lint-k8s`` before pytest with its output in full (mk/k8s.mk's TEST_CHECKS).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.unit.k8s.conftest import PRODUCTION_VALUES, run_make
from tests.unit.k8s.values_cases import load_yaml, merge

# The first test to need helm (or uv's package cache) may build it: minutes on a cold machine.
pytestmark = pytest.mark.timeout(900)


BROKEN: dict[str, tuple[dict[str, object], str]] = {
    # A typo in a key: values.schema.json (additionalProperties false) stops helm lint.
    "values-schema": ({"ingest": {"replicas": 3}}, "additional properties 'replicas' not allowed"),
    # Valid for our schema (extraEnv is free-form), invalid Kubernetes: kubernetes-validate.
    "kubernetes-schema": (
        {
            "processor": {
                "extraEnv": [
                    {"name": "X", "valueFrom": {"secretKeyRef": {"key": "k"}, "fieldReff": {}}}
                ]
            }
        },
        "fieldReff",
    ),
    # A rule whose PromQL does not parse: promtool.
    "promtool": (
        {
            "metrics": {
                "prometheusRule": {
                    "additionalRules": [{"alert": "Broken", "expr": "sum(rate(x[5m]"}]
                }
            }
        },
        "Broken",
    ),
}


def write_values(tmp_path: Path, override: dict[str, object]) -> Path:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(merge(load_yaml(PRODUCTION_VALUES), override)), encoding="utf-8")
    return path


@pytest.mark.parametrize("stage", sorted(BROKEN))
def test_lint_k8s_fails_on_broken_values(helm: Path, tmp_path: Path, stage: str) -> None:
    override, expected = BROKEN[stage]
    values = write_values(tmp_path, override)
    result = run_make("lint-k8s", f"K8S_VALUES={values}", f"K8S_OUT={tmp_path / 'out'}")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert expected in output, output[-3000:]
