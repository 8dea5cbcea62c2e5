"""helm takes over a ZohoSync CRD applied with kubectl first, as docs/deploy.md says.

helm refuses to adopt an object without its ownership metadata; the runbook ("The CRD applied
with kubectl first") gives the label and annotations to add. This runs the runbook's own lines
(read from docs/deploy.md) on the real API server, and checks that the ZohoSyncs the CRD held
survive the adoption and the uninstall (crds.keep).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.k8s.conftest import CRD_NAME, PRODUCTION_VALUES, Cluster, CommandFailed
from tests.k8s.operator_process import zohosync
from tests.k8s.test_chart_lifecycle import WITHOUT_OPERATOR_CRDS
from tests.unit.k8s.chartcheck import CHART_DIR, REPO_ROOT

RUNBOOK = REPO_ROOT / "docs" / "deploy.md"
SECTION = "### The CRD applied with kubectl first"


def runbook_commands(namespace: str) -> list[list[str]]:
    """The kubectl lines of the runbook's section, for release ``tds`` in ``namespace``."""
    section = RUNBOOK.read_text().split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 1, "the section should hold one bash block"
    lines = [line for line in blocks[0].splitlines() if line.startswith("kubectl ")]
    return [
        shlex.split(line.replace("release-namespace=tds", f"release-namespace={namespace}"))[1:]
        for line in lines
    ]


def _install(cluster: Cluster, namespace: str) -> str:
    sets = [arg for setting in WITHOUT_OPERATOR_CRDS for arg in ("--set", setting)]
    return cluster.helm(
        "install",
        "tds",
        str(CHART_DIR),
        "-n",
        namespace,
        "-f",
        str(PRODUCTION_VALUES),
        *sets,
        "--timeout",
        "3m",
    )


@pytest.mark.timeout(600)
def test_helm_adopts_a_crd_applied_with_kubectl_after_the_runbook_steps(
    cluster: Cluster, namespace: str, crd: Path
) -> None:
    cluster.kubectl(
        "apply", "-f", "-", stdin="apiVersion: v1\nkind: Namespace\nmetadata:\n  name: monitoring\n"
    )
    cluster.kubectl(
        "apply", "-n", namespace, "-f", "-", stdin=zohosync("before-helm", entities=["customers"])
    )
    with pytest.raises(CommandFailed) as refused:
        _install(cluster, namespace)
    assert "cannot be imported into the current release: invalid ownership metadata" in (
        refused.value.stderr
    )
    assert 'missing key "app.kubernetes.io/managed-by": must be set to "Helm"' in (
        refused.value.stderr
    )

    commands = runbook_commands(namespace)
    assert [command[:2] for command in commands] == [["label", "crd"], ["annotate", "crd"]]
    for command in commands:
        cluster.kubectl(*command)
    _install(cluster, namespace)
    owned = cluster.kubectl_json("get", "crd", CRD_NAME)["metadata"]
    assert owned["annotations"]["meta.helm.sh/release-namespace"] == namespace
    assert owned["annotations"]["helm.sh/resource-policy"] == "keep"
    assert owned["labels"]["app.kubernetes.io/instance"] == "tds"
    names = cluster.kubectl("get", "zohosyncs", "-n", namespace, "-o", "name").split()
    assert "zohosync.tds.dev/before-helm" in names

    cluster.helm("uninstall", "tds", "-n", namespace, "--wait", "--timeout", "3m")
    assert cluster.kubectl("get", "crd", CRD_NAME, "-o", "name").strip()
    names = cluster.kubectl("get", "zohosyncs", "-n", namespace, "-o", "name").split()
    assert "zohosync.tds.dev/before-helm" in names
