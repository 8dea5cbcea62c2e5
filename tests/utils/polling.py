"""Waiting in tests for state another task, thread or process changes.

A bound on the wait keeps a broken test from hanging; it is a liveness bound, never a speed
assertion, so it is generous.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

WAIT_SECONDS = 60.0


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
