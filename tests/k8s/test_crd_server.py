"""The API server itself validates the ZohoSync CRD, its CEL rule and the shipped examples.

Users see these messages from ``kubectl apply``; the offline checks in tests/unit/k8s read the
schema as JSON Schema and cannot evaluate CEL, so the server has the last word here. Every
request is a server-side dry run, which stores nothing, so the module's tests share one CRD and
one namespace (the refusals check that nothing was stored there).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.k8s.conftest import CRD_NAME, Cluster, CommandFailed, applied_crd, own_namespace
from tests.unit.k8s.chartcheck import REPO_ROOT

EXAMPLES = sorted((REPO_ROOT / "k8s" / "examples").glob("*.yaml"))


@pytest.fixture(scope="module", name="crd")
def fixture_crd(cluster: Cluster) -> Iterator[Path]:
    with applied_crd(cluster) as path:
        yield path


@pytest.fixture(scope="module", name="namespace")
def fixture_namespace(cluster: Cluster) -> Iterator[str]:
    with own_namespace(cluster) as name:
        yield name


def _examples() -> list[dict[str, object]]:
    docs = [doc for path in EXAMPLES for doc in yaml.safe_load_all(path.read_text()) if doc]
    return [doc for doc in docs if doc["kind"] == "ZohoSync"]


def _dry_run(cluster: Cluster, namespace: str, resource: dict[str, object]) -> str:
    return cluster.kubectl(
        "apply",
        "--dry-run=server",
        "--validate=strict",
        "-n",
        namespace,
        "-f",
        "-",
        stdin=yaml.safe_dump(resource),
    )


def test_the_api_server_accepts_the_crd_as_structural_with_its_cel_rule(
    cluster: Cluster, crd: Path
) -> None:
    established = cluster.kubectl_json("get", "crd", CRD_NAME)
    conditions = {c["type"]: c["status"] for c in established["status"]["conditions"]}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    assert "NonStructuralSchema" not in conditions


def test_every_example_passes_server_side_dry_run(
    cluster: Cluster, crd: Path, namespace: str
) -> None:
    examples = _examples()
    assert {doc["spec"]["mode"] for doc in examples} == {"full", "incremental", "selective"}  # type: ignore[index]
    for example in examples:
        assert "created (server dry run)" in _dry_run(cluster, namespace, example)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mode": "sometimes"}, 'spec.mode: Unsupported value: "sometimes"'),
        ({"entities": ["orders"]}, 'spec.entities[0]: Unsupported value: "orders"'),
        ({"entities": []}, "spec.entities in body should have at least 1 items"),
        ({"organizationId": "org-1"}, "spec.organizationId in body should match '^[0-9]{1,32}$'"),
        ({"schedule": "every day"}, 'spec.schedule: Invalid value: "every day"'),
        # Five fields, so the pattern passes; the CEL rule reads each field's range.
        ({"schedule": "61 25 * * *"}, 'spec.schedule: Invalid value: "string": schedule must'),
        ({"schedule": "0 0 * * 8"}, "day of week 0-7 or sun-sat"),
        ({"schedule": "*/0 * * * *"}, "schedule must be @hourly"),
        ({"suspend": "yes"}, "spec.suspend in body must be of type boolean"),
        ({"mode": "selective", "ids": []}, "mode selective needs at least one id in spec.ids"),
        ({"mode": "selective"}, "mode selective needs at least one id in spec.ids"),
        ({"entitys": ["products"]}, 'unknown field "spec.entitys"'),
    ],
)
def test_bad_zohosyncs_are_refused_with_the_message_users_see(
    cluster: Cluster, crd: Path, namespace: str, change: dict[str, object], message: str
) -> None:
    resource = copy.deepcopy(next(doc for doc in _examples() if doc["spec"]["mode"] == "full"))  # type: ignore[index]
    spec = resource["spec"]
    assert isinstance(spec, dict)
    spec.pop("ids", None)
    spec.update(change)
    with pytest.raises(CommandFailed) as refused:
        _dry_run(cluster, namespace, resource)
    assert message in refused.value.stderr
    assert cluster.kubectl("get", "zohosyncs", "-n", namespace, "-o", "name") == ""


def test_a_zohosync_of_another_group_is_unknown_to_the_server(
    cluster: Cluster, crd: Path, namespace: str
) -> None:
    resource = copy.deepcopy(_examples()[0])
    resource["apiVersion"] = "tds.example/v1alpha1"
    with pytest.raises(CommandFailed) as refused:
        _dry_run(cluster, namespace, resource)
    assert (
        'no matches for kind "ZohoSync" in version "tds.example/v1alpha1"' in refused.value.stderr
    )


@pytest.mark.parametrize(
    "schedule",
    [
        "",
        "@daily",
        "0 3 * * *",
        "*/15 1-5 * jan-mar mon,fri",
        "0  0 1,15 */2 0-7/2",
        "0 0 30 2 *",
    ],  # February 30th: in range, so the operator reports it (test_operator_process)
)
def test_schedules_in_range_are_admitted(
    cluster: Cluster, crd: Path, namespace: str, schedule: str
) -> None:
    resource = copy.deepcopy(next(doc for doc in _examples() if doc["spec"]["mode"] == "full"))  # type: ignore[index]
    resource["spec"]["schedule"] = schedule  # type: ignore[index]
    assert "created (server dry run)" in _dry_run(cluster, namespace, resource)
