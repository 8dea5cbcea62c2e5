"""ServiceMonitor, PrometheusRule and ScaledObject against the operators' own CRDs.

The CRDs come from the upstream Go modules (prometheus-operator, KEDA) through the Go module
proxy, copied at build time by ``make k8s-control-plane`` (devstack.kube_build.OPERATOR_CRDS).
With them installed, the production-like values install whole: nothing switched off.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from devstack import kube_build
from tests.k8s.conftest import PRODUCTION_VALUES, Cluster
from tests.unit.k8s.chartcheck import CHART_DIR

OPERATOR_KINDS = {"ServiceMonitor", "PrometheusRule", "ScaledObject"}
MONITORING_NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: monitoring\n"


@pytest.fixture(name="operator_crds")
def fixture_operator_crds(cluster: Cluster) -> Iterator[list[Path]]:
    crds = sorted(kube_build.operator_crds_dir(cluster.config.version).glob("*.yaml"))
    for crd in crds:
        cluster.kubectl("apply", "--server-side", "-f", str(crd))
    names = [crd.stem.split("_", 1)[1] + "." + crd.stem.split("_", 1)[0] for crd in crds]
    for name in names:
        cluster.wait_established(name)
    yield crds
    for name in names:
        cluster.kubectl("delete", "crd", name, "--ignore-not-found", "--wait=true")


@pytest.mark.timeout(600)
def test_production_values_install_whole_against_the_upstream_operator_crds(
    cluster: Cluster, namespace: str, operator_crds: list[Path]
) -> None:
    cluster.delete_crd()
    cluster.kubectl("apply", "-f", "-", stdin=MONITORING_NAMESPACE)
    try:
        cluster.helm(
            "upgrade",
            "--install",
            "tds",
            str(CHART_DIR),
            "-n",
            namespace,
            "-f",
            str(PRODUCTION_VALUES),
            "--wait",
            "--timeout",
            "3m",
        )
        found = cluster.kubectl(
            "get", "servicemonitors,prometheusrules,scaledobjects", "-n", namespace, "-o", "name"
        ).split()
        assert sorted(found) == [
            "prometheusrule.monitoring.coreos.com/tds",
            "scaledobject.keda.sh/tds-processor",
            "servicemonitor.monitoring.coreos.com/tds",
        ]
        # helm prunes unknown fields quietly; a strict server-side dry run names them.
        installed = yaml.safe_load_all(cluster.helm("get", "manifest", "tds", "-n", namespace))
        operator_objects = [doc for doc in installed if doc and doc["kind"] in OPERATOR_KINDS]
        answer = cluster.kubectl(
            "apply",
            "--dry-run=server",
            "--validate=strict",
            "-n",
            namespace,
            "-f",
            "-",
            stdin=yaml.safe_dump_all(operator_objects),
        )
        assert answer.count("(server dry run)") == 3
        # With KEDA the processor has no HPA of the chart's (KEDA makes its own).
        assert cluster.kubectl("get", "hpa", "-n", namespace, "-o", "name").split() == [
            "horizontalpodautoscaler.autoscaling/tds-ingest"
        ]
    finally:
        cluster.helm("uninstall", "tds", "-n", namespace, "--ignore-not-found", "--wait")
        cluster.delete_crd()
