"""The chart's whole life on a real API server: install, upgrade, roll back, undo, uninstall.

Production-like values (charts/tds/ci/production-values.yaml): every component, the CRD,
NetworkPolicies, PDBs, the ingest HPA, Pod Security ``restricted`` on the namespace. The
ServiceMonitor, PrometheusRule and ScaledObject need operators' CRDs, so they are switched off
here (the processor then gets its HPA instead of the ScaledObject); test_operator_resources.py
installs the values whole against the upstream CRDs.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.k8s.conftest import CRD_NAME, PRODUCTION_VALUES, Cluster, CommandFailed
from tests.unit.k8s.chartcheck import CHART_DIR

RELEASE = "tds"
DEPLOYMENTS = ("bulk-sync", "bulk-sync-operator", "ingest", "processor", "zoho-proxy")
WITHOUT_OPERATOR_CRDS = (
    "metrics.serviceMonitor.enabled=false",
    "metrics.prometheusRule.enabled=false",
    "processor.keda.enabled=false",
)
# The webhook Secret's key as production names it, and the name a careless upgrade renames it to.
WEBHOOK_KEY = "WEBHOOK_HMAC_SECRETS"
RENAMED_WEBHOOK_KEY = "HMAC_SECRETS"
MONITORING_NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: monitoring\n"


def _helm_upgrade(cluster: Cluster, namespace: str, *settings: str, chart: Path = CHART_DIR) -> str:
    sets = [arg for setting in (*WITHOUT_OPERATOR_CRDS, *settings) for arg in ("--set", setting)]
    return cluster.helm(
        "upgrade",
        "--install",
        RELEASE,
        str(chart),
        "-n",
        namespace,
        "-f",
        str(PRODUCTION_VALUES),
        *sets,
        "--wait",
        "--timeout",
        "3m",
    )


def _deployments(cluster: Cluster, namespace: str) -> dict[str, Any]:
    """The release's Deployments by component, all in one request; fails if one is missing."""
    names = [f"tds-{component}" for component in DEPLOYMENTS]
    found = cluster.kubectl_json("get", "deployments", *names, "-n", namespace)["items"]
    by_name = {item["metadata"]["name"]: item for item in found}
    return {component: by_name[f"tds-{component}"] for component in DEPLOYMENTS}


def _image_tags(cluster: Cluster, namespace: str) -> dict[str, str]:
    """Each Deployment's container image tag (digest dropped)."""
    tags = {}
    for component, deployment in _deployments(cluster, namespace).items():
        image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        tags[component] = image.split("@")[0].rsplit(":", 1)[1]
    return tags


def _webhook_secret_key(cluster: Cluster, namespace: str) -> str:
    deployment = cluster.kubectl_json("get", "deployment", "tds-ingest", "-n", namespace)
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    hmac = next(item for item in env if item["name"] == "INGEST_WEBHOOK_HMAC_SECRETS")
    return str(hmac["valueFrom"]["secretKeyRef"]["key"])


def _rollout_status(cluster: Cluster, namespace: str) -> None:
    for component in DEPLOYMENTS:
        cluster.kubectl(
            "rollout", "status", f"deployment/tds-{component}", "-n", namespace, "--timeout=120s"
        )


def _wait_for_autoscaled_minimum(cluster: Cluster, namespace: str) -> None:
    """The chart leaves ``replicas`` to the HPAs, so a first install starts one pod each and
    helm's --wait passes before the HPA brings them to minReplicas (ingest 3, processor 2)."""
    for component, minimum in (("ingest", 3), ("processor", 2)):
        cluster.kubectl(
            "wait",
            f"deployment/tds-{component}",
            "-n",
            namespace,
            "--timeout=120s",
            f"--for=jsonpath={{.status.readyReplicas}}={minimum}",
        )


def _ready_replicas(cluster: Cluster, namespace: str) -> dict[str, int]:
    return {
        component: deployment["status"].get("readyReplicas", 0)
        for component, deployment in _deployments(cluster, namespace).items()
    }


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


@pytest.fixture(name="fresh_crd")
def fixture_fresh_crd(cluster: Cluster) -> Iterator[None]:
    """No ZohoSync CRD before (helm must create and own it) nor after (crds.keep leaves it).

    The dashboards ConfigMap goes to the ``monitoring`` namespace, shared and never deleted.
    """
    cluster.delete_crd()
    cluster.kubectl("apply", "-f", "-", stdin=MONITORING_NAMESPACE)
    yield
    cluster.delete_crd()


