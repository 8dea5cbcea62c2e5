"""skaffold.yaml, checked structurally (skaffold itself cannot be installed here: the Go module
proxy refuses its module, and no other registry carries it).

What skaffold would check at run time is checked against the repository instead: Dockerfiles and
contexts exist, every image the chart runs is built, the values it sets exist in the chart's
schema, file sync targets the installed packages, and port-forwards reach real Services.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.k8s.chartcheck import CHART_DIR, REPO_ROOT, Document
from tests.unit.k8s.conftest import DEV_VALUES, Render, by_kind
from tests.unit.k8s.values_cases import VALUES_FILE, load_yaml, merge, schema_errors

# The first test to need helm (or uv's package cache) may build it: minutes on a cold machine.
pytestmark = pytest.mark.timeout(900)


API_VERSION = "skaffold/v4beta11"
IMAGES = {"tds-ingest", "tds-processor", "tds-bulk-sync", "tds-zoho-proxy", "tds-zoho-sim"}


def configs() -> dict[str, Document]:
    with (REPO_ROOT / "skaffold.yaml").open(encoding="utf-8") as handle:
        return {doc["metadata"]["name"]: doc for doc in yaml.safe_load_all(handle)}


def profile(config: Document, name: str) -> Document:
    found: Document = next(p for p in config["profiles"] if p["name"] == name)
    return found


def nested(keys: str, value: str) -> dict[str, Any]:
    """``a.b.c`` = value as nested mappings (helm --set semantics, no lists)."""
    result: dict[str, Any] = {}
    cursor = result
    *path, last = keys.split(".")
    for key in path:
        cursor = cursor.setdefault(key, {})
    cursor[last] = value
    return result


def test_one_config_per_image_and_one_that_deploys() -> None:
    found = configs()
    assert all(config["apiVersion"] == API_VERSION for config in found.values())
    assert all(config["kind"] == "Config" for config in found.values())
    assert found["tds"]["requires"] == [
        {"configs": sorted(set(found) - {"tds"}, key=list(found).index)}
    ]
    images = set()
    for name, config in found.items():
        if name == "tds":
            continue
        for build in (config["build"], profile(config, "dev")["build"]):
            assert build["tagPolicy"] == {"gitCommit": {}}
            (artifact,) = build["artifacts"]
            assert artifact["context"] == "."  # the uv workspace needs the root lock
            assert (REPO_ROOT / artifact["docker"]["dockerfile"]).is_file()
            assert artifact["image"] == f"tds-{artifact['docker']['buildArgs']['PACKAGE']}"
            images.add(artifact["image"])
        # The dev image is the same package as the production one.
        dev_artifact = profile(config, "dev")["build"]["artifacts"][0]
        assert (
            dev_artifact["docker"]["buildArgs"]
            == config["build"]["artifacts"][0]["docker"]["buildArgs"]
        )
        assert profile(config, "dev")["build"]["artifacts"][0]["docker"]["target"] == "dev"
    assert images == IMAGES


def test_dev_file_sync_targets_the_installed_packages() -> None:
    for name, config in configs().items():
        if name == "tds":
            continue
        (artifact,) = profile(config, "dev")["build"]["artifacts"]
        rules = artifact["sync"]["manual"]
        assert rules
        for rule in rules:
            source_dir = rule["strip"].rstrip("/")
            assert rule["src"] == f"{source_dir}/**/*.py"
            assert (REPO_ROOT / source_dir / "__init__.py").is_file(), source_dir
            package = Path(source_dir).name
            assert rule["dest"] == f"/app/.venv/lib/python3.11/site-packages/{package}"
            # The dev stage lets the app user write exactly the synced packages.
            assert package in artifact["docker"]["buildArgs"]["DEV_PACKAGES"].split()
        assert len(rules) == len(artifact["docker"]["buildArgs"]["DEV_PACKAGES"].split())


def test_helm_releases_set_only_values_the_chart_accepts() -> None:
    tds = configs()["tds"]
    defaults = load_yaml(VALUES_FILE)
    releases = [
        (tds["deploy"]["helm"]["releases"][0], []),
        (profile(tds, "dev")["deploy"]["helm"]["releases"][0], [DEV_VALUES]),
    ]
    for release, values_files in releases:
        assert (REPO_ROOT / release["chartPath"]).resolve() == CHART_DIR
        for path in release.get("valuesFiles", []):
            assert REPO_ROOT / path in values_files
        values = defaults
        for path in values_files:
            values = merge(values, load_yaml(path))
        templates = release["setValueTemplates"]
        for key, template in templates.items():
            # Skaffold fills these in; a plausible local image reference stands in for them.
            filled = template.replace("{{.IMAGE_REPO_", "localhost:5000/").replace(
                "{{.IMAGE_TAG_", ""
            )
            filled = filled.replace("}}", "")
            values = merge(
                values, nested(key, filled.split("/")[-1] if key.endswith(".tag") else filled)
            )
        assert schema_errors(values) == []
        # Every image the chart runs comes from a skaffold artifact.
        for component in ("ingest", "processor", "bulkSync", "operator", "zohoProxy", "zohoSim"):
            assert f"{component}.image.repository" in templates
            assert f"{component}.image.tag" in templates


def test_dev_profile_brings_dependencies_simulator_and_port_forwards(render: Render) -> None:
    dev = profile(configs()["tds"], "dev")
    assert dev["activation"] == [{"command": "dev"}]
    hooks = [hook["host"]["command"] for hook in dev["deploy"]["helm"]["hooks"]["before"]]
    assert hooks[0] == ["kubectl", "apply", "-k", "k8s"]
    assert (REPO_ROOT / "k8s" / "kustomization.yaml").is_file()
    release = dev["deploy"]["helm"]["releases"][0]
    assert release["namespace"] == "tds-dev"
    assert load_yaml(DEV_VALUES)["zohoSim"]["enabled"] is True
    services = by_kind(render(DEV_VALUES), "Service")
    forwards = {(f["resourceName"], f["port"]) for f in dev["portForward"]}
    assert forwards == {
        (name, service["spec"]["ports"][0]["port"]) for name, service in services.items()
    }
    assert {port for _, port in forwards} == {8001, 8002, 8003, 8004, 8090}
