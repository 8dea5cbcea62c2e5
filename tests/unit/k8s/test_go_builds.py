"""Every Go build of a test tool compiles with one configuration, strips what no one reads, and
is not repeated on a machine that has built it.

The configuration (cgo on or off, ``-trimpath`` or not, compiler flags) is part of the key of
each compiled package in Go's build cache, so tools that share a dependency at the same version
compile it once only if they are built alike; DWARF and the symbol table cost compile and link
time and are never read. These run the real make targets (mk/go.mk, mk/jaeger.mk, mk/vegeta.mk,
mk/skaffold.mk, mk/k8s.mk) from a copy of the Makefile, against a stand-in ``go`` that records
how it was called and writes a binary that prints its version.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.unit.k8s.chartcheck import REPO_ROOT

# The stand-in `go`: `mod download -json`, `version -m` (knows no binary), `build -o` and
# `install` (GOBIN), each call appended to $FAKE_GO_LOG with the CGO_ENABLED it saw.
FAKE_GO = """\
import json, os, sys
from pathlib import Path

state = Path(os.environ["FAKE_GO_STATE"])
args = sys.argv[1:]
with open(os.environ["FAKE_GO_LOG"], "a") as log:
    log.write(json.dumps({"args": args, "cgo": os.environ.get("CGO_ENABLED")}) + "\\n")


def binary(path: Path) -> None:
    version = (state / "version").read_text()
    path.write_text(f"#!/bin/sh\\necho '{{\\"gitVersion\\":\\"{version}\\"}}'\\n")
    path.chmod(0o755)


if args[:3] == ["mod", "download", "-json"]:
    module, version = args[3].split("@")
    (state / "version").write_text(version)
    src = state / "src" / module.replace("/", "_")
    src.mkdir(parents=True, exist_ok=True)
    requires = "require (\\n\\tk8s.io/client-go v0.34.2\\n)\\n"
    (src / "go.mod").write_text(f"module {module}\\n\\n{requires}")
    info = {"Path": module, "Version": version, "Dir": str(src), "GoMod": str(src / "go.mod")}
    info["Sum"] = "h1:stand-in"  # go prints more keys after GoMod: its line ends with a comma
    print(json.dumps(info, indent="\\t"))
elif args[0] == "version":
    sys.exit(1)
elif args[0] == "build":
    binary(Path(args[args.index("-o") + 1]))
elif args[0] == "install":
    parts = args[-1].split("@")[0].split("/")
    name = parts[-2] if parts[-1][:1] == "v" and parts[-1][1:].isdigit() else parts[-1]
    binary(Path(os.environ["GOBIN"]) / name)
"""
TOOLS = ("jaeger", "skaffold", "helm", "kustomize", "vegeta")


@pytest.fixture(name="project")
def fixture_project(tmp_path: Path) -> Path:
    """A folder with the Makefile and mk/*.mk only: what the targets write stays in tmp_path."""
    project = tmp_path / "project"
    shutil.copytree(REPO_ROOT / "mk", project / "mk")
    shutil.copy(REPO_ROOT / "Makefile", project)
    fake_go = tmp_path / "go"
    fake_go.write_text(f"#!{sys.executable}\n{FAKE_GO}")
    fake_go.chmod(0o755)
    (tmp_path / "state").mkdir()
    return project


@dataclass(frozen=True)
class GoCall:
    args: list[str]
    cgo: str | None

    @property
    def builds(self) -> bool:
        return self.args[0] in ("build", "install")

    @property
    def ldflags(self) -> str:
        for index, arg in enumerate(self.args):
            if arg == "-ldflags":
                return self.args[index + 1]
            if arg.startswith("-ldflags="):
                return arg.removeprefix("-ldflags=")
        return ""


def builds(project: Path, *targets: str) -> list[GoCall]:
    """Run the targets with the stand-in go; the builds and installs they asked go for."""
    log = project.parent / "go.log"
    log.unlink(missing_ok=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GO", "CGO_", "MAKE", "MFLAGS"))
    }
    env |= {
        "XDG_CACHE_HOME": str(project.parent / "cache"),
        "FAKE_GO_LOG": str(log),
        "FAKE_GO_STATE": str(project.parent / "state"),
    }
    result = subprocess.run(
        ["make", "--no-print-directory", f"GO={project.parent / 'go'}", *targets],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = log.read_text().splitlines() if log.exists() else []
    calls = [GoCall(**json.loads(line)) for line in lines]
    return [call for call in calls if call.builds]


def test_every_tool_compiles_alike_without_cgo_trimpath_or_dwarf_and_links_stripped(
    project: Path,
) -> None:
    calls = builds(project, *TOOLS)
    assert len(calls) == len(TOOLS)
    for call in calls:
        assert call.cgo == "0", call.args
        assert "-trimpath" not in call.args
        assert "-gcflags=all=-dwarf=false" in call.args
        assert call.ldflags.split()[:2] == ["-s", "-w"], call.args


def test_the_version_stamps_survive_the_stripping(project: Path) -> None:
    jaeger, skaffold = (call.ldflags for call in builds(project, "jaeger", "skaffold"))
    assert "-X github.com/jaegertracing/jaeger/internal/version.latestVersion=v1.76.0" in jaeger
    assert "version.version=v2.16.1" in skaffold


def test_a_tool_built_on_this_machine_is_copied_not_built_again(project: Path) -> None:
    assert len(builds(project, *TOOLS)) == len(TOOLS)
    assert builds(project, *TOOLS) == []
    # A fresh clone: nothing in .local/bin, the machine's cache holds every binary.
    shutil.rmtree(project / ".local")
    assert builds(project, *TOOLS) == []
    for tool in TOOLS:
        assert os.access(project / ".local" / "bin" / tool, os.X_OK)
