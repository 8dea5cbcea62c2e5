"""Each image's Python environment, built the way the Dockerfile builds it, can start the service.

There is no Docker engine here, so the builder stage is replayed with uv itself, with the image's
build args from skaffold.yaml: the files the Dockerfile COPYs go into an empty directory, the
Dockerfile's own ``uv sync`` commands run there into a fresh venv, the sources are removed (the
runtime stage has none), and the venv must import the service's entry point. This catches what
the development workspace hides: ``uv sync --all-packages`` installs every member's
dependencies, so a service that imports a library it does not declare works on a laptop and
crashes in its image.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.k8s.chartcheck import REPO_ROOT
from tests.unit.k8s.dockerfile import DOCKERFILE, context_files, parse, skaffold_build_args
from tests.unit.k8s.values_cases import VALUES_FILE, load_yaml
from tests.utils.tools import project_uv

# The first test to need helm (or uv's package cache) may build it: minutes on a cold machine.
pytestmark = pytest.mark.timeout(900)


IMAGES = {
    # Package directory: modules the container imports at start (its `python -m` target and
    # what that loads), executables the chart runs from the venv.
    "services/ingest": (["ingest.__main__", "ingest.app"], []),
    # The processor image also runs the migration hook: tds_common.migrate and its SQL files.
    "services/processor": (["processor.__main__", "processor.app", "tds_common.migrate"], []),
    # The same image runs the operator: kopf and the handlers module of operator.command.
    "services/bulk-sync": (["bulk_sync.__main__", "bulk_sync.app", "bulk_sync.handlers"], ["kopf"]),
    "services/zoho-proxy": (["zoho_proxy.__main__", "zoho_proxy.app"], []),
    "tools/zoho-sim": (["zoho_sim.__main__", "zoho_sim.app"], []),
}


def replay_builder(directory: str, build_dir: Path, venv: Path) -> None:
    """COPY and RUN uv sync as the builder stage does, with the venv at ``venv``."""
    _, stages = parse(DOCKERFILE, skaffold_build_args()[directory])
    builder = next(stage for stage in stages if stage.name == "builder")
    env = {
        **os.environ,
        "UV_PROJECT_ENVIRONMENT": str(venv),
        "UV_PYTHON": sys.executable,
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_PROGRESS": "1",
    }
    env.pop("VIRTUAL_ENV", None)
    for keyword, args in builder.instructions:
        if keyword == "COPY":
            *sources, target = args.split()
            for source in sources:
                sent = context_files(source)
                assert sent, f"COPY {source}: .dockerignore keeps it out of the build context"
                destination = build_dir / (target if target != "./" else Path(source).name)
                for path in sent:
                    copied = (
                        destination
                        if path == REPO_ROOT / source
                        else destination / path.relative_to(REPO_ROOT / source)
                    )
                    copied.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, copied)
        elif keyword == "RUN" and "uv sync" in args:
            # The Dockerfile says `uv`; here that is the project's own uv, not the PATH's.
            command = [str(project_uv()), *shlex.split(args[args.index("uv sync") :])[1:]]
            result = subprocess.run(
                command, cwd=build_dir, env=env, capture_output=True, text=True, timeout=600
            )
            assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("directory", sorted(IMAGES))
def test_image_environment_starts_the_service(directory: str, tmp_path: Path) -> None:
    modules, executables = IMAGES[directory]
    build_dir, venv = tmp_path / "src", tmp_path / "venv"
    build_dir.mkdir()
    replay_builder(directory, build_dir, venv)
    shutil.rmtree(build_dir)  # the runtime stage copies only the venv
    script = (
        "import importlib, sys\n"
        "for name in sys.argv[1:]: importlib.import_module(name)\n"
        "if 'tds_common.migrate' in sys.argv:\n"
        "    from tds_common.migrate import MIGRATIONS_DIR\n"
        "    assert sorted(MIGRATIONS_DIR.glob('*.sql')), 'no migrations in the image'\n"
    )
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", script, *modules],
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for executable in executables:
        assert (venv / "bin" / executable).is_file(), executable
    # Every image carries the operators' command line, and it starts there.
    tds = subprocess.run(
        [str(venv / "bin" / "tds"), "--help"],
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert tds.returncode == 0, tds.stderr[-2000:]
    assert "doctor" in tds.stdout
    # Exactly the workspace packages the dev stage makes writable are installed (chown fails
    # on a missing one); services/common is copied into every builder, installed only if needed.
    (site,) = venv.glob("lib/python3.*/site-packages")
    workspace = {path.name for path in REPO_ROOT.glob("*/*/src/*") if path.is_dir()}
    installed = {name for name in workspace if (site / name).is_dir()}
    assert installed == set(skaffold_build_args()[directory]["DEV_PACKAGES"].split())


def test_operator_command_runs_a_module_the_image_checks() -> None:
    command = load_yaml(VALUES_FILE)["operator"]["command"]
    assert command[:2] == ["kopf", "run"]
    module = command[command.index("--module") + 1]
    assert module in IMAGES["services/bulk-sync"][0]
