"""skaffold.yaml, checked by skaffold itself and structurally.

The real skaffold (``make skaffold`` builds it once per machine) parses every config
(``skaffold diagnose --yaml-only``) and renders the chart as a deploy would (``skaffold render``,
offline, with a fixed tag instead of building images). What skaffold only checks when it builds
or deploys is checked against the repository: Dockerfiles and contexts exist, the values it sets
exist in the chart's schema, file sync targets the installed packages, and port-forwards reach
real Services.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.k8s.chartcheck import CHART_DIR, REPO_ROOT, Document
from tests.unit.k8s.conftest import DEV_VALUES, Render, by_kind, run_make
from tests.unit.k8s.values_cases import VALUES_FILE, load_yaml, merge, schema_errors

# The first test to need helm or skaffold (or uv's package cache) may build it: minutes on a cold
# machine.
pytestmark = pytest.mark.timeout(900)


API_VERSION = "skaffold/v4beta11"
IMAGES = {"tds-ingest", "tds-processor", "tds-bulk-sync", "tds-zoho-proxy", "tds-zoho-sim"}
TAG = "test-tag"


@pytest.fixture(scope="session", name="skaffold")
def fixture_skaffold(helm: Path) -> Path:
    """The pinned skaffold binary (``make skaffold``); it runs the helm beside it."""
    result = run_make("skaffold")
    assert result.returncode == 0, result.stdout + result.stderr
    binary = REPO_ROOT / ".local" / "bin" / "skaffold"
    assert binary.is_file() and binary.parent == helm.parent
    return binary


def run_skaffold(skaffold: Path, *args: str) -> list[Document]:
    """Run skaffold in the repository root; the documents it printed (fails the test on error)."""
    env = {
        **os.environ,
        # skaffold runs `helm` from PATH: the pinned one, not whatever the machine has.
        "PATH": f"{skaffold.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "SKAFFOLD_UPDATE_CHECK": "false",
    }
    result = subprocess.run(
        [str(skaffold), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def skaffold_render(skaffold: Path, *profiles: str) -> list[Document]:
    """``skaffold render`` without building: every image gets TAG, no registry is asked."""
    args = ["render", "--offline=true", "--digest-source=tag", "-t", TAG]
    for name in profiles:
        args += ["-p", name]
    return run_skaffold(skaffold, *args)


def deployment_images(documents: list[Document]) -> dict[str, set[str]]:
    """Each Deployment's name and the images of its containers (init containers included)."""
    found = {}
    for doc in documents:
        if doc["kind"] != "Deployment":
            continue
        pod = doc["spec"]["template"]["spec"]
        containers = pod["containers"] + pod.get("initContainers", [])
        found[doc["metadata"]["name"]] = {container["image"] for container in containers}
    return found


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


# The image each Deployment runs: the operator is the bulk-sync package's second entry point.
DEPLOYMENT_IMAGES = {
    "tds-ingest": "tds-ingest",
    "tds-processor": "tds-processor",
    "tds-bulk-sync": "tds-bulk-sync",
    "tds-bulk-sync-operator": "tds-bulk-sync",
    "tds-zoho-proxy": "tds-zoho-proxy",
}


def namespaces(documents: list[Document]) -> set[str]:
    return {doc["metadata"]["namespace"] for doc in documents if "namespace" in doc["metadata"]}


def test_skaffold_diagnose_reads_every_config(skaffold: Path) -> None:
    parsed = run_skaffold(skaffold, "diagnose", "--yaml-only")
    assert [doc["metadata"]["name"] for doc in parsed] == list(configs())
    built = {
        artifact["image"]
        for doc in parsed
        for artifact in doc.get("build", {}).get("artifacts", [])
    }
    assert built == IMAGES
    (tds,) = (doc for doc in parsed if doc["metadata"]["name"] == "tds")
    # skaffold resolves the chart path against the config's folder.
    assert Path(tds["deploy"]["helm"]["releases"][0]["chartPath"]) == CHART_DIR


def test_skaffold_render_runs_every_deployment_on_the_images_it_builds(skaffold: Path) -> None:
    documents = skaffold_render(skaffold)
    assert deployment_images(documents) == {
        name: {f"{image}:{TAG}"} for name, image in DEPLOYMENT_IMAGES.items()
    }
    assert namespaces(documents) == {"tds"}


def test_skaffold_render_dev_profile_adds_the_simulator_in_its_namespace(skaffold: Path) -> None:
    documents = skaffold_render(skaffold, "dev")
    assert deployment_images(documents) == {
        name: {f"{image}:{TAG}"}
        for name, image in {**DEPLOYMENT_IMAGES, "tds-zoho-sim": "tds-zoho-sim"}.items()
    }
    assert namespaces(documents) == {"tds-dev"}
