"""What a fresh clone's ``make test`` reuses from the machine instead of redoing it.

uv's cache: the Makefile leaves uv its default link mode (hard links into the cache), so a new
``.venv`` is linked, not copied. mypy's cache: ``make typecheck`` starts a clone without a cache
of its own from the one the machine's last passing run published, and that cache must never
hide a type error. These run the real ``make typecheck`` on a small package in two folders that
play two clones (mypy keys its cache by module, and by path only until the content hash
matches), with the shared cache in a temporary folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.utils.tools import REPO_ROOT

PACKAGE = "typedemo"
CORE = 'def name() -> str:\n    return "tds"\n'
CORE_CHANGED = "def name() -> int:\n    return 1\n"
USE = f"from {PACKAGE}.core import name\n\nGREETING: str = name()\n"


def _make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=REPO_ROOT,
        # Neither a link mode nor an outer make's flags (make test runs pytest) from this run.
        env={
            name: value
            for name, value in os.environ.items()
            if name != "UV_LINK_MODE" and not name.startswith(("MAKE", "MFLAGS"))
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _clone(root: Path, core: str = CORE) -> Path:
    """A folder holding the package as a clone would, with no mypy cache of its own."""
    package = root / PACKAGE
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "core.py").write_text(core)
    (package / "use.py").write_text(USE)
    return root


def _typecheck(clone: Path, shared: Path, *mypy_args: str) -> subprocess.CompletedProcess[str]:
    return _make(
        "typecheck",
        f"MYPY_PATHS={clone / PACKAGE}",
        f"MYPY_CACHE={clone / '.mypy_cache'}",
        f"MYPY_SHARED_CACHE={shared}",
        f"MYPY_ARGS={' '.join(mypy_args)}",
    )


@pytest.fixture(scope="module", name="shared_cache")
def fixture_shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The machine's mypy cache as a first clone's passing run published it."""
    root = tmp_path_factory.mktemp("machine")
    shared = root / "cache" / "mypy.tar"
    first = _typecheck(_clone(root / "first"), shared)
    assert first.returncode == 0, first.stdout + first.stderr
    assert shared.is_file(), "a passing run publishes its cache for the next clone"
    shutil.rmtree(root / "first")  # the next clone cannot fall back on the first one's files
    return shared


def test_make_leaves_uv_its_default_hard_links() -> None:
    shown = _make("--eval", 'link-mode: ; @echo "[$${UV_LINK_MODE-}]"', "link-mode")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "[]"


def test_a_fresh_clone_starts_from_the_machines_mypy_cache(
    shared_cache: Path, tmp_path: Path
) -> None:
    clone = _clone(tmp_path / "second")
    result = _typecheck(clone, shared_cache, "--verbose")
    assert result.returncode == 0, result.stdout + result.stderr
    log = result.stderr
    for module in (PACKAGE, f"{PACKAGE}.core", f"{PACKAGE}.use"):
        # mypy's word for a cached module taken over at a new path after its hash matched.
        assert f"Updating mtime for {module}: file {clone}" in log, log[-3000:]
    assert f"Metadata abandoned for {PACKAGE}" not in log


def test_a_type_error_still_fails_a_fresh_clone_started_from_that_cache(
    shared_cache: Path, tmp_path: Path
) -> None:
    published = shared_cache.read_bytes()
    clone = _clone(tmp_path / "changed", core=CORE_CHANGED)
    result = _typecheck(clone, shared_cache)
    assert result.returncode != 0
    # The error is in the module that did not change: its cached check no longer holds.
    assert (
        f'{PACKAGE}/use.py:3: error: Incompatible types in assignment (expression has type "int"'
        in result.stdout
    )
    assert shared_cache.read_bytes() == published, "a failing run publishes nothing"
