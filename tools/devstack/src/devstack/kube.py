"""A Kubernetes control plane of the project's own on loopback, with kwok's fake nodes.

``start`` runs etcd (2379/2380), kube-apiserver (6443), kube-controller-manager,
kube-scheduler and kwok from the binaries ``devstack.kube_build`` caches (``make
k8s-control-plane`` builds them; starting never builds). Certificates, the service-account key
pair and an admin kubeconfig are generated once with ``openssl`` under ``.local/kube``. kwok
plays the kubelet for ``TDS_KUBE_NODES`` (2) fake nodes, so pods get Ready (and a Job's pods
complete) without a container runtime; its node lease is 40 s, because kwok v0.8.0's default
of 0 lets a node go NotReady after about 50 s.

Everything listens on 127.0.0.1 only. etcd speaks plain HTTP there (only the API server reaches
it) and starts empty each time: the cluster is for tests, nothing in it outlives a stop.
"""

from __future__ import annotations

import os
import shutil
import signal
import ssl
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import httpx

from devstack import kube_build, processes
from devstack.paths import state_dir

START_TIMEOUT_SECONDS: Final = 120.0
# Stopped in this order (the reverse of the start order).
COMPONENTS: Final = ("kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd")
SERVICE_CIDR: Final = "10.96.0.0/16"
SERVICE_IP: Final = "10.96.0.1"
NODE_LEASE_SECONDS: Final = 40
FAKE_NODE: Final = """\
apiVersion: v1
kind: Node
metadata:
  name: {name}
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: {name}
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
    topology.kubernetes.io/zone: zone-{index}
status:
  allocatable: {{cpu: "32", memory: 256Gi, pods: "110"}}
  capacity: {{cpu: "32", memory: 256Gi, pods: "110"}}
"""


@dataclass(frozen=True)
class KubeConfig:
    version: str = kube_build.KUBERNETES_VERSION
    api_port: int = int(os.environ.get("TDS_KUBE_API_PORT", "6443"))
    etcd_port: int = int(os.environ.get("TDS_KUBE_ETCD_PORT", "2379"))
    etcd_peer_port: int = int(os.environ.get("TDS_KUBE_ETCD_PEER_PORT", "2380"))
    nodes: int = int(os.environ.get("TDS_KUBE_NODES", "2"))
    home: Path = field(default_factory=lambda: state_dir() / "kube")

    @property
    def bin(self) -> Path:
        return kube_build.bin_dir(self.version)

    @property
    def pki(self) -> Path:
        return self.home / "pki"

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig (system:masters): tests, helm and the components use it."""
        return self.home / "admin.kubeconfig"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"

    def tool(self, name: str) -> str:
        return str(self.bin / name)


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _sign(config: KubeConfig, name: str, subject: str, extensions: str) -> None:
    pki = config.pki
    _openssl("genrsa", "-out", str(pki / f"{name}.key"), "2048")
    _openssl(
        "req",
        "-new",
        "-key",
        str(pki / f"{name}.key"),
        "-subj",
        subject,
        "-out",
        str(pki / f"{name}.csr"),
    )
    (pki / f"{name}.ext").write_text(extensions)
    _openssl(
        "x509",
        "-req",
        "-in",
        str(pki / f"{name}.csr"),
        "-CA",
        str(pki / "ca.crt"),
        "-CAkey",
        str(pki / "ca.key"),
        "-CAcreateserial",
        "-days",
        "3650",
        "-extfile",
        str(pki / f"{name}.ext"),
        "-out",
        str(pki / f"{name}.crt"),
    )


def ensure_pki(config: KubeConfig) -> None:
    """A CA, the API server's certificate, an admin client certificate, the SA key pair."""
    pki = config.pki
    if (pki / "admin.crt").exists():
        return
    pki.mkdir(parents=True, exist_ok=True)
    pki.chmod(0o700)
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "3650",
        "-subj",
        "/CN=tds-devstack-ca",
        "-keyout",
        str(pki / "ca.key"),
        "-out",
        str(pki / "ca.crt"),
    )
    names = "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
    _sign(
        config,
        "apiserver",
        "/CN=kube-apiserver",
        f"subjectAltName={names},IP:127.0.0.1,IP:{SERVICE_IP}\nextendedKeyUsage=serverAuth\n",
    )
    _sign(config, "admin", "/O=system:masters/CN=tds-admin", "extendedKeyUsage=clientAuth\n")
    _openssl("genrsa", "-out", str(pki / "sa.key"), "2048")
    _openssl("rsa", "-in", str(pki / "sa.key"), "-pubout", "-out", str(pki / "sa.pub"))


def write_kubeconfig(config: KubeConfig) -> None:
    pki = config.pki
    config.kubeconfig.write_text(
        f"""apiVersion: v1
kind: Config
clusters:
- name: tds-devstack
  cluster:
    server: {config.server}
    certificate-authority: {pki / "ca.crt"}
users:
- name: tds-admin
  user:
    client-certificate: {pki / "admin.crt"}
    client-key: {pki / "admin.key"}
contexts:
- name: tds-devstack
  context: {{cluster: tds-devstack, user: tds-admin}}
current-context: tds-devstack
"""
    )
    config.kubeconfig.chmod(0o600)


