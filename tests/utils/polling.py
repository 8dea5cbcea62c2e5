"""Waiting in tests (and the benches) for state another task, thread or process changes.

A bound on the wait keeps a broken test from hanging; it is a liveness bound, never a speed
assertion, so it is generous.
"""

from __future__ import annotations

import asyncio
import inspect
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

WAIT_SECONDS = 60.0
LOG_TAIL_CHARS = 2000
"""How much of a failed server's log a startup error quotes."""


async def wait_until(
    check: Callable[[], bool | Awaitable[bool]],
    *,
    what: str,
    limit_seconds: float = WAIT_SECONDS,
    interval_seconds: float = 0.1,
) -> None:
    """Poll ``check`` (plain or async) until it holds; fail naming ``what`` after the limit."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_seconds
    while True:
        outcome = check()
        if await outcome if inspect.isawaitable(outcome) else outcome:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(interval_seconds)


def wait_ready(
    url: str,
    *,
    what: str,
    limit_seconds: float = WAIT_SECONDS,
    process: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
    interval_seconds: float = 0.2,
) -> None:
    """Block until ``GET url`` answers 200: a server starting in another process or thread.

    With ``process`` it fails as soon as that process exits instead of waiting out the limit;
    the error quotes the end of ``log`` (the server's output), which says why.
    """
    deadline = time.monotonic() + limit_seconds
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}{_tail(log)}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass  # not listening yet
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready after {limit_seconds:g} s{_tail(log)}")
        time.sleep(interval_seconds)


def _tail(log: Path | None) -> str:
    if log is None:
        return ""
    try:
        return ": " + log.read_text(errors="replace")[-LOG_TAIL_CHARS:]
    except OSError:
        return ""
