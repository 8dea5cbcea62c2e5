"""bench_bulk_budget's measure of how fully zoho-proxy spends a sliding rate window."""

from __future__ import annotations

import pytest

from bench.bench_bulk_budget import in_trailing_window, slot_turnaround, window_use

LIMIT, WINDOW = 3, 1.0


def _bursts(every: float, count: int) -> list[float]:
    """``LIMIT`` calls at once, every ``every`` seconds."""
    return [n * every for n in range(count) for _ in range(LIMIT)]


def test_a_window_spent_as_soon_as_it_frees_is_fully_used() -> None:
    # The sawtooth a sliding window gives bursts: full, then empty the instant a burst leaves.
    calls = _bursts(WINDOW, 5)
    assert in_trailing_window(calls, WINDOW, 2.0) == LIMIT
    assert in_trailing_window(calls, WINDOW, 2.5) == LIMIT
    assert window_use(calls, LIMIT, WINDOW, start=1.0, end=4.0) == pytest.approx(1.0)
    assert slot_turnaround(calls, LIMIT, WINDOW) == [0.0] * (len(calls) - LIMIT)


def test_time_a_slot_sits_unused_beyond_the_window_lowers_the_use() -> None:
    calls = _bursts(1.25, 6)  # each slot is spent again a quarter window late
    assert window_use(calls, LIMIT, WINDOW, start=1.25, end=6.25) == pytest.approx(0.8)
    assert slot_turnaround(calls, LIMIT, WINDOW) == [pytest.approx(0.25)] * (len(calls) - LIMIT)


def test_calls_spread_evenly_count_like_bursts() -> None:
    calls = [n / LIMIT for n in range(4 * LIMIT)]  # one call every third of the window
    assert window_use(calls, LIMIT, WINDOW, start=1.0, end=4.0) == pytest.approx(1.0)


def test_only_the_instants_between_start_and_end_count() -> None:
    calls = [0.0] * LIMIT + _bursts(WINDOW, 2)  # a first window taken twice over
    assert window_use(calls, LIMIT, WINDOW, start=1.0, end=2.0) == pytest.approx(1.0)
    assert window_use(calls, LIMIT, WINDOW, start=0.0, end=1.0) == pytest.approx(2.0)