@pytest.mark.timeout(900)
def test_install_upgrade_rollback_undo_and_uninstall(
    cluster: Cluster, namespace: str, fresh_crd: None
) -> None:
    # Install: the migration Job (a pre-install hook) runs to completion before any Deployment.
    _helm_upgrade(cluster, namespace)
    assert cluster.history(RELEASE, namespace) == [(1, "deployed", "Install complete")]
    _wait_for_autoscaled_minimum(cluster, namespace)
    assert _ready_replicas(cluster, namespace) == {
        "bulk-sync": 2,
        "bulk-sync-operator": 1,
        "ingest": 3,
        "processor": 2,
        "zoho-proxy": 2,
    }
    events = cluster.kubectl_json(
        "get", "events", "-n", namespace, "--field-selector", "involvedObject.name=tds-migrate"
    )["items"]
    completed = [e for e in events if e["reason"] == "Completed"]
    assert completed, [e["reason"] for e in events]
    deployments = _deployments(cluster, namespace).values()
    first_deployment = min(_time(d["metadata"]["creationTimestamp"]) for d in deployments)
    assert _time(completed[0]["lastTimestamp"] or completed[0]["eventTime"]) <= first_deployment
    # The hook Job succeeded, so helm deleted it (hook-delete-policy: hook-succeeded).
    assert cluster.kubectl("get", "jobs", "-n", namespace, "-o", "name") == ""
    crd = cluster.kubectl_json("get", "crd", CRD_NAME)
    assert crd["metadata"]["annotations"]["meta.helm.sh/release-namespace"] == namespace
    assert cluster.kubectl("get", "zohosyncs", "-n", namespace, "-o", "name").split() == [
        "zohosync.tds.dev/scheduled-incremental"
    ]
    assert _image_tags(cluster, namespace) == dict.fromkeys(DEPLOYMENTS, "0.1.0")

    # Upgrade to a new image tag, renaming the webhook Secret's key on the way.
    _helm_upgrade(
        cluster,
        namespace,
        "global.imageTag=0.1.1",
        f"global.webhooks.hmacSecretKey={RENAMED_WEBHOOK_KEY}",
    )
    _rollout_status(cluster, namespace)
    assert [row[:2] for row in cluster.history(RELEASE, namespace)] == [
        (1, "superseded"),
        (2, "deployed"),
    ]
    assert _image_tags(cluster, namespace) == dict.fromkeys(DEPLOYMENTS, "0.1.1")
    assert _webhook_secret_key(cluster, namespace) == RENAMED_WEBHOOK_KEY

    # helm rollback brings revision 1 back whole: image tags and the Secret key it read.
    cluster.helm("rollback", RELEASE, "1", "-n", namespace, "--wait", "--timeout", "3m")
    _rollout_status(cluster, namespace)
    assert cluster.history(RELEASE, namespace) == [
        (1, "superseded", "Install complete"),
        (2, "superseded", "Upgrade complete"),
        (3, "deployed", "Rollback to 1"),
    ]
    assert _image_tags(cluster, namespace) == dict.fromkeys(DEPLOYMENTS, "0.1.0")
    assert _webhook_secret_key(cluster, namespace) == WEBHOOK_KEY

    # kubectl rollout undo goes back one ReplicaSet (to 0.1.1); helm's history does not see it.
    cluster.kubectl("rollout", "undo", "deployment/tds-zoho-proxy", "-n", namespace)
    cluster.kubectl(
        "rollout", "status", "deployment/tds-zoho-proxy", "-n", namespace, "--timeout=120s"
    )
    assert _image_tags(cluster, namespace)["zoho-proxy"] == "0.1.1"
    assert len(cluster.history(RELEASE, namespace)) == 3
    # The next helm upgrade puts the chart's image back.
    _helm_upgrade(cluster, namespace)
    assert _image_tags(cluster, namespace) == dict.fromkeys(DEPLOYMENTS, "0.1.0")
    assert cluster.history(RELEASE, namespace)[-1][:2] == (4, "deployed")

    # Uninstall leaves only what crds.keep keeps: the CRD and the ZohoSyncs it holds.
    cluster.helm("uninstall", RELEASE, "-n", namespace, "--wait", "--timeout", "3m")
    # helm waits for the objects it deleted; their pods go a moment later (kwok's pod-delete).
    cluster.kubectl(
        "wait",
        "--for=delete",
        "pods",
        "-n",
        namespace,
        "--timeout=120s",
        "-l",
        f"app.kubernetes.io/instance={RELEASE}",
    )
    left = cluster.kubectl(
        "get",
        "all,configmaps,secrets,serviceaccounts,roles,rolebindings,networkpolicies,"
        "poddisruptionbudgets,horizontalpodautoscalers,ingresses",
        "-n",
        namespace,
        "-l",
        f"app.kubernetes.io/instance={RELEASE}",
        "-o",
        "name",
    )
    assert left == ""
    cluster_wide = cluster.kubectl(
        "get",
        "clusterroles,clusterrolebindings",
        "-l",
        f"app.kubernetes.io/instance={RELEASE}",
        "-o",
        "name",
    )
    assert namespace not in cluster_wide
    assert (
        cluster.kubectl("get", "crd", CRD_NAME, "-o", "name")
        == f"customresourcedefinition.apiextensions.k8s.io/{CRD_NAME}\n"
    )
    with pytest.raises(CommandFailed, match="not found"):
        cluster.helm("status", RELEASE, "-n", namespace)


