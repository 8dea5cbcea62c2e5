"""Values the chart must refuse (schema and template checks), and what the defaults render."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest

from devstack.dashboards.render import expected_files
from tests.unit.k8s.chartcheck import CHART_DIR, Document
from tests.unit.k8s.conftest import DEV_VALUES, Render, by_kind, env_of, helm_template
from tests.unit.k8s.values_cases import BAD_VALUES, VALUES_FILE, load_yaml, merge, schema_errors

# The first test to need helm (or uv's package cache) may build it: minutes on a cold machine.
pytestmark = pytest.mark.timeout(900)


@pytest.mark.parametrize(("case", "override"), BAD_VALUES, ids=[case for case, _ in BAD_VALUES])
def test_schema_rejects_bad_values(case: str, override: dict[str, object]) -> None:
    assert schema_errors(merge(load_yaml(VALUES_FILE), override)), case


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        # helm's own schema validation (the same values.schema.json).
        ({"ingest.replicas": 3}, "additional properties 'replicas' not allowed"),
        ({"global.imageTag": "latest"}, "/global/imageTag"),
        # Checks in the templates themselves.
        ({"processor.autoscaling.maxReplicas": 13}, "exceeds global.kafka.eventsPartitions"),
        ({"ingest.terminationGracePeriodSeconds": 25}, "must exceed preStopSleepSeconds"),
        ({"zohoProxy.image.tag": "latest"}, "/zohoProxy/image/tag"),
    ],
)
def test_helm_refuses(helm: Path, sets: dict[str, str | int | bool], message: str) -> None:
    result = helm_template(helm, sets=sets)
    assert result.returncode != 0
    assert message in result.stderr


def test_defaults_render_without_optional_crds(render: Render) -> None:
    """Default values install on a bare cluster: no Prometheus Operator or KEDA objects."""
    documents = render()
    kinds = {doc["kind"] for doc in documents}
    assert not kinds & {"ServiceMonitor", "PrometheusRule", "ScaledObject", "Ingress"}
    assert {"CustomResourceDefinition", "HorizontalPodAutoscaler", "NetworkPolicy"} <= kinds
    crd = by_kind(documents, "CustomResourceDefinition")["zohosyncs.tds.dev"]
    assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert "tds-zoho-sim" not in by_kind(documents, "Deployment")


def test_crds_can_be_left_out_or_released_on_uninstall(render: Render) -> None:
    assert "CustomResourceDefinition" not in {
        d["kind"] for d in render(sets={"crds.enabled": False})
    }
    documents = render(sets={"crds.keep": False})
    crd = by_kind(documents, "CustomResourceDefinition")["zohosyncs.tds.dev"]
    assert "annotations" not in crd["metadata"]


def test_dev_values_point_the_proxy_at_the_simulator(render: Render) -> None:
    documents: list[Document] = render(DEV_VALUES)
    deployments = by_kind(documents, "Deployment")
    assert "tds-zoho-sim" in deployments
    proxy = env_of(deployments["tds-zoho-proxy"]["spec"]["template"]["spec"]["containers"][0])
    assert proxy["ZOHO_ACCOUNTS_URL"]["value"] == "http://tds-zoho-sim.tds.svc:8090"
    assert proxy["ZOHO_API_BASE_URL"]["value"] == "http://tds-zoho-sim.tds.svc:8090"
    sim = deployments["tds-zoho-sim"]["spec"]["template"]["spec"]["containers"][0]
    assert env_of(sim)["ZOHO_SIM_HOST"]["value"] == "0.0.0.0"
    assert "envFrom" not in sim  # the simulator gets no TDS settings, let alone secrets
    config = by_kind(documents, "ConfigMap")["tds"]["data"]
    assert config["KAFKA_BOOTSTRAP_SERVERS"] == "kafka.tds-dev.svc:9092"
    assert config["ZOHO_PROXY_URL"] == "http://tds-zoho-proxy.tds.svc:8004"


def test_extra_env_and_settings_reach_the_container(render: Render) -> None:
    documents = render(
        sets={"processor.env.PROCESSOR_DB_POOL_MAX_SIZE": 9, "global.logLevel": "DEBUG"}
    )
    processor = by_kind(documents, "Deployment")["tds-processor"]
    env = env_of(processor["spec"]["template"]["spec"]["containers"][0])
    assert env["PROCESSOR_DB_POOL_MAX_SIZE"]["value"] == "9"
    assert by_kind(documents, "ConfigMap")["tds"]["data"]["LOG_LEVEL"] == "DEBUG"


def test_long_release_names_stay_within_dns_limits(render: Render) -> None:
    documents = render(sets={"fullnameOverride": "x" * 63})
    for doc in documents:
        assert len(doc["metadata"]["name"]) <= 63, doc["metadata"]["name"]


def test_operator_watches_exactly_the_namespaces_it_may_read(render: Render) -> None:
    default = render()
    operator = by_kind(default, "Deployment")["tds-bulk-sync-operator"]
    assert operator["spec"]["template"]["spec"]["containers"][0]["args"] == ["--namespace=tds"]
    documents = render(sets={"operator.watchNamespaces": "{tds,team-a}"})
    roles = {doc["metadata"]["namespace"] for doc in documents if doc["kind"] == "Role"}
    bindings = [doc for doc in documents if doc["kind"] == "RoleBinding"]
    assert roles == {"tds", "team-a"}
    assert {doc["metadata"]["namespace"] for doc in bindings} == roles
    assert all(doc["subjects"][0]["namespace"] == "tds" for doc in bindings)
    container = by_kind(documents, "Deployment")["tds-bulk-sync-operator"]["spec"]["template"]
    assert container["spec"]["containers"][0]["args"] == ["--namespace=tds", "--namespace=team-a"]


def test_packaged_chart_carries_its_files_but_not_ci_values(helm: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [str(helm), "package", str(CHART_DIR), "--destination", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    (archive,) = tmp_path.glob("tds-*.tgz")
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    for needed in (
        "tds/values.schema.json",
        "tds/files/crds/zohosyncs.tds.dev.yaml",
        *(f"tds/files/dashboards/{name}" for name in expected_files()),
        "tds/templates/NOTES.txt",
    ):
        assert needed in names
    assert not [name for name in names if name.startswith("tds/ci/")]


def test_the_tds_command_in_any_pod_finds_the_services(render: Render) -> None:
    """The shared ConfigMap (every service's envFrom) names each service's URL for ``tds``."""
    config = by_kind(render(), "ConfigMap")["tds"]["data"]
    assert config["TDS_INGEST_URL"] == "http://tds-ingest.tds.svc:8001"
    assert config["TDS_PROCESSOR_URL"] == "http://tds-processor.tds.svc:8002"
    assert config["TDS_BULK_SYNC_URL"] == "http://tds-bulk-sync.tds.svc:8003"
    assert config["ZOHO_PROXY_URL"] == "http://tds-zoho-proxy.tds.svc:8004"
    without = by_kind(render(sets={"bulkSync.enabled": False}), "ConfigMap")["tds"]["data"]
    assert "TDS_BULK_SYNC_URL" not in without  # a service not installed is not pointed at
    external_proxy = render(
        sets={"zohoProxy.enabled": False, "global.zohoProxyUrl": "http://proxy.example:8004"}
    )
    config = by_kind(external_proxy, "ConfigMap")["tds"]["data"]
    assert config["ZOHO_PROXY_URL"] == "http://proxy.example:8004"
    assert config["TDS_PROCESSOR_URL"] == "http://tds-processor.tds.svc:8002"  # not tied to it
