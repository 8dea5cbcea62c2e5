"""The ZohoSync operator as production runs it: ``kopf run`` as its own process, logged in with
the chart's ServiceAccount and RBAC, serving one namespace of the test control plane.

The chart's operator RBAC (templates/bulk-sync-operator-rbac.yaml) is rendered by helm and
applied, and the operator gets a token of that ServiceAccount: what the operator may not do in
production, it cannot do here either (the Events it posts, the finalizer it adds).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
import yaml

from devstack.paths import log_dir
from tests.conftest import free_port
from tests.k8s.conftest import Cluster
from tests.unit.k8s.chartcheck import CHART_DIR
from tests.utils.auth import API_TOKEN

SERVICE_ACCOUNT: Final = "tds-bulk-sync-operator"
START_TIMEOUT_SECONDS: Final = 60.0
KOPF_RUN: Final = (
    sys.executable,
    "-m",
    "kopf",
    "run",
    "--standalone",
    "--module",
    "bulk_sync.handlers",
)
"""kopf running the operator's handlers; each start adds its namespace and liveness port."""
WAIT_SECONDS: Final = 120.0
"""A safety bound for what the operator should do within a few refreshes, not a speed check."""
REFRESH_SECONDS: Final = 1
"""BULK_SYNC_STATUS_REFRESH_SECONDS of the operator under test (production: 30)."""


def wait_for(what: str, check: Callable[[], Any], timeout: float = WAIT_SECONDS) -> Any:
    """Poll ``check`` until it returns something truthy; that value is returned."""
    deadline = time.monotonic() + timeout
    while True:
        if value := check():
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


def operator_rbac(cluster: Cluster, namespace: str) -> list[dict[str, Any]]:
    """The chart's operator ServiceAccount, Role(Binding) and ClusterRole(Binding) for
    ``namespace``, rendered by helm."""
    kube_version = cluster.config.version.lstrip("v")
    args = ["template", "tds", str(CHART_DIR), "-n", namespace, "--kube-version", kube_version]
    rendered = cluster.helm(*args, "--show-only", "templates/bulk-sync-operator-rbac.yaml")
    return [doc for doc in yaml.safe_load_all(rendered) if doc]


def service_account_kubeconfig(cluster: Cluster, namespace: str, path: Path) -> Path:
    """A kubeconfig that logs in as the operator's ServiceAccount (a short-lived token)."""
    token = cluster.kubectl(
        "create", "token", SERVICE_ACCOUNT, "-n", namespace, "--duration=1h"
    ).strip()
    config = cluster.config
    cluster_entry = {"server": config.server, "certificate-authority": str(config.pki / "ca.crt")}
    context = {"cluster": "test", "user": SERVICE_ACCOUNT, "namespace": namespace}
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "test", "cluster": cluster_entry}],
        "users": [{"name": SERVICE_ACCOUNT, "user": {"token": token}}],
        "contexts": [{"name": "test", "context": context}],
        "current-context": "test",
    }
    path.write_text(yaml.safe_dump(kubeconfig))
    path.chmod(0o600)
    return path


@dataclass
class Operator:
    """``kopf run --standalone -m bulk_sync.handlers`` for one namespace; start, stop, kill."""

    namespace: str
    kubeconfig: Path
    api_url: str
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)
    starts: int = 0

    def __post_init__(self) -> None:
        self.log = log_dir() / f"k8s-operator-{self.namespace}.log"

    def start(self) -> None:
        """Start (again); returns once kopf is live."""
        assert self.process is None or self.process.poll() is not None, "already running"
        self.starts += 1
        port = free_port()
        with self.log.open("ab") as log:
            log.write(f"--- start {self.starts} ---\n".encode())
            self.process = subprocess.Popen(
                [
                    *KOPF_RUN,
                    f"--namespace={self.namespace}",
                    f"--liveness=http://127.0.0.1:{port}/healthz",
                ],
                env={
                    **os.environ,
                    "KUBECONFIG": str(self.kubeconfig),
                    "BULK_SYNC_API_URL": self.api_url,
                    "BULK_SYNC_API_TOKEN": API_TOKEN,
                    "BULK_SYNC_STATUS_REFRESH_SECONDS": str(REFRESH_SECONDS),
                    "LOG_JSON": "false",
                },
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(
            "the operator's liveness endpoint", lambda: self._live(port), START_TIMEOUT_SECONDS
        )

    def _live(self, port: int) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"the operator exited: {self.output()[-3000:]}")
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        """SIGTERM, as Kubernetes stops a pod; kopf finishes its handlers and exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def killed(self) -> bool:
        return self.process is not None and self.process.poll() == -signal.SIGKILL

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def output_of_this_start(self) -> str:
        return self.output().rsplit(f"--- start {self.starts} ---", 1)[-1]


def zohosync(name: str, **spec: Any) -> str:
    return json.dumps(
        {
            "apiVersion": "tds.dev/v1alpha1",
            "kind": "ZohoSync",
            "metadata": {"name": name},
            "spec": {"organizationId": "60000000001", "mode": "full", **spec},
        }
    )
