"""The chart rendered for production: hardened, sized, pinned, probed, and draining gracefully."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.unit.k8s.chartcheck import (
    Document,
    kubernetes_errors,
    operator_resource_errors,
    pod_templates,
    policy_errors,
)
from tests.unit.k8s.conftest import KUBE_VERSION, by_kind, env_of

# The first test to need helm (or uv's package cache) may build it: minutes on a cold machine.
pytestmark = pytest.mark.timeout(900)


SERVICES = {
    "tds-ingest": 8001,
    "tds-processor": 8002,
    "tds-bulk-sync": 8003,
    "tds-zoho-proxy": 8004,
}


def containers(documents: list[Document]) -> list[tuple[Document, Document, Document]]:
    """(object, pod spec, container) for every container the release runs."""
    found = []
    for doc in documents:
        for pod in pod_templates(doc):
            for container in [*pod.get("initContainers", []), *pod["containers"]]:
                found.append((doc, pod, container))
    return found


def test_production_renders_every_component(production: list[Document]) -> None:
    deployments = by_kind(production, "Deployment")
    assert set(deployments) == {*SERVICES, "tds-bulk-sync-operator"}
    assert set(by_kind(production, "Service")) == set(SERVICES)
    assert set(by_kind(production, "Ingress")) == {"tds-ingest"}
    assert by_kind(production, "ScaledObject")
    assert by_kind(production, "PrometheusRule")
    assert by_kind(production, "ServiceMonitor")


def test_no_container_runs_as_root(production: list[Document]) -> None:
    checked = containers(production)
    assert len(checked) >= 7  # five Deployments, the migration Job, the helm test Pod
    for doc, pod, container in checked:
        pod_ctx, ctx = pod.get("securityContext", {}), container.get("securityContext", {})
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        assert ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot")) is True, where
        assert ctx.get("runAsUser", pod_ctx.get("runAsUser")) not in (None, 0), where
        assert ctx["allowPrivilegeEscalation"] is False, where
        assert ctx["readOnlyRootFilesystem"] is True, where
        assert ctx["capabilities"]["drop"] == ["ALL"], where
        assert ctx["seccompProfile"]["type"] == "RuntimeDefault", where


def test_every_container_has_requests_and_limits(production: list[Document]) -> None:
    for doc, _, container in containers(production):
        for section in ("requests", "limits"):
            assert set(container["resources"][section]) >= {"cpu", "memory"}, doc["metadata"]


def test_no_latest_tag_and_images_pinned(production: list[Document]) -> None:
    for _, _, container in containers(production):
        image = container["image"]
        assert image.startswith("registry.example.com/tds/"), image
        assert ":latest" not in image
        assert ":0.1.0" in image, image
    ingest = by_kind(production, "Deployment")["tds-ingest"]
    assert "@sha256:" in ingest["spec"]["template"]["spec"]["containers"][0]["image"]


def test_probes_on_every_long_running_container(production: list[Document]) -> None:
    for name, deployment in by_kind(production, "Deployment").items():
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            liveness = container["livenessProbe"]["httpGet"]
            readiness = container["readinessProbe"]["httpGet"]
            if name == "tds-bulk-sync-operator":
                assert liveness["path"] == readiness["path"] == "/healthz"
            else:
                assert (liveness["path"], readiness["path"]) == ("/health", "/ready"), name
            assert liveness["port"] == readiness["port"] == "http"


def test_grace_period_covers_prestop_and_shutdown_budget(production: list[Document]) -> None:
    for name, deployment in by_kind(production, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        budget = next(
            float(value["value"])
            for key, value in env_of(container).items()
            if key.endswith("SHUTDOWN_TIMEOUT_SECONDS")
        )
        pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
        assert pod["terminationGracePeriodSeconds"] > pre_stop + budget, name


def test_rollouts_never_lose_capacity(production: list[Document]) -> None:
    for name, deployment in by_kind(production, "Deployment").items():
        strategy = deployment["spec"]["strategy"]
        if name == "tds-bulk-sync-operator":
            # kopf without peering must never run twice: stop the old pod first.
            assert strategy == {"type": "Recreate"}
            assert deployment["spec"]["replicas"] == 1
        else:
            assert strategy["rollingUpdate"]["maxUnavailable"] == 0, name


def test_services_listen_on_all_interfaces_on_their_port(production: list[Document]) -> None:
    deployments = by_kind(production, "Deployment")
    services = by_kind(production, "Service")
    for name, port in SERVICES.items():
        container = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        env = env_of(container)
        prefix = name.removeprefix("tds-").replace("-", "_").upper() + "_"
        assert env[f"{prefix}HOST"]["value"] == "0.0.0.0"
        assert env[f"{prefix}PORT"]["value"] == str(port)
        assert container["ports"][0]["containerPort"] == port
        assert services[name]["spec"]["ports"][0]["port"] == port


def test_credentials_only_by_secret_reference_and_only_where_needed(
    production: list[Document],
) -> None:
    zoho = {"ZOHO_CLIENT_ID", "ZOHO_CLIENT_SECRET", "ZOHO_REFRESH_TOKEN"}
    webhooks = {"WEBHOOK_SECRETS", "INGEST_WEBHOOK_HMAC_SECRETS"}
    proxy_keys = {"ZOHO_PROXY_TOKEN_ENCRYPTION_KEY", "ZOHO_PROXY_TOKEN_ENCRYPTION_OLD_KEYS"}
    secret_names = {*zoho, *webhooks, "DATABASE_URL", *proxy_keys}
    for doc, _, container in containers(production):
        env = env_of(container)
        for name in secret_names & set(env):
            assert "value" not in env[name], (doc["metadata"]["name"], name)
            assert env[name]["valueFrom"]["secretKeyRef"]["name"], name
        owner = doc["metadata"]["name"]
        # zoho-proxy is the only holder of Zoho credentials; only ingest sees webhook secrets.
        assert (zoho <= set(env)) == (owner == "tds-zoho-proxy"), owner
        assert (webhooks <= set(env)) == (owner == "tds-ingest"), owner
        assert (proxy_keys <= set(env)) == (owner == "tds-zoho-proxy"), owner
    for config in by_kind(production, "ConfigMap").values():
        assert not secret_names & set(config.get("data", {}))


def test_scaling_is_capped_at_the_partition_count(production: list[Document]) -> None:
    scaled = by_kind(production, "ScaledObject")["tds-processor"]["spec"]
    assert scaled["maxReplicaCount"] == 12
    trigger = scaled["triggers"][0]
    assert trigger["type"] == "kafka"
    assert trigger["metadata"]["consumerGroup"] == "tds-processor"
    assert trigger["metadata"]["topic"] == "tds.zoho.events"
    # With KEDA on, KEDA owns the processor's HPA; a second one would fight it.
    assert "tds-processor" not in by_kind(production, "HorizontalPodAutoscaler")
    processor = by_kind(production, "Deployment")["tds-processor"]
    group = env_of(processor["spec"]["template"]["spec"]["containers"][0])
    assert group["PROCESSOR_CONSUMER__GROUP_ID"]["value"] == "tds-processor"


def test_only_the_operator_talks_to_the_kubernetes_api(production: list[Document]) -> None:
    for name, deployment in by_kind(production, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is (name == "tds-bulk-sync-operator"), name
    role = by_kind(production, "Role")["tds-bulk-sync-operator"]
    verbs = {verb for rule in role["rules"] for verb in rule["verbs"]}
    assert verbs <= {"get", "list", "watch", "patch", "update", "create"}
    assert all("*" not in rule["resources"] for rule in role["rules"])
    cluster_role = next(iter(by_kind(production, "ClusterRole").values()))
    assert {verb for rule in cluster_role["rules"] for verb in rule["verbs"]} == {
        "get",
        "list",
        "watch",
    }


def test_network_policies_admit_only_known_callers(production: list[Document]) -> None:
    policies = by_kind(production, "NetworkPolicy")
    assert set(policies) == {*SERVICES, "tds-bulk-sync-operator"}
    proxy_peers = policies["tds-zoho-proxy"]["spec"]["ingress"][0]["from"]
    components = {
        peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
        for peer in proxy_peers
        if "podSelector" in peer and "namespaceSelector" not in peer
    }
    assert components == {"test", "processor", "bulk-sync", "bulk-sync-operator"}
    assert policies["tds-bulk-sync-operator"]["spec"]["ingress"] == []
    assert "Egress" in policies["tds-ingest"]["spec"]["policyTypes"]
    # With egress restricted, the operator still reaches the API server; nobody else does.
    for name, policy in policies.items():
        ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule.get("ports", [])}
        assert (6443 in ports) == (name == "tds-bulk-sync-operator"), name


def test_migrations_run_before_install_and_upgrade(production: list[Document]) -> None:
    job = by_kind(production, "Job")["tds-migrate"]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "-m", "tds_common.migrate"]
    # The migration role's DSN (the services have the runtime role's: test_chart_security).
    assert env_of(container)["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == (
        "tds-database-migrations"
    )


def test_helm_test_asks_every_service_for_ready(production: list[Document]) -> None:
    pod = by_kind(production, "Pod")["tds-test-ready"]
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    urls = pod["spec"]["containers"][0]["args"]
    assert urls == [f"http://{name}.tds.svc:{port}/ready" for name, port in SERVICES.items()]


def test_dashboards_and_alerts_carry_configurable_labels(production: list[Document]) -> None:
    dashboards = [
        doc
        for doc in by_kind(production, "ConfigMap").values()
        if doc["metadata"]["labels"].get("grafana_dashboard") == "1"
    ]
    assert len(dashboards) == 5  # one per concern (tests/unit/k8s/test_dashboards.py)
    assert {doc["metadata"]["namespace"] for doc in dashboards} == {"monitoring"}
    rule = by_kind(production, "PrometheusRule")["tds"]
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    alerts = [r for group in rule["spec"]["groups"] for r in group["rules"]]
    assert all(
        r["labels"]["team"] == "data-platform"
        for r in alerts
        if r["alert"] != "TdsWebhooksRejectedMany"
    )


def test_policy_check_is_not_vacuous(production: list[Document]) -> None:
    """The checks lint-k8s relies on do fail on a root container and an unknown field."""
    assert policy_errors(production) == []
    broken = copy.deepcopy(by_kind(production, "Deployment")["tds-ingest"])
    container = broken["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"]["runAsUser"] = 0
    del container["resources"]["limits"]
    del container["readinessProbe"]
    container["image"] = "tds-ingest:latest"
    errors = "\n".join(policy_errors([broken]))
    for expected in ("runAsUser is 0", "resources.limits.cpu", "readinessProbe", "'latest'"):
        assert expected in errors
    assert kubernetes_errors([broken], KUBE_VERSION) == []
    container["livenessProbe"]["httpGett"] = {}
    assert "httpGett" in "\n".join(kubernetes_errors([broken], KUBE_VERSION))


@pytest.mark.parametrize(
    ("kind", "path", "typo"),
    [
        ("ScaledObject", ("spec",), "pollingIntervall"),
        ("ScaledObject", ("spec", "triggers", 0, "metadata"), "lagTreshold"),
        ("ServiceMonitor", ("spec", "endpoints", 0), "intervall"),
        ("PrometheusRule", ("spec", "groups", 0, "rules", 0), "fore"),
    ],
)
def test_operator_objects_refuse_misspelt_fields(
    production: list[Document], kind: str, path: tuple[str | int, ...], typo: str
) -> None:
    (doc,) = copy.deepcopy(list(by_kind(production, kind).values()))
    assert operator_resource_errors([doc]) == []
    target: Any = doc
    for key in path:
        target = target[key]
    target[typo] = "1"
    assert typo in "\n".join(operator_resource_errors([doc]))


def test_operator_reaches_bulk_sync_and_holds_no_credentials(production: list[Document]) -> None:
    operator = by_kind(production, "Deployment")["tds-bulk-sync-operator"]
    env = env_of(operator["spec"]["template"]["spec"]["containers"][0])
    assert env["BULK_SYNC_API_URL"]["value"] == "http://tds-bulk-sync.tds.svc:8003"
    # Its bearer token for bulk-sync's API, and nothing else secret (no database, no Zoho).
    secrets = {
        name: entry["valueFrom"]["secretKeyRef"]["name"]
        for name, entry in env.items()
        if "valueFrom" in entry
    }
    assert secrets == {"BULK_SYNC_API_TOKEN": "tds-operator-auth"}
    rule = by_kind(production, "NetworkPolicy")["tds-bulk-sync"]["spec"]["ingress"][0]
    callers = {
        peer["podSelector"]["matchLabels"].get("app.kubernetes.io/component")
        for peer in rule["from"]
        if "podSelector" in peer
    }
    assert "bulk-sync-operator" in callers


SCRAPED = ("tds-ingest", "tds-processor", "tds-bulk-sync", "tds-zoho-proxy")


def test_the_monitoring_namespace_reaches_the_metrics_port_only(
    production: list[Document],
) -> None:
    """Before, networkPolicy.metricsFrom's peers were let in to the whole API port (issue 17)."""
    monitoring = {"kubernetes.io/metadata.name": "monitoring"}
    for name in SCRAPED:
        rules = by_kind(production, "NetworkPolicy")[name]["spec"]["ingress"]
        for rule in rules:
            from_monitoring = any(
                peer.get("namespaceSelector", {}).get("matchLabels") == monitoring
                for peer in rule["from"]
            )
            ports = {port["port"] for port in rule["ports"]}
            assert ports == ({"metrics"} if from_monitoring else {"http"}), (name, rule)
        assert any(port["port"] == "metrics" for rule in rules for port in rule["ports"]), name
        container = by_kind(production, "Deployment")[name]["spec"]["template"]["spec"][
            "containers"
        ][0]
        assert {"name": "metrics", "containerPort": 9090, "protocol": "TCP"} in container["ports"]
        assert container["livenessProbe"]["httpGet"]["port"] == "http"  # health stays open
        prefix = name.removeprefix("tds-").replace("-", "_").upper()
        assert env_of(container)[f"{prefix}_METRICS_PORT"]["value"] == "9090"
        service_ports = by_kind(production, "Service")[name]["spec"]["ports"]
        assert {p["name"]: p["targetPort"] for p in service_ports} == {
            "http": "http",
            "metrics": "metrics",
        }
    (monitor,) = by_kind(production, "ServiceMonitor").values()
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == ["metrics"]


