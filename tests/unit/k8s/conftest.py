"""Fixtures for the chart tests: the real helm (built once by ``make helm``) and renderings.

No cluster is involved: ``helm template`` renders the chart exactly as an install would, for the
Kubernetes version the Makefile pins, and the tests read the objects it produced.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Final

import pytest
import yaml

from tests.unit.k8s.chartcheck import CHART_DIR, REPO_ROOT, Document

KUBE_VERSION: Final = "1.34.0"
PRODUCTION_VALUES: Final = CHART_DIR / "ci" / "production-values.yaml"
DEV_VALUES: Final = CHART_DIR / "ci" / "dev-values.yaml"

Render = Callable[..., list[Document]]


def run_make(*args: str) -> subprocess.CompletedProcess[str]:
    """``make`` in the repository root, output captured (for the lint-k8s tests)."""
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )


@pytest.fixture(scope="session", name="helm")
def fixture_helm() -> Path:
    """The pinned helm binary; ``make helm`` builds it with go install the first time."""
    result = run_make("helm")
    assert result.returncode == 0, result.stdout + result.stderr
    binary = REPO_ROOT / ".local" / "bin" / "helm"
    assert binary.is_file()
    return binary


def helm_template(
    helm: Path, *values_files: Path, sets: dict[str, str | int | bool] | None = None
) -> subprocess.CompletedProcess[str]:
    """``helm template`` of the chart; ``sets`` strings go through --set-string, the rest --set."""
    command = [str(helm), "template", "tds", str(CHART_DIR), "--namespace", "tds"]
    command += ["--kube-version", KUBE_VERSION]
    for path in values_files:
        command += ["--values", str(path)]
    for key, value in (sets or {}).items():
        if isinstance(value, str):
            command += ["--set-string", f"{key}={value}"]
        else:
            command += ["--set", f"{key}={str(value).lower()}"]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)


@pytest.fixture(scope="session", name="render")
def fixture_render(helm: Path) -> Render:
    """Render the chart with values files and ``--set`` pairs; fails the test if helm fails."""

    def render(
        *values_files: Path, sets: dict[str, str | int | bool] | None = None
    ) -> list[Document]:
        result = helm_template(helm, *values_files, sets=sets)
        assert result.returncode == 0, result.stderr
        return [doc for doc in yaml.safe_load_all(result.stdout) if doc]

    return render


@pytest.fixture(scope="session", name="production")
def fixture_production(render: Render) -> list[Document]:
    """The chart rendered with the production-like values."""
    return render(PRODUCTION_VALUES)


def by_kind(documents: list[Document], kind: str) -> dict[str, Document]:
    """Objects of one kind, by name."""
    return {doc["metadata"]["name"]: doc for doc in documents if doc["kind"] == kind}


def env_of(container: Document) -> dict[str, Document]:
    """A container's env entries by name."""
    return {entry["name"]: entry for entry in container.get("env", [])}
