"""The chart's security wiring: egress denied but for what each component needs, Kafka
authenticated by Secret reference, and the migration and runtime database roles apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.k8s.chartcheck import Document
from tests.unit.k8s.conftest import PRODUCTION_VALUES, Render, by_kind, env_of, helm_template
from tests.unit.k8s.test_settings_from_chart import SECRET_VALUES, settings_for

pytestmark = pytest.mark.timeout(900)

DNS = "dns"


def _destinations(policy: Document) -> set[str]:
    """Where a NetworkPolicy lets its pods connect, as short names."""
    found: set[str] = set()
    for rule in policy["spec"]["egress"]:
        ports = {port["port"] for port in rule.get("ports", [])}
        for peer in rule.get("to", []):
            if 53 in ports:
                found.add(DNS)
            elif (
                component := peer.get("podSelector", {})
                .get("matchLabels", {})
                .get("app.kubernetes.io/component")
            ):
                if "namespaceSelector" not in peer:
                    found.add(f"{component}:{sorted(ports)}")
            elif "ipBlock" in peer:
                found.add(f"{peer['ipBlock']['cidr']}:{sorted(ports)}")
            else:
                namespace = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                found.add(f"{namespace}:{sorted(ports)}")
    return found


@pytest.fixture(scope="module", name="production")
def fixture_production(render: Render) -> list[Document]:
    return render(PRODUCTION_VALUES)


def test_each_component_reaches_only_what_it_needs(production: list[Document]) -> None:
    policies = by_kind(production, "NetworkPolicy")
    kafka, database = "kafka:[9093]", "databases:[5432]"
    zoho = {"203.0.113.0/24:[443]", "198.51.100.0/24:[443]"}
    assert {name: _destinations(policy) for name, policy in policies.items()} == {
        "tds-ingest": {DNS, kafka},
        "tds-processor": {DNS, kafka, database, "zoho-proxy:[8004]"},
        "tds-bulk-sync": {DNS, kafka, database, "zoho-proxy:[8004]"},
        "tds-zoho-proxy": {DNS, database, *zoho},
        "tds-bulk-sync-operator": {DNS, "bulk-sync:[8003]", "172.20.0.10/32:[443, 6443]"},
    }
    for name, policy in policies.items():
        assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"], name


def test_egress_is_denied_by_default_with_no_open_internet(render: Render) -> None:
    """With default values nobody may reach 0.0.0.0/0: not the internet-facing ingest, not the
    operator (whose API server address is the user's to give)."""
    policies = by_kind(render(), "NetworkPolicy")
    assert set(policies) == {
        "tds-ingest",
        "tds-processor",
        "tds-bulk-sync",
        "tds-zoho-proxy",
        "tds-bulk-sync-operator",
    }
    for name, policy in policies.items():
        assert "Egress" in policy["spec"]["policyTypes"], name
        for rule in policy["spec"]["egress"]:
            for peer in rule.get("to", []):
                assert "ipBlock" not in peer, (name, peer)
    assert _destinations(policies["tds-ingest"]) == {DNS, "tds-dev:[9092]"}
    assert _destinations(policies["tds-bulk-sync-operator"]) == {DNS, "bulk-sync:[8003]"}


def test_zoho_cidrs_are_the_proxys_alone_and_unneeded_with_the_simulator(render: Render) -> None:
    sets: dict[str, str | int | bool] = {"networkPolicy.egress.zohoCidrs[0]": "192.0.2.0/24"}
    policies = by_kind(render(sets=sets), "NetworkPolicy")
    with_cidrs = {name for name, p in policies.items() if "192.0.2.0/24:[443]" in _destinations(p)}
    assert with_cidrs == {"tds-zoho-proxy"}
    simulated = by_kind(render(sets={**sets, "zohoSim.enabled": True}), "NetworkPolicy")
    assert _destinations(simulated["tds-zoho-proxy"]) == {DNS, "tds-dev:[5432]", "zoho-sim:[8090]"}


def test_kafka_credentials_reach_only_kafka_clients_by_secret_reference(
    production: list[Document],
) -> None:
    deployments = by_kind(production, "Deployment")
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        env = env_of(pod["containers"][0])
        if name in {"tds-ingest", "tds-processor", "tds-bulk-sync"}:
            assert env["KAFKA__SECURITY_PROTOCOL"]["value"] == "SASL_SSL"
            assert env["KAFKA__SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
                "name": "tds",
                "key": "password",
            }
            assert env["KAFKA__SSL_CA_FILE"]["value"] == "/etc/tds/kafka/ca/ca.crt"
            mounts = {m["name"]: m for m in pod["containers"][0]["volumeMounts"]}
            assert mounts["kafka-ca"] == {
                "name": "kafka-ca",
                "mountPath": "/etc/tds/kafka/ca",
                "readOnly": True,
            }
            volumes = {v["name"]: v for v in pod["volumes"]}
            assert volumes["kafka-ca"]["secret"]["secretName"] == "tds-kafka-cluster-ca-cert"
        else:
            assert not any(key.startswith("KAFKA__") for key in env), name


def test_a_service_reads_the_chart_kafka_settings(
    monkeypatch: pytest.MonkeyPatch, production: list[Document]
) -> None:
    container = by_kind(production, "Deployment")["tds-processor"]["spec"]["template"]["spec"][
        "containers"
    ][0]
    for entry in container["env"]:  # stand-ins for Secrets the shared table does not know
        if ref := entry.get("valueFrom", {}).get("secretKeyRef"):
            monkeypatch.setitem(SECRET_VALUES, ref["key"], SECRET_VALUES.get(ref["key"], "x" * 40))
    monkeypatch.setitem(SECRET_VALUES, "password", "a-scram-password")
    kafka = settings_for(monkeypatch, production, "tds-processor").kafka
    assert kafka.security_protocol == "SASL_SSL"
    assert (kafka.sasl_username, kafka.sasl_password.get_secret_value()) == (
        "tds",
        "a-scram-password",
    )
    assert str(kafka.ssl_ca_file) == "/etc/tds/kafka/ca/ca.crt"
    assert (kafka.replication_factor, kafka.min_insync_replicas) == (3, 2)


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (
            {"global.kafka.security.protocol": "SASL_SSL"},
            "global.kafka.security.sasl.username is required",
        ),
        (
            {
                "global.kafka.security.protocol": "SASL_SSL",
                "global.kafka.security.sasl.username": "u",
            },
            "global.kafka.security.sasl.existingSecret is required",
        ),
        ({"global.kafka.security.tls.caSecret": "ca"}, "uses no TLS"),
        ({"networkPolicy.egress.zohoCidrs[0]": "zoho.com"}, "zohoCidrs"),
        ({"global.kafka.security.protocol": "TLS"}, "protocol"),
    ],
)
def test_helm_refuses_incomplete_security(
    helm: Path, sets: dict[str, str | int | bool], message: str
) -> None:
    result = helm_template(helm, sets=sets)
    assert result.returncode != 0
    assert message in result.stderr


def test_migrations_run_as_the_migration_role_and_services_as_the_runtime_role(
    production: list[Document],
) -> None:
    job = by_kind(production, "Job")["tds-migrate"]
    job_env = env_of(job["spec"]["template"]["spec"]["containers"][0])
    assert job_env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "tds-database-migrations",
        "key": "MIGRATION_DATABASE_URL",
    }
    holders = set()
    for name, deployment in by_kind(production, "Deployment").items():
        env = env_of(deployment["spec"]["template"]["spec"]["containers"][0])
        if "DATABASE_URL" in env:
            holders.add(name)
            assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
                "name": "tds-database",
                "key": "DATABASE_URL",
            }
    # ingest and the operator never touch PostgreSQL: they get no credentials for it.
    assert holders == {"tds-processor", "tds-bulk-sync", "tds-zoho-proxy"}


def test_the_migration_dsn_defaults_to_the_services_secret(render: Render) -> None:
    job = by_kind(render(), "Job")["tds-migrate"]
    env = env_of(job["spec"]["template"]["spec"]["containers"][0])
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "tds-database",
        "key": "MIGRATION_DATABASE_URL",
    }
