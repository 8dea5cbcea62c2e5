"""The wrapper modules that build kubernetes and etcd from the Go module proxy."""

from __future__ import annotations

from pathlib import Path

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
