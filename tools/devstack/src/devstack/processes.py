"""Start, track and stop background processes of the local stack.

Each process started by ``make up`` gets a pid file under ``.local/pids``; ``make down`` stops
only those pids (their whole process group), so nothing else on the machine is touched.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from devstack.paths import log_dir, state_dir

STOP_GRACE_SECONDS: Final = 20.0


def pid_file(name: str) -> Path:
    directory = state_dir() / "pids"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{name}.pid"


def read_pid(name: str) -> int | None:
    path = pid_file(name)
    try:
        pid = int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited child not yet reaped) still answers kill(0); look at its state.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(port: int, *, timeout: float, name: str, pid: int | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return
        if pid is not None and not pid_alive(pid):
            raise RuntimeError(f"{name} exited during start; see {log_dir() / (name + '.log')}")
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not open port {port} within {timeout:.0f}s")


def start_background(
    name: str,
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
) -> int:
    """Start ``command`` detached in its own session, logging to ``.local/logs/<name>.log``."""
    log = (log_dir() / f"{name}.log").open("ab")
    process = subprocess.Popen(
        list(command),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        start_new_session=True,
        user=user,
    )
    pid_file(name).write_text(str(process.pid))
    return process.pid


def stop(name: str, *, grace: float = STOP_GRACE_SECONDS, sig: int = signal.SIGTERM) -> bool:
    """Stop a tracked process group: ``sig``, then SIGKILL after ``grace``. True if it ran."""
    pid = read_pid(name)
    pid_file(name).unlink(missing_ok=True)
    if pid is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.1)
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    return True
