"""The wrapper modules that build kubernetes and etcd from the Go module proxy."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devstack import kube_build

KUBERNETES_GO_MOD = """\
module k8s.io/kubernetes

go 1.25.0

require (
\tk8s.io/api v0.0.0
\tgithub.com/spf13/cobra v1.9.1
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/client-go => ./staging/src/k8s.io/client-go
)
"""
ETCD_GO_MOD = """\
module go.etcd.io/etcd/server/v3

go 1.24

replace (
\tgo.etcd.io/etcd/api/v3 => ../api
\tgo.etcd.io/etcd/pkg/v3 => ../pkg
)

replace go.etcd.io/etcd => ./FORBIDDEN_DEPENDENCY
replace github.com/example/fork => github.com/example/fork v1.2.3
"""


def test_the_wrapper_pins_kubernetes_staging_modules_at_their_published_version() -> None:
    target = kube_build.Wrapped("k8s.io/kubernetes", "v1.34.12", "v0.34.12")
    assert kube_build.wrapper_go_mod(target, KUBERNETES_GO_MOD) == (
        "module tds.local/k8s-build\n\n"
        "go 1.25.0\n\n"
        "require k8s.io/kubernetes v1.34.12\n\n"
        "replace (\n"
        "\tk8s.io/api => k8s.io/api v0.34.12\n"
        "\tk8s.io/client-go => k8s.io/client-go v0.34.12\n"
        ")\n"
    )


def test_only_folders_of_the_modules_own_repository_are_replaced() -> None:
    """Guards against importing a forbidden path, and replaces by version, stay out."""
    assert kube_build.local_replaces(ETCD_GO_MOD) == [
        "go.etcd.io/etcd/api/v3",
        "go.etcd.io/etcd/pkg/v3",
    ]


def test_version_ldflags_name_the_release_for_server_and_client() -> None:
    flags = kube_build.kube_ldflags("v1.34.12")
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        assert f"-X {package}.gitVersion=v1.34.12" in flags
        assert f"-X {package}.gitMajor=1" in flags
        assert f"-X {package}.gitMinor=34" in flags


def test_binaries_are_cached_outside_the_clone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("TDS_K8S_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert kube_build.bin_dir("v1.34.12") == tmp_path / "tds" / "k8s" / "v1.34.12" / "bin"
    assert kube_build.missing_binaries("v1.34.12") == [*kube_build.BINARIES, "operator-crds"]


def write_binary(path: Path) -> None:
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)


@dataclass
class GoCall:
    args: list[str]
    env: dict[str, str]


class StandInGo:
    """``subprocess.run`` for kube_build: records each go call, answers ``mod download`` with a
    module folder holding the files read from it, and writes the binaries a build names."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.calls: list[GoCall] = []

    def __call__(self, args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        env: dict[str, str] = kwargs["env"]
        self.calls.append(GoCall(args[1:], env))
        stdout = ""
        if args[1:3] == ["mod", "download"]:
            stdout = json.dumps(self.module(args[-1]))
        elif args[1] == "build":
            out = args[args.index("-o") + 1]
            if not out.endswith("/"):
                write_binary(Path(out))
            for package in args[args.index("-o") + 2 :] if out.endswith("/") else []:
                # As go names them: the last element, or the one before a major version.
                elements = package.split("/")
                major = re.fullmatch(r"v([2-9]|[1-9][0-9]+)", elements[-1])
                write_binary(Path(out) / elements[-2 if major else -1])
        elif args[1] == "install":
            write_binary(Path(env["GOBIN"]) / "kwok")
        return subprocess.CompletedProcess(args, 0, stdout=stdout)

    def module(self, module_at_version: str) -> dict[str, str]:
        src = self.root / module_at_version.replace("/", "_")
        paths = [f"kustomize/stage/{stage}" for stage in kube_build.KWOK_STAGES]
        paths += [path for _, _, path in kube_build.OPERATOR_CRDS]
        for path in paths:
            (src / path).parent.mkdir(parents=True, exist_ok=True)
            (src / path).write_text("kind: Stage\n")
        (src / "go.mod").write_text(KUBERNETES_GO_MOD)
        return {"Dir": str(src), "GoMod": str(src / "go.mod")}

    def builds(self) -> list[GoCall]:
        return [call for call in self.calls if call.args[0] in ("build", "install")]


def test_the_control_plane_compiles_like_the_other_tools_and_links_stripped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """cgo off, no -trimpath and no DWARF, as mk/go.mk builds Jaeger, skaffold, helm and
    kustomize: the packages they share then come from Go's build cache (test_go_builds.py)."""
    go = StandInGo(tmp_path / "modules")
    monkeypatch.setattr(subprocess, "run", go)
    monkeypatch.setenv("TDS_K8S_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CGO_ENABLED", raising=False)

    built = kube_build.build("v1.34.12")

    assert built == ["etcd", "kwok", "operator-crds", *kube_build.KUBE_BINARIES]
    assert kube_build.missing_binaries("v1.34.12") == []
    builds = go.builds()
    for call in builds:
        assert call.env["CGO_ENABLED"] == "0"
        assert "-trimpath" not in call.args
        assert "-gcflags=all=-dwarf=false" in call.args
        ldflags = next(arg for arg in call.args if arg.startswith("-ldflags="))
        assert ldflags.removeprefix("-ldflags=").split()[:2] == ["-s", "-w"]
    # etcd, kwok, then the four Kubernetes binaries in one go build (links overlap compiles).
    assert len(builds) == 3
    assert builds[2].args[-4:] == [
        f"k8s.io/kubernetes/cmd/{name}" for name in kube_build.KUBE_BINARIES
    ]


@pytest.mark.parametrize(
    ("package", "name"),
    [
        ("go.etcd.io/etcd/server/v3", "server"),
        ("k8s.io/kubernetes/cmd/kubectl", "kubectl"),
        ("example.com/tool/v1", "v1"),
        ("example.com/tool/v10", "tool"),
    ],
)
def test_binary_names_follow_go_build(package: str, name: str) -> None:
    assert kube_build.go_binary_name(package) == name
