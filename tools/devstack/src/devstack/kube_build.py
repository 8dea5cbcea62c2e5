"""Build a Kubernetes control plane from the Go module proxy, once per machine and version.

``python -m devstack.kube_build`` (``make k8s-control-plane``) builds ``etcd``,
``kube-apiserver``, ``kube-controller-manager``, ``kube-scheduler``, ``kubectl`` and ``kwok``
into ``${XDG_CACHE_HOME:-~/.cache}/tds/k8s/<version>/bin`` (``TDS_K8S_CACHE`` overrides the
``tds/k8s`` folder), outside the clone, so every clone on the machine reuses them. A binary that
is already there is kept; a build that fails leaves no binary behind.

Beside them: kwok's stages and the CRDs of ServiceMonitor, PrometheusRule (prometheus-operator)
and ScaledObject (KEDA), copied from those projects' Go modules (``go mod download``), where the
upstream projects ship them.

``k8s.io/kubernetes`` and ``go.etcd.io/etcd/server/v3`` cannot be ``go install``-ed: their
``go.mod`` replaces sibling modules with folders of their own repository. Each is built through a
small wrapper module, generated here, whose ``replace`` lines point those modules at their
published versions (``k8s.io/api`` => ``k8s.io/api v0.34.x``). The version ldflags matter: without
them the API server says ``v0.0.0-master`` and the chart's ``kubeVersion`` refuses it.

The machine's ``GOFLAGS``/``GOPROXY`` are respected; ``GOTOOLCHAIN=local`` keeps the installed Go.
Every build compiles as mk/go.mk's other tool builds do (cgo off, no ``-trimpath``, no DWARF), so
packages they share come from Go's build cache, and links with ``-s -w`` (no symbol table).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

KUBERNETES_VERSION: Final = "v1.34.12"
ETCD_VERSION: Final = "v3.6.16"
KWOK_VERSION: Final = "v0.8.0"
# The operators whose resources the chart renders (ServiceMonitor, PrometheusRule, ScaledObject):
# their CRDs as the upstream modules ship them, read from the modules' source on the proxy.
PROMETHEUS_OPERATOR: Final = ("github.com/prometheus-operator/prometheus-operator", "v0.85.0")
KEDA: Final = ("github.com/kedacore/keda/v2", "v2.21.0")
OPERATOR_CRDS: Final = (
    (
        *PROMETHEUS_OPERATOR,
        "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml",
    ),
    (
        *PROMETHEUS_OPERATOR,
        "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml",
    ),
    (*KEDA, "config/crd/bases/keda.sh_scaledobjects.yaml"),
)
KUBE_BINARIES: Final = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
BINARIES: Final = ("etcd", *KUBE_BINARIES, "kwok")
# kwok v0.8.0 ships its stages only as source: these make fake nodes Ready and keep their lease,
# run pods, complete a Job's pods (helm's migration hook) and let deleted pods go.
KWOK_STAGES: Final = (
    "node/fast/node-initialize.yaml",
    "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "pod/fast/pod-ready.yaml",
    "pod/fast/pod-complete.yaml",
    "pod/fast/pod-delete.yaml",
)
# No symbol table or DWARF: nothing reads them; leaving them out shortens compiles and links.
# The compile flags are mk/go.mk's GO_BUILD_FLAGS: one configuration, one shared build cache.
COMPILE_FLAGS: Final = ("-gcflags=all=-dwarf=false",)
STRIP_LDFLAGS: Final = "-s -w"
# A replace line whose target is a folder of the module's own repository: `X => ./staging/...`.
_LOCAL_REPLACE: Final = re.compile(r"^\s*(?:replace\s+)?(\S+)\s+=>\s+(\.{1,2}/\S*)\s*$")
# A major-version path element as `go build` reads it (v2 and above; v0 and v1 are names).
_MAJOR_VERSION: Final = re.compile(r"v(?:[2-9]|[1-9][0-9]+)")


def cache_root() -> Path:
    if env := os.environ.get("TDS_K8S_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tds" / "k8s"


def bin_dir(version: str = KUBERNETES_VERSION) -> Path:
    """Where the control plane's binaries for ``version`` live (built or not)."""
    return cache_root() / version / "bin"


