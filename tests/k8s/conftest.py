"""A real Kubernetes control plane for the chart, CRD and RBAC tests (``make test-k8s``).

The control plane's binaries are built once per machine by ``make k8s-control-plane`` (cached
outside the clone); a session starts the control plane when it is not up and stops it at its end
when it started it. kwok plays the kubelet, so Deployments get Ready without a container runtime.

The CRD is cluster-wide and helm owns it through the release that installed it, so sessions of
this suite take turns (one file lock for the whole session); each test works in a namespace of
its own and removes what it made cluster-wide.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from devstack import kube, kube_build
from devstack.paths import state_dir
from tests.unit.k8s.chartcheck import CHART_DIR, CRD_FILE, REPO_ROOT

HELM = REPO_ROOT / ".local" / "bin" / "helm"
PRODUCTION_VALUES = CHART_DIR / "ci" / "production-values.yaml"
CRD_NAME = "zohosyncs.tds.dev"
ESTABLISHED_SECONDS = 60.0


class CommandFailed(RuntimeError):
    def __init__(self, args: list[str], stderr: str) -> None:
        super().__init__(f"{' '.join(args)} failed: {stderr}")
        self.stderr = stderr


@dataclass(frozen=True)
class Cluster:
    """kubectl and helm against the control plane, as its admin."""

    config: kube.KubeConfig

    def _run(self, args: list[str], stdin: str | None) -> str:
        done = subprocess.run(
            args,
            input=stdin,
            capture_output=True,
            text=True,
            env={**os.environ, "KUBECONFIG": str(self.config.kubeconfig)},
            timeout=600,
        )
        if done.returncode != 0:
            raise CommandFailed(args, done.stderr.strip())
        return done.stdout

    def kubectl(self, *args: str, stdin: str | None = None) -> str:
        return self._run([self.config.tool("kubectl"), *args], stdin)

    def kubectl_json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json"))

    def helm(self, *args: str) -> str:
        return self._run([str(HELM), *args], None)

    def history(self, release: str, namespace: str) -> list[tuple[int, str, str]]:
        """``helm history``: (revision, status, description) per revision."""
        rows = json.loads(self.helm("history", release, "-n", namespace, "-o", "json"))
        return [(row["revision"], row["status"], row["description"]) for row in rows]

    def wait_established(self, crd: str = CRD_NAME) -> None:
        """Until the API server serves ``crd``. Not ``kubectl wait --for=condition=Established``:
        a CRD created a moment ago can still have ``status.conditions: null``, which kubectl
        reports as an error instead of waiting (it failed a full run on a loaded machine)."""
        deadline = time.monotonic() + ESTABLISHED_SECONDS
        while True:
            status = self.kubectl_json("get", "crd", crd).get("status") or {}
            conditions = status.get("conditions") or []
            if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"CRD {crd} not Established after {ESTABLISHED_SECONDS:g} s")
            time.sleep(0.2)

    def delete_crd(self) -> None:
        self.kubectl("delete", "crd", CRD_NAME, "--ignore-not-found", "--wait=true")


@pytest.fixture(scope="session", name="cluster")
def fixture_cluster() -> Iterator[Cluster]:
    config = kube.KubeConfig()
    if missing := kube_build.missing_binaries(config.version):
        pytest.fail(
            f"control plane binaries missing ({', '.join(missing)}): make test-k8s builds them"
        )
    if not HELM.exists():
        pytest.fail("helm is missing: make helm builds it")
    with FileLock(str(state_dir() / "kube-tests.lock")):
        started = kube.start(config)
        try:
            yield Cluster(config)
        finally:
            if started and not os.environ.get("TDS_KEEP_STACK"):
                kube.stop()


@contextmanager
def own_namespace(cluster: Cluster) -> Iterator[str]:
    """A new namespace enforcing Pod Security ``restricted`` as production does, then removed."""
    name = f"tds-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", name)
    cluster.kubectl(
        "label",
        "namespace",
        name,
        "pod-security.kubernetes.io/enforce=restricted",
        "pod-security.kubernetes.io/enforce-version=latest",
    )
    yield name
    # A test that failed half-way may leave a release: its cluster-wide RBAC goes with helm.
    cluster.helm("uninstall", "tds", "-n", name, "--ignore-not-found", "--wait")
    cluster.kubectl("delete", "namespace", name, "--wait=false")


@contextmanager
def applied_crd(cluster: Cluster) -> Iterator[Path]:
    """The ZohoSync CRD applied by kubectl (as `kubectl apply -k k8s/crds` does), then removed."""
    cluster.delete_crd()
    cluster.kubectl("apply", "--server-side", "-f", str(CRD_FILE))
    cluster.wait_established()
    yield CRD_FILE
    cluster.delete_crd()


@pytest.fixture(name="namespace")
def fixture_namespace(cluster: Cluster) -> Iterator[str]:
    """A namespace of the test's own (:func:`own_namespace`)."""
    with own_namespace(cluster) as name:
        yield name


@pytest.fixture(name="crd")
def fixture_crd(cluster: Cluster) -> Iterator[Path]:
    """The ZohoSync CRD applied for the test alone (:func:`applied_crd`)."""
    with applied_crd(cluster) as path:
        yield path