def _commands(config: KubeConfig) -> dict[str, list[str]]:
    pki, kubeconfig, loopback = config.pki, str(config.kubeconfig), "127.0.0.1"
    return {
        "etcd": [
            config.tool("etcd"),
            "--name=tds-devstack",
            f"--data-dir={config.home / 'etcd'}",
            f"--listen-client-urls=http://{loopback}:{config.etcd_port}",
            f"--advertise-client-urls=http://{loopback}:{config.etcd_port}",
            f"--listen-peer-urls=http://{loopback}:{config.etcd_peer_port}",
            f"--initial-advertise-peer-urls=http://{loopback}:{config.etcd_peer_port}",
            f"--initial-cluster=tds-devstack=http://{loopback}:{config.etcd_peer_port}",
            "--log-level=warn",
            "--quota-backend-bytes=2147483648",
            # Throw-away state on a disk other test runs keep busy: fsync waits only slow it down.
            "--unsafe-no-fsync",
        ],
        "kube-apiserver": [
            config.tool("kube-apiserver"),
            f"--etcd-servers=http://{loopback}:{config.etcd_port}",
            f"--bind-address={loopback}",
            f"--secure-port={config.api_port}",
            f"--advertise-address={loopback}",
            "--endpoint-reconciler-type=none",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=RBAC",
            "--profiling=false",
            "--v=0",
        ],
        "kube-controller-manager": [
            config.tool("kube-controller-manager"),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            f"--bind-address={loopback}",
            "--secure-port=10257",
            "--leader-elect=false",
            f"--service-account-private-key-file={pki / 'sa.key'}",
            f"--root-ca-file={pki / 'ca.crt'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--profiling=false",
            # The HPAs bring a fresh install to its minReplicas on their next sync: 15 s by
            # default, waited out after each install in tests/k8s.
            "--horizontal-pod-autoscaler-sync-period=2s",
        ],
        "kube-scheduler": [
            config.tool("kube-scheduler"),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            f"--bind-address={loopback}",
            "--secure-port=10259",
            "--leader-elect=false",
        ],
        "kwok": [
            config.tool("kwok"),
            f"--kubeconfig={kubeconfig}",
            f"--config={kube_build.stages_file(config.version)}",
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            f"--node-lease-duration-seconds={NODE_LEASE_SECONDS}",
            f"--node-ip={loopback}",
            "--cidr=10.244.0.0/16",
            "--server-address=",
        ],
    }


def kubectl(config: KubeConfig, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [config.tool("kubectl"), f"--kubeconfig={config.kubeconfig}", *args],
        input=stdin,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def api_ready(config: KubeConfig) -> bool:
    pki = config.pki
    tls = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    tls.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
    try:
        answer = httpx.get(f"{config.server}/readyz", verify=tls, timeout=2.0)
    except httpx.HTTPError:
        return False
    return answer.status_code == 200


def _wait(what: str, ready: Callable[[], bool], deadline: float, pid: int | None = None) -> None:
    while not ready():
        if pid is not None and not processes.pid_alive(pid):
            raise RuntimeError(f"{what} exited during start; see .local/logs/{what}.log")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} was not ready within {START_TIMEOUT_SECONDS:.0f}s")
        time.sleep(0.5)


def _nodes_ready(config: KubeConfig) -> bool:
    statuses = kubectl(
        config,
        "get",
        "nodes",
        "-l",
        "type=kwok",
        "-o",
        "jsonpath={range .items[*]}{.status.conditions[?(@.type=='Ready')].status} {end}",
    ).split()
    return len(statuses) == config.nodes and all(status == "True" for status in statuses)


def _default_service_account(config: KubeConfig) -> bool:
    """The controller-manager works once it made the default namespace's service account."""
    try:
        kubectl(config, "get", "serviceaccount", "default", "-n", "default")
    except RuntimeError:
        return False
    return True


def running(config: KubeConfig) -> bool:
    return processes.read_pid("kube-apiserver") is not None or processes.port_open(config.api_port)


def start(config: KubeConfig) -> bool:
    """Start the control plane unless it runs already; False when it was already up."""
    if missing := kube_build.missing_binaries(config.version):
        raise RuntimeError(
            f"control plane binaries missing in {config.bin}: {', '.join(missing)} "
            "(run make k8s-control-plane)"
        )
    if running(config):
        if not api_ready(config):
            raise RuntimeError(f"port {config.api_port} is taken but no API server answers")
        return False
    config.home.mkdir(parents=True, exist_ok=True)
    # Every start begins empty: a restarted single-member etcd spent minutes timing out
    # requests here, and the tests want no leftovers of an earlier run anyway.
    shutil.rmtree(config.home / "etcd", ignore_errors=True)
    ensure_pki(config)
    write_kubeconfig(config)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    commands = _commands(config)
    pid = processes.start_background("etcd", commands["etcd"])
    processes.wait_for_port(config.etcd_port, timeout=START_TIMEOUT_SECONDS, name="etcd", pid=pid)
    pid = processes.start_background("kube-apiserver", commands["kube-apiserver"])
    _wait("kube-apiserver", lambda: api_ready(config), deadline, pid)
    for name in ("kube-controller-manager", "kube-scheduler", "kwok"):
        processes.start_background(name, commands[name])
    nodes = "\n---\n".join(
        FAKE_NODE.format(name=f"kwok-node-{index}", index=index) for index in range(config.nodes)
    )
    kubectl(config, "apply", "-f", "-", stdin=nodes)
    _wait("kwok", lambda: _nodes_ready(config), deadline, processes.read_pid("kwok"))
    _wait("kube-controller-manager", lambda: _default_service_account(config), deadline)
    return True


def stop() -> bool:
    """Stop every component (TERM, then KILL after 15 s); True if any ran."""
    stopped = [processes.stop(name, grace=15.0, sig=signal.SIGTERM) for name in COMPONENTS]
    return any(stopped)