def stages_file(version: str = KUBERNETES_VERSION) -> Path:
    """kwok's stages, copied from its module at build time (one multi-document YAML file)."""
    return cache_root() / version / "kwok-stages.yaml"


def operator_crds_dir(version: str = KUBERNETES_VERSION) -> Path:
    """The upstream CRDs of the Prometheus Operator and KEDA kinds the chart renders."""
    return cache_root() / version / "operator-crds"


def write_operator_crds(version: str) -> None:
    folder = operator_crds_dir(version)
    folder.mkdir(parents=True, exist_ok=True)
    for module, module_version, path in OPERATOR_CRDS:
        source = Path(_download(module, module_version)["Dir"]) / path
        shutil.copyfile(source, folder / source.name)


def missing_binaries(version: str = KUBERNETES_VERSION) -> list[str]:
    folder = bin_dir(version)
    missing = [name for name in BINARIES if not os.access(folder / name, os.X_OK)]
    if "kwok" not in missing and not stages_file(version).exists():
        missing.append("kwok")
    if len(list(operator_crds_dir(version).glob("*.yaml"))) < len(OPERATOR_CRDS):
        missing.append("operator-crds")
    return missing


def local_replaces(go_mod: str) -> list[str]:
    """The modules a ``go.mod`` replaces with folders of its own repository, in file order."""
    modules = []
    for line in go_mod.splitlines():
        if (found := _LOCAL_REPLACE.match(line)) and "FORBIDDEN" not in found.group(2):
            modules.append(found.group(1))
    return modules


@dataclass(frozen=True)
class Wrapped:
    """A module built through a wrapper: its siblings are pinned at ``sibling_version``."""

    module: str
    version: str
    sibling_version: str


def wrapper_go_mod(target: Wrapped, go_mod: str) -> str:
    """The wrapper's ``go.mod``: require the module, replace its local siblings by versions."""
    replaces = "\n".join(
        f"\t{module} => {module} {target.sibling_version}" for module in local_replaces(go_mod)
    )
    go_line = re.search(r"^go\s+(\S+)", go_mod, re.MULTILINE)
    return (
        "module tds.local/k8s-build\n\n"
        f"go {go_line.group(1) if go_line else '1.24'}\n\n"
        f"require {target.module} {target.version}\n\n"
        f"replace (\n{replaces}\n)\n"
    )


