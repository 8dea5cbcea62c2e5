"""The ZohoSync CRD: one body for chart and kustomize, examples valid, bad specs refused."""

from __future__ import annotations

import copy

import pytest

from tests.unit.k8s.chartcheck import (
    CRD_FILE,
    REPO_ROOT,
    Document,
    custom_resource_errors,
    kubernetes_errors,
    load_documents,
    structural_schema_errors,
)
from tests.unit.k8s.conftest import KUBE_VERSION

EXAMPLES = sorted((REPO_ROOT / "k8s" / "examples").glob("*.yaml"))


def crd() -> Document:
    return load_documents([CRD_FILE])[0]


def examples() -> list[Document]:
    return [doc for doc in load_documents(EXAMPLES) if doc["kind"] == "ZohoSync"]


def test_kustomize_copy_is_identical_to_the_charts() -> None:
    copy_in_k8s = REPO_ROOT / "k8s" / "crds" / CRD_FILE.name
    assert copy_in_k8s.read_bytes() == CRD_FILE.read_bytes()


def test_crd_is_a_valid_kubernetes_object_with_status_subresource() -> None:
    definition = crd()
    assert kubernetes_errors([definition], KUBE_VERSION) == []
    assert definition["spec"]["group"] == "tds.dev"
    version = definition["spec"]["versions"][0]
    assert version["name"] == "v1alpha1"
    assert version["subresources"] == {"status": {}}
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert set(spec["properties"]) == {
        "organizationId",
        "entities",
        "mode",
        "ids",
        "schedule",
        "suspend",
    }
    assert spec["properties"]["mode"]["enum"] == ["full", "incremental", "selective"]


def test_crd_schema_is_structural() -> None:
    """The API server refuses additionalProperties beside properties (it prunes instead)."""
    assert structural_schema_errors(crd()) == []
    broken = copy.deepcopy(crd())
    spec = broken["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec["additionalProperties"] = False
    assert any("mutual exclusive" in error for error in structural_schema_errors(broken))


def test_examples_cover_every_mode_and_are_valid() -> None:
    found = examples()
    assert {doc["spec"]["mode"] for doc in found} == {"full", "incremental", "selective"}
    assert custom_resource_errors(found, crd()) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"mode": "sometimes"}, "'sometimes' is not one of"),
        ({"entities": ["orders"]}, "'orders' is not one of"),
        ({"entities": []}, "should be non-empty"),
        ({"organizationId": "org-1"}, "does not match"),
        ({"schedule": "every day"}, "does not match"),
        ({"suspend": "yes"}, "is not of type 'boolean'"),
        ({"entitys": ["products"]}, "Additional properties are not allowed"),
    ],
)
def test_bad_specs_are_refused(change: dict[str, object], expected: str) -> None:
    resource = copy.deepcopy(examples()[0])
    resource["spec"].update(change)
    errors = custom_resource_errors([resource], crd())
    assert any(expected in error for error in errors), errors


def test_wrong_group_is_refused() -> None:
    resource = copy.deepcopy(examples()[0])
    resource["apiVersion"] = "tds.example/v1alpha1"
    assert custom_resource_errors([resource], crd())
