"""The caller's deadline: ``X-TDS-Timeout-Seconds`` says how long the caller waits for an answer.

Within that time the proxy answers, one way or another: the wait for budget is cut to it (then
our 429), no retry starts that could not finish before it, and a Zoho call's timeout never
reaches past it. So the proxy never keeps calling Zoho, and spending budget, for a caller that
has already given up (the processor's thin-event reads send it). Without the header the proxy's
own bounds apply (lane waits, ``REQUEST_TIMEOUT_SECONDS``, ``RETRY_ATTEMPTS``).

The deadline lives in a context variable for the request, so the budget and the Zoho client
read it without every signature carrying it.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from fastapi import Request

from tds_common.proxy_client import TIMEOUT_HEADER
from zoho_proxy.errors import BadRequestError

_DEADLINE: ContextVar[float | None] = ContextVar("tds_caller_deadline", default=None)


def _announced(request: Request) -> float | None:
    raw = request.headers.get(TIMEOUT_HEADER)
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise BadRequestError(f"{TIMEOUT_HEADER} must be a positive number of seconds")
    return seconds


@contextmanager
def caller_deadline(request: Request) -> Iterator[None]:
    """Honour the request's ``X-TDS-Timeout-Seconds`` (400 when it is not a positive number)."""
    seconds = _announced(request)
    deadline = None if seconds is None else asyncio.get_running_loop().time() + seconds
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def seconds_left() -> float | None:
    """Time left before the caller gives up; ``None`` when the caller announced no timeout."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return None
    return deadline - asyncio.get_running_loop().time()
