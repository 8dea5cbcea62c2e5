"""Values that ``values.schema.json`` must reject, and the check that it does.

Helm validates values against the chart's schema on lint, template and install; this module keeps
the list of wrong values the schema exists to stop (typos, wrong types, unpinned images, missing
limits, malformed addresses) and proves each one is rejected, while the shipped values files pass.
``make lint-k8s`` runs it (``python -m tests.unit.k8s.values_cases``); the tests reuse the cases.
"""

from __future__ import annotations

import copy
import json
import logging
import sys
from pathlib import Path
from typing import Any, Final

import jsonschema  # type: ignore[import-untyped,unused-ignore]
import yaml

from tests.unit.k8s.chartcheck import CHART_DIR

logger = logging.getLogger(__name__)

SCHEMA_FILE: Final = CHART_DIR / "values.schema.json"
VALUES_FILE: Final = CHART_DIR / "values.yaml"
GOOD_VALUES_FILES: Final = (
    CHART_DIR / "ci" / "production-values.yaml",
    CHART_DIR / "ci" / "dev-values.yaml",
)

# (case id, override merged over values.yaml as helm merges -f files; None deletes a key)
BAD_VALUES: Final[list[tuple[str, dict[str, Any]]]] = [
    ("typo-in-key", {"ingest": {"replicas": 3}}),
    ("unknown-top-level-key", {"ingset": {"enabled": True}}),
    ("replicas-not-a-number", {"ingest": {"replicaCount": "two"}}),
    ("latest-global-tag", {"global": {"imageTag": "latest"}}),
    ("latest-component-tag", {"processor": {"image": {"tag": "latest"}}}),
    ("digest-not-sha256", {"ingest": {"image": {"digest": "md5:abc"}}}),
    ("missing-limits", {"processor": {"resources": {"limits": None}}}),
    ("missing-memory-request", {"zohoProxy": {"resources": {"requests": {"memory": None}}}}),
    ("cpu-not-a-quantity", {"ingest": {"resources": {"limits": {"cpu": "lots"}}}}),
    ("log-level-unknown", {"global": {"logLevel": "LOUD"}}),
    ("bootstrap-without-port", {"global": {"kafka": {"bootstrapServers": "kafka"}}}),
    ("zero-partitions", {"global": {"kafka": {"eventsPartitions": 0}}}),
    ("empty-database-secret", {"global": {"database": {"existingSecret": ""}}}),
    ("extra-env-without-name", {"ingest": {"extraEnv": [{"value": "x"}]}}),
    ("env-name-lowercase", {"ingest": {"env": {"not-an-env-name": "x"}}}),
    ("ratio-above-one", {"metrics": {"prometheusRule": {"thresholds": {"ingest5xxRatio": 5}}}}),
    (
        "alert-for-not-a-duration",
        {"metrics": {"prometheusRule": {"thresholds": {"targetDownFor": "5 minutes"}}}},
    ),
    (
        "freshness-beyond-buckets",
        {"metrics": {"prometheusRule": {"thresholds": {"freshnessSeconds": 7200}}}},
    ),
    (
        "budget-database-beyond-buckets",
        {"metrics": {"prometheusRule": {"thresholds": {"budgetDatabaseSeconds": 10}}}},
    ),
    ("runbook-url-relative", {"metrics": {"prometheusRule": {"runbookUrl": "docs/deploy.md"}}}),
    ("service-type-unknown", {"zohoProxy": {"service": {"type": "Public"}}}),
    ("ingress-path-relative", {"ingest": {"ingress": {"paths": ["api/zoho/webhooks"]}}}),
    ("grace-period-zero", {"processor": {"terminationGracePeriodSeconds": 0}}),
    ("kafka-protocol-unknown", {"global": {"kafka": {"security": {"protocol": "TLS"}}}}),
    ("replication-factor-zero", {"global": {"kafka": {"replicationFactor": 0}}}),
    ("egress-as-a-rule-list", {"networkPolicy": {"egress": [{"to": []}]}}),
    ("zoho-cidr-a-hostname", {"networkPolicy": {"egress": {"zohoCidrs": ["www.zohoapis.eu"]}}}),
    ("egress-without-dns", {"networkPolicy": {"egress": {"dns": []}}}),
]


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's merge of a values file over the defaults: maps merge, null deletes, rest replaces."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_yaml(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a mapping")
    return data


def schema_errors(values: dict[str, Any]) -> list[str]:
    """What values.schema.json says about these values (empty: accepted)."""
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator.iter_errors(values)
    ]


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_FILE.read_text("utf-8")))
    defaults = load_yaml(VALUES_FILE)
    problems: list[str] = []
    for path in (VALUES_FILE, *GOOD_VALUES_FILES):
        errors = schema_errors(merge(defaults, load_yaml(path)))
        problems += [f"{path.name} should be accepted: {error}" for error in errors]
    for case, override in BAD_VALUES:
        if not schema_errors(merge(defaults, override)):
            problems.append(f"values.schema.json accepts the bad values of case {case!r}")
    for problem in problems:
        logger.error("%s", problem)
    if problems:
        return 1
    logger.info(
        "values.schema.json: %d values files accepted, %d bad cases rejected",
        1 + len(GOOD_VALUES_FILES),
        len(BAD_VALUES),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
