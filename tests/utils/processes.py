"""Stopping the servers the tests and the benches start as subprocesses."""

from __future__ import annotations

import subprocess


def stop_process(process: subprocess.Popen[bytes], *, grace_seconds: float = 10.0) -> None:
    """SIGTERM, and SIGKILL if it is still running ``grace_seconds`` later (a server that hangs
    in its shutdown must not hang the session that started it)."""
    process.terminate()
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
