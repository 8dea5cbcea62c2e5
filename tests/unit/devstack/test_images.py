"""`make images`: what buildah is asked to build, without building (the build itself is minutes)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from devstack import images
from devstack.paths import repo_root
from tests.unit.k8s.test_image_contents import IMAGES


def test_every_image_skaffold_builds_is_built_and_checked() -> None:
    built = {image.build_args["PACKAGE_DIR"] for image in images.skaffold_images()}
    assert built == set(IMAGES)


def _captured_build(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    commands: list[list[str]] = []

    def run(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        commands.append(command)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(images, "_run", run)
    ingest = next(i for i in images.skaffold_images() if i.name == "tds-ingest")
    images.build(ingest)
    [command] = commands
    return command


def test_the_base_is_ours_and_the_build_args_are_skaffolds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    command = _captured_build(monkeypatch)
    assert f"PYTHON_IMAGE={images.BASE_IMAGE}" in command
    assert "PACKAGE_DIR=services/ingest" in command
    assert command[command.index("--target") + 1] == "runtime"
    assert "--volume" not in command
    assert "UV_NATIVE_TLS=1" not in command


def test_a_proxy_ca_bundle_is_lent_read_only_to_the_build(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    command = _captured_build(monkeypatch)
    assert command[command.index("--volume") + 1] == f"{bundle}:{images.SYSTEM_CA_BUNDLE}:ro"
    assert "UV_NATIVE_TLS=1" in command


def test_the_image_is_told_the_commit_it_is_built_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    command = _captured_build(monkeypatch)
    assert f"REVISION={commit}" in command


def test_the_dockerfile_hands_the_revision_to_the_services_build_info() -> None:
    dockerfile = (repo_root() / "Dockerfile").read_text(encoding="utf-8")
    assert "TDS_GIT_SHA=${REVISION}" in dockerfile
