"""The shared Dockerfile, read instruction by instruction for each of the five images with the
build args skaffold.yaml gives it (no Docker engine here).

hadolint (``make lint-k8s``) checks general Dockerfile practice; these tests check our rules:
pinned base, the two-step uv install of the package and its workspace dependencies, a non-root
runtime, SIGTERM, OCI labels, and the entry point and port the chart expects.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import tomllib

import pytest

from tests.unit.k8s.chartcheck import REPO_ROOT
from tests.unit.k8s.dockerfile import DOCKERFILE, parse, skaffold_build_args

IMAGES = {
    # Package directory: (distribution, module, port, settings prefix)
    "services/ingest": ("ingest", "ingest", 8001, "INGEST_"),
    "services/processor": ("processor", "processor", 8002, "PROCESSOR_"),
    "services/bulk-sync": ("bulk-sync", "bulk_sync", 8003, "BULK_SYNC_"),
    "services/zoho-proxy": ("zoho-proxy", "zoho_proxy", 8004, "ZOHO_PROXY_"),
    "tools/zoho-sim": ("zoho-sim", "zoho_sim", 8090, "ZOHO_SIM_"),
}
PINNED_BASE = re.compile(r"^python:3\.11\.\d+-slim-[a-z]+@sha256:[0-9a-f]{64}$")


def workspace_members() -> dict[str, str]:
    """Distribution name -> member directory, for every workspace member."""
    members = {}
    for manifest in [
        *REPO_ROOT.glob("services/*/pyproject.toml"),
        *REPO_ROOT.glob("tools/*/pyproject.toml"),
    ]:
        name = tomllib.loads(manifest.read_text("utf-8"))["project"]["name"]
        members[name] = str(manifest.parent.relative_to(REPO_ROOT))
    return members


def workspace_closure(distribution: str) -> set[str]:
    """The member directories a package needs: itself and its workspace dependencies."""
    members = workspace_members()
    needed, todo = set(), [distribution]
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        manifest = REPO_ROOT / members[name] / "pyproject.toml"
        for requirement in tomllib.loads(manifest.read_text("utf-8"))["project"]["dependencies"]:
            dependency = re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0]
            if dependency in members:
                todo.append(dependency)
    return {members[name] for name in needed}


@pytest.mark.parametrize("directory", sorted(IMAGES))
def test_dockerfile(directory: str) -> None:
    distribution, module, port, prefix = IMAGES[directory]
    args, stages = parse(DOCKERFILE, skaffold_build_args()[directory])
    assert PINNED_BASE.match(args["PYTHON_IMAGE"]), args
    by_name = {stage.name: stage for stage in stages}
    assert [stage.name for stage in stages] == ["builder", "base", "dev", "runtime"]
    assert by_name["builder"].base == by_name["base"].base == "${PYTHON_IMAGE}"
    assert by_name["runtime"].base == "base"  # the last stage: what `docker build` produces

    # Builder: locked third-party dependencies first, then our sources, non-editable.
    builder = by_name["builder"]
    runs = [shlex.split(run) for run in builder.all("RUN") if "uv sync" in run]
    assert len(runs) == 2
    first = runs[0][runs[0].index("uv") :]
    second = runs[1][runs[1].index("uv") :]
    assert first == [
        "uv",
        "sync",
        "--frozen",
        "--no-dev",
        "--no-install-workspace",
        "--package",
        distribution,
        "--package",
        "tds-cli",  # the operators' command line, in every image
    ]
    assert second == [
        "uv",
        "sync",
        "--frozen",
        "--no-dev",
        "--no-editable",
        "--package",
        distribution,
        "--package",
        "tds-cli",
    ]
    copies = [parts for copy in builder.all("COPY") if len(parts := copy.split()) == 2]
    manifests = {
        src.removesuffix("/pyproject.toml") for src, _ in copies if src.endswith("/pyproject.toml")
    }
    sources = {src.removesuffix("/src") for src, _ in copies if src.endswith("/src")}
    # Every image gets services/common (the shared library); uv installs it only where the
    # package depends on it (test_image_contents checks what the venv holds).
    closure = workspace_closure(distribution) | workspace_closure("tds-cli")
    assert closure <= manifests == sources
    assert manifests <= closure | {"services/common"}
    sync_steps = [i for i, (_, args) in enumerate(builder.instructions) if "uv sync" in args]
    copy_src = builder.instructions.index(("COPY", f"{directory}/src {directory}/src"))
    assert sync_steps[0] < copy_src < sync_steps[1]

    # Runtime: non-root, SIGTERM, the module the chart runs, on the port the chart probes.
    base = by_name["base"]
    user = base.all("USER")[-1]
    assert re.fullmatch(r"[1-9]\d*:[1-9]\d*", user), user
    assert base.all("STOPSIGNAL") == ["SIGTERM"]
    assert base.command() == ["python", "-m", module]
    assert base.all("EXPOSE") == [str(port)]
    assert base.env[f"{prefix}HOST"] == "0.0.0.0"
    assert (REPO_ROOT / directory / "src" / module / "__main__.py").is_file()
    labels = " ".join(base.all("LABEL"))
    for label in ("title", "description", "version", "revision", "base.name"):
        assert f"org.opencontainers.image.{label}=" in labels
    assert f'org.opencontainers.image.title="tds-{distribution}"' in labels
    assert 'description=""' not in labels
    assert base.all("COPY") == ["--from=builder /app/.venv /app/.venv"]
    assert not by_name["runtime"].instructions  # production adds nothing to base

    # Dev: pinned reloader, and the app user may write only its own packages.
    dev = " ".join(by_name["dev"].all("RUN"))
    assert "watchfiles==" in dev
    assert by_name["dev"].all("USER")[-1] == user
    packages = skaffold_build_args()[directory]["DEV_PACKAGES"].split()
    assert module in packages
    assert dev.endswith("chown -R 10001:10001 " + " ".join(packages))
    assert by_name["dev"].all("WORKDIR")[-1] == "/app/.venv/lib/python3.11/site-packages"
    assert by_name["dev"].command() == [
        "watchfiles",
        "--filter",
        "python",
        f"python -m {module}",
        *packages,
    ]


def test_every_image_is_built_from_the_shared_dockerfile() -> None:
    assert set(skaffold_build_args()) == set(IMAGES)
    for directory in IMAGES:
        assert not (REPO_ROOT / directory / "Dockerfile").exists()


@pytest.mark.parametrize("with_args", [False, True])
def test_missing_build_args_fail_the_build_early(with_args: bool) -> None:
    build_args = skaffold_build_args()["services/ingest"] if with_args else {}
    _, stages = parse(DOCKERFILE, build_args)
    builder = next(stage for stage in stages if stage.name == "builder")
    guard = builder.all("RUN")[0]  # before anything is installed or copied
    result = subprocess.run(["sh", "-c", guard], capture_output=True, text=True, check=False)
    assert result.returncode == (0 if with_args else 1)
    assert ("PACKAGE and PACKAGE_DIR are required" in result.stderr) is not with_args


def test_dockerignore_sends_only_what_the_images_need() -> None:
    lines = [
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text("utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    for needed in ("!pyproject.toml", "!uv.lock", "!services/*/pyproject.toml", "!services/*/src/"):
        assert needed in lines
