"""Budget variants that the HTTP tests do not cover: fixed windows, rejected calls counted."""

from __future__ import annotations

from zoho_sim.clock import Clock
from zoho_sim.limits import Budget
from zoho_sim.settings import LimitSettings


def _budget(**limits: object) -> tuple[Budget, Clock]:
    clock = Clock()
    settings = LimitSettings.model_validate({"per_minute": 3, **limits})
    return Budget(settings, clock, daily_quota=100, in_flight=50), clock


def _admit(budget: Budget) -> int | None:
    code = budget.admit()
    if code is None:
        budget.release()
    return code


def test_sliding_window_counts_any_span_of_the_window_length() -> None:
    budget, clock = _budget(minute_window_seconds=10)
    assert [_admit(budget) for _ in range(2)] == [None, None]
    clock.advance(6)
    assert _admit(budget) is None
    assert _admit(budget) == 44
    clock.advance(4.5)  # the first two left the window, the third has not
    assert [_admit(budget) for _ in range(3)] == [None, None, 44]


def test_fixed_window_resets_all_at_once() -> None:
    budget, clock = _budget(minute_window_seconds=10, minute_window_mode="fixed")
    assert [_admit(budget) for _ in range(4)] == [None, None, None, 44]
    clock.advance(10)
    assert [_admit(budget) for _ in range(4)] == [None, None, None, 44]


def test_counting_rejected_calls_keeps_a_hammering_client_blocked() -> None:
    budget, clock = _budget(minute_window_seconds=10, count_rejected=True)
    for _ in range(3):
        _admit(budget)
    clock.advance(9)
    assert _admit(budget) == 44
    clock.advance(2)  # the first three left, but the rejected call at t=9 still counts
    assert [_admit(budget) for _ in range(3)] == [None, None, 44]


def test_peak_counts_arrivals_in_any_window() -> None:
    budget, clock = _budget(per_minute=100, minute_window_seconds=10)
    for _ in range(5):
        _admit(budget)
        clock.advance(3)
    assert budget.peak_window_calls == 4
    assert budget.snapshot()["calls"] == 5


def test_daily_reset_header_counts_down() -> None:
    budget, clock = _budget(daily_window_seconds=100)
    _admit(budget)
    clock.advance(30)
    headers = budget.headers()
    assert headers == {
        "X-Rate-Limit-Limit": "100",
        "X-Rate-Limit-Remaining": "99",
        "X-Rate-Limit-Reset": "70",
    }
    clock.advance(250)
    assert budget.headers()["X-Rate-Limit-Remaining"] == "100"
    assert budget.headers()["X-Rate-Limit-Reset"] == "20"