@pytest.mark.timeout(600)
def test_an_immutable_selector_change_fails_and_the_previous_revision_still_serves(
    cluster: Cluster, namespace: str, fresh_crd: None, tmp_path: Path
) -> None:
    """What no offline check sees: the API server refuses a changed Deployment selector.

    A chart variant that adds a selector label (a tempting edit of tds.selectorLabels) cannot
    upgrade an existing release; the upgrade fails, and ``helm rollback`` returns the release to
    the revision that serves, with its Deployments Ready.
    """
    _helm_upgrade(cluster, namespace)
    _wait_for_autoscaled_minimum(cluster, namespace)
    variant = tmp_path / "tds"
    shutil.copytree(CHART_DIR, variant)
    helpers = variant / "templates" / "_helpers.tpl"
    helpers.write_text(
        helpers.read_text().replace(
            "app.kubernetes.io/instance: {{ .Release.Name }}\n{{- end -}}",
            "app.kubernetes.io/instance: {{ .Release.Name }}\ntds.dev/track: stable\n{{- end -}}",
            1,
        )
    )
    with pytest.raises(CommandFailed) as refused:
        _helm_upgrade(cluster, namespace, chart=variant)
    assert "field is immutable" in refused.value.stderr
    assert [row[:2] for row in cluster.history(RELEASE, namespace)] == [
        (1, "deployed"),
        (2, "failed"),
    ]

    cluster.helm("rollback", RELEASE, "1", "-n", namespace, "--wait", "--timeout", "3m")
    assert [row[:2] for row in cluster.history(RELEASE, namespace)] == [
        (1, "superseded"),
        (2, "failed"),
        (3, "deployed"),
    ]
    _wait_for_autoscaled_minimum(cluster, namespace)
    assert _ready_replicas(cluster, namespace) == {
        "bulk-sync": 2,
        "bulk-sync-operator": 1,
        "ingest": 3,
        "processor": 2,
        "zoho-proxy": 2,
    }
    cluster.helm("uninstall", RELEASE, "-n", namespace, "--wait", "--timeout", "3m")


@pytest.mark.timeout(600)
def test_two_releases_in_two_namespaces_share_the_monitoring_namespace(
    cluster: Cluster, namespace: str, fresh_crd: None
) -> None:
    """The dashboards land in the shared ``monitoring`` namespace: each release its own."""
    second = f"{namespace}-b"
    cluster.kubectl("create", "namespace", second)
    try:
        # The CRD is one per cluster: the second release leaves it to the first.
        _helm_upgrade(cluster, namespace)
        _helm_upgrade(cluster, second, "crds.enabled=false")
        dashboards = cluster.kubectl("get", "configmaps", "-n", "monitoring", "-o", "name")
        assert f"configmap/tds-{namespace}-dashboard-overview" in dashboards.split()
        assert f"configmap/tds-{second}-dashboard-overview" in dashboards.split()
    finally:
        cluster.helm("uninstall", RELEASE, "-n", second, "--ignore-not-found", "--wait")
        cluster.kubectl("delete", "namespace", second, "--wait=false")
