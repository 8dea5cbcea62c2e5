"""One backoff formula (equal jitter), its tenacity form, and a sleep that ends on shutdown."""

from __future__ import annotations

import asyncio
import random
from types import SimpleNamespace

import pytest

from tds_common.backoff import backoff_seconds, sleep_unless_stopping, tenacity_wait


@pytest.mark.parametrize(
    ("attempt", "bound"), [(1, 0.5), (2, 1.0), (3, 2.0), (7, 30.0), (50, 30.0)]
)
def test_the_delay_is_between_half_and_all_of_the_capped_exponential_bound(
    attempt: int, bound: float
) -> None:
    delays = [backoff_seconds(attempt, 0.5, 30.0) for _ in range(200)]
    assert all(bound / 2 <= d <= bound for d in delays)
    assert max(delays) - min(delays) > bound / 10  # jittered, not a constant


def test_the_jitter_spans_the_upper_half(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(random, "uniform", lambda low, high: (low, high))
    assert backoff_seconds(3, 1.0, 60.0) == (2.0, 4.0)  # type: ignore[comparison-overlap]


def test_tenacity_loops_follow_the_same_formula() -> None:
    wait = tenacity_wait(1.0, 8.0)
    for attempt, bound in ((1, 1.0), (4, 8.0), (9, 8.0)):
        assert bound / 2 <= wait(SimpleNamespace(attempt_number=attempt)) <= bound


async def test_the_sleep_ends_when_stopping_and_says_so() -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.01, stop.set)
    assert await asyncio.wait_for(sleep_unless_stopping(stop, 3600), 5) is True


async def test_the_sleep_runs_its_course_when_not_stopping() -> None:
    stop = asyncio.Event()
    assert await sleep_unless_stopping(stop, 0.01) is False
    assert await sleep_unless_stopping(stop, -1) is False  # a past deadline does not wait
