"""How long to wait before trying again, and waiting that stops early on shutdown.

One formula for every retry in TDS: exponential growth from ``initial`` (doubling per attempt,
capped at ``ceiling``) with *equal jitter*: a random delay between half and all of that bound.
Half the bound is fixed, so retries always back off; the random half spreads replicas that
failed together (AWS Architecture Blog, "Exponential Backoff And Jitter"). Loops driven by
tenacity use :func:`tenacity_wait`, so they follow the same formula.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from typing import Any


def backoff_seconds(attempt: int, initial: float, ceiling: float) -> float:
    """The delay before retry ``attempt`` (1 for the first): between half and all of
    ``min(ceiling, initial * 2**(attempt - 1))``."""
    bound = min(ceiling, initial * 2 ** max(0, attempt - 1))
    return random.uniform(bound / 2, bound)  # jitter, not crypto


def tenacity_wait(initial: float, ceiling: float) -> Callable[[Any], float]:
    """:func:`backoff_seconds` as a tenacity ``wait`` (it reads ``attempt_number``)."""
    return lambda state: backoff_seconds(state.attempt_number, initial, ceiling)


async def sleep_unless_stopping(stop: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds``, or less when ``stop`` is set meanwhile; True when stopping."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), max(0.0, seconds))
    return stop.is_set()