def kube_ldflags(version: str) -> str:
    """``-X`` flags that make the binaries report ``version`` (server and kubectl's client)."""
    major, minor = version.lstrip("v").split(".")[:2]
    values = {
        "gitVersion": version,
        "gitMajor": major,
        "gitMinor": minor,
        "gitTreeState": "clean",
        "buildDate": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    packages = ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
    flags = [f"-X {pkg}.{key}={value}" for pkg in packages for key, value in values.items()]
    return " ".join([STRIP_LDFLAGS, *flags])


def _go() -> str:
    found = shutil.which("go") or "/usr/local/go/bin/go"
    if not Path(found).exists():
        raise RuntimeError("Go is not installed (needed to build the control plane)")
    return found


def _go_env(**extra: str) -> dict[str, str]:
    # CGO_ENABLED=0 as in mk/go.mk: every tool built alike shares Go's build cache.
    return {**os.environ, "GOTOOLCHAIN": "local", "CGO_ENABLED": "0", **extra}


def _run(args: list[str], cwd: Path | None = None, **env: str) -> str:
    print("+", " ".join(args), flush=True)
    done = subprocess.run(
        args, cwd=cwd, env=_go_env(**env), check=True, stdout=subprocess.PIPE, text=True
    )
    return done.stdout


def _download(module: str, version: str) -> dict[str, str]:
    """``go mod download -json``: the module through the Go client (GOPROXY as configured)."""
    info: dict[str, str] = json.loads(
        _run([_go(), "mod", "download", "-json", f"{module}@{version}"])
    )
    return info


def _module_go_mod(module: str, version: str) -> str:
    return Path(_download(module, version)["GoMod"]).read_text()


def write_kwok_stages(version: str) -> None:
    source = Path(_download("sigs.k8s.io/kwok", KWOK_VERSION)["Dir"]) / "kustomize" / "stage"
    documents = [(source / stage).read_text().strip() for stage in KWOK_STAGES]
    stages_file(version).write_text("\n---\n".join(documents) + "\n")


def go_binary_name(package: str) -> str:
    """The name ``go build -o <folder>/`` gives a package's binary: its last path element that is
    not a major version (``go.etcd.io/etcd/server/v3`` -> ``server``)."""
    elements = package.split("/")
    if len(elements) > 1 and _MAJOR_VERSION.fullmatch(elements[-1]):
        return elements[-2]
    return elements[-1]


def build_wrapped(target: Wrapped, packages: dict[str, str], out: Path, ldflags: str) -> None:
    """Build ``packages`` (binary name -> import path) of ``target`` into ``out``.

    One ``go build`` for all of them: Go links one binary while it still compiles the packages of
    the next, instead of leaving a core idle during each link.
    """
    go_mod = _module_go_mod(target.module, target.version)
    with tempfile.TemporaryDirectory(prefix="wrapper-", dir=out.parent) as work:
        wrapper = Path(work)
        (wrapper / "go.mod").write_text(wrapper_go_mod(target, go_mod))
        staging = wrapper / "bin"
        staging.mkdir()
        # -mod=mod lets the build fill in go.sum (checked against the checksum database).
        # -o into a folder names each binary after its package's last element.
        command = [_go(), "build", "-mod=mod", *COMPILE_FLAGS, f"-ldflags={ldflags}"]
        command += ["-o", f"{staging}/"]
        _run([*command, *packages.values()], cwd=wrapper)
        for name, package in packages.items():
            os.replace(staging / go_binary_name(package), out / name)


def build(version: str = KUBERNETES_VERSION) -> list[str]:
    """Build whatever is missing; return the names built."""
    out = bin_dir(version)
    out.mkdir(parents=True, exist_ok=True)
    todo = set(missing_binaries(version))
    built: list[str] = []
    if "etcd" in todo:
        build_wrapped(
            Wrapped("go.etcd.io/etcd/server/v3", ETCD_VERSION, ETCD_VERSION),
            {"etcd": "go.etcd.io/etcd/server/v3"},
            out,
            STRIP_LDFLAGS,
        )
        built.append("etcd")
    if "kwok" in todo:
        with tempfile.TemporaryDirectory(prefix="kwok-", dir=out.parent) as gobin:
            _run(
                [
                    _go(),
                    "install",
                    *COMPILE_FLAGS,
                    f"-ldflags={STRIP_LDFLAGS}",
                    f"sigs.k8s.io/kwok/cmd/kwok@{KWOK_VERSION}",
                ],
                GOBIN=gobin,
            )
            os.replace(Path(gobin) / "kwok", out / "kwok")
        write_kwok_stages(version)
        built.append("kwok")
    if "operator-crds" in todo:
        write_operator_crds(version)
        built.append("operator-crds")
    kube = [name for name in KUBE_BINARIES if name in todo]
    if kube:
        staging_version = "v0." + version.lstrip("v").split(".", 1)[1]
        build_wrapped(
            Wrapped("k8s.io/kubernetes", version, staging_version),
            {name: f"k8s.io/kubernetes/cmd/{name}" for name in kube},
            out,
            kube_ldflags(version),
        )
        built.extend(kube)
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default=KUBERNETES_VERSION)
    parser.add_argument(
        "--print-bin-dir", action="store_true", help="print the folder, build nothing"
    )
    args = parser.parse_args(argv)
    if args.print_bin_dir:
        print(bin_dir(args.version))
        return 0
    started = time.monotonic()
    built = build(args.version)
    elapsed = time.monotonic() - started
    print(
        f"control plane {args.version} in {bin_dir(args.version)}: "
        f"built {', '.join(built) or 'nothing (cached)'} in {elapsed:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
