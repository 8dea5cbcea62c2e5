"""The helm that ``make helm`` builds assumes a current Kubernetes when no cluster is asked.

Without a cluster (``helm template``, ``helm lint``) helm uses the Kubernetes version stamped into
it at build time. A plain ``go install`` stamps nothing, so helm falls back to v1.20.0, and the
chart's ``kubeVersion: >=1.29.0-0`` refuses to render: every user building helm that way would
need ``--kube-version``. ``make helm`` stamps the version the way helm's own release build does.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.unit.k8s.chartcheck import CHART_DIR

# The first test to need helm may build it: minutes on a cold machine.
pytestmark = pytest.mark.timeout(900)


def test_helm_template_renders_the_chart_without_kube_version(helm: Path) -> None:
    result = subprocess.run(
        [str(helm), "template", "tds", str(CHART_DIR), "--namespace", "tds"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    kinds = {doc["kind"] for doc in yaml.safe_load_all(result.stdout) if doc}
    assert "Deployment" in kinds