def test_each_component_gets_its_own_tokens_and_no_other(production: list[Document]) -> None:
    """zoho-proxy, the processor's and bulk-sync's APIs were open to any pod that reached them."""
    expected = {
        "tds-zoho-proxy": {"ZOHO_PROXY_CLIENT_TOKENS", "ZOHO_PROXY_WRITER_TOKENS"},
        "tds-processor": {"PROCESSOR_PROXY__TOKEN", "PROCESSOR_API_TOKENS"},
        "tds-bulk-sync": {"BULK_SYNC_PROXY__TOKEN", "BULK_SYNC_API_TOKENS"},
        "tds-bulk-sync-operator": {"BULK_SYNC_API_TOKEN"},
        "tds-ingest": set(),
    }
    secrets = {
        "tds-zoho-proxy": "tds-zoho-proxy-auth",
        "tds-processor": "tds-processor-auth",
        "tds-bulk-sync": "tds-bulk-sync-auth",
        "tds-bulk-sync-operator": "tds-operator-auth",
    }
    for name, keys in expected.items():
        container = by_kind(production, "Deployment")[name]["spec"]["template"]["spec"][
            "containers"
        ][0]
        env = env_of(container)
        tokens = {k for k in env if k.endswith(("_TOKEN", "_TOKENS")) and "ZOHO_REFRESH" not in k}
        assert tokens == keys, name
        for key in keys:
            assert env[key]["valueFrom"]["secretKeyRef"] == {"name": secrets[name], "key": key}
