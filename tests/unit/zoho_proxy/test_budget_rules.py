"""The budget arithmetic: windows, daily reserve, in-flight, Zoho's headers and 429s."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from zoho_proxy.budget_rules import (
    BudgetState,
    Limits,
    apply_rate_headers,
    apply_zoho_throttle,
    decide,
    initial_state,
    retry_after,
)

T0 = datetime(2026, 6, 9, 12, 0, 0, tzinfo=UTC)
LIMITS = Limits(
    per_window=5,
    window_seconds=2.0,
    margin_seconds=0.1,
    max_in_flight=3,
    daily_limit=100,
    daily_reserve=20,
    daily_window_seconds=3600,
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_grants_until_the_window_is_full_then_says_when_it_frees() -> None:
    state = initial_state(T0, LIMITS)
    for i in range(5):
        decision = decide(replace(state, in_flight=0), at(i * 0.1), "bulk", LIMITS)
        assert decision.granted
        state = decision.state
    assert state.day_remaining == 95
    blocked = decide(replace(state, in_flight=0), at(0.5), "webhook", LIMITS)
    assert not blocked.granted and blocked.reason == "minute"
    # The first call (t=0) leaves the window at 2.0 + 0.1 margin.
    assert blocked.wait_seconds == pytest.approx(1.6)
    later = decide(replace(state, in_flight=0), at(2.11), "webhook", LIMITS)
    assert later.granted
    assert len(later.state.recent_calls) == 5  # t=0 dropped, t=2.11 added


def test_window_is_sliding_so_no_boundary_burst() -> None:
    state = initial_state(T0, LIMITS)
    for i in range(5):
        state = decide(replace(state, in_flight=0), at(1.9 + i * 0.01), "bulk", LIMITS).state
    # Just after a "fixed" boundary at t=2 a fixed window would allow 5 more; we do not.
    assert not decide(replace(state, in_flight=0), at(2.05), "bulk", LIMITS).granted


def test_in_flight_limit_blocks_without_a_known_wait() -> None:
    state = replace(initial_state(T0, LIMITS), in_flight=3)
    decision = decide(state, T0, "webhook", LIMITS)
    assert not decision.granted
    assert decision.reason == "in_flight"
    assert decision.wait_seconds is None


def test_bulk_stops_at_the_daily_reserve_while_webhooks_continue() -> None:
    state = replace(initial_state(T0, LIMITS), day_remaining=20)
    bulk = decide(state, T0, "bulk", LIMITS)
    assert not bulk.granted and bulk.reason == "daily_reserve"
    assert bulk.wait_seconds == pytest.approx(3600)
    incremental = decide(state, T0, "incremental", LIMITS)
    assert incremental.granted
    webhook = decide(replace(state, day_remaining=1), T0, "webhook", LIMITS)
    assert webhook.granted and webhook.state.day_remaining == 0
    spent = decide(webhook.state, T0, "webhook", LIMITS)
    assert not spent.granted and spent.reason == "daily"


def test_a_new_day_refills_the_quota() -> None:
    state = replace(initial_state(T0, LIMITS), day_remaining=0)
    decision = decide(state, at(3600), "bulk", LIMITS)
    assert decision.granted
    assert decision.state.day_remaining == 99
    assert decision.state.day_reset_at == at(7200)


def test_rate_headers_only_lower_the_countdown_within_a_day() -> None:
    state = replace(initial_state(T0, LIMITS), day_remaining=80)
    # Another app on the org spent calls: Zoho says 50 left (2 of ours still in flight).
    lowered = apply_rate_headers(
        state, at(1), limit=100, remaining=50, reset_seconds=3599, others_in_flight=2
    )
    assert lowered.day_remaining == 48
    assert lowered.day_reset_at == at(3600)
    # Zoho saying more than we think does not raise it (our in-flight calls may not have landed).
    same = apply_rate_headers(
        lowered, at(2), limit=100, remaining=90, reset_seconds=3598, others_in_flight=0
    )
    assert same.day_remaining == 48


def test_rate_headers_reset_the_day_when_zoho_rolled_over() -> None:
    state = replace(initial_state(T0, LIMITS), day_remaining=3)
    rolled = apply_rate_headers(
        state, at(10), limit=250, remaining=240, reset_seconds=86000, others_in_flight=1
    )
    assert rolled.day_limit == 250
    assert rolled.day_remaining == 239
    assert rolled.day_reset_at == at(86010)


def test_missing_headers_change_nothing() -> None:
    state = initial_state(T0, LIMITS)
    assert (
        apply_rate_headers(
            state, T0, limit=None, remaining=None, reset_seconds=None, others_in_flight=0
        )
        == state
    )


def test_zoho_429_codes_are_believed() -> None:
    state = initial_state(T0, LIMITS)
    minute = apply_zoho_throttle(state, T0, 44, LIMITS)
    blocked = decide(minute, at(1), "webhook", LIMITS)
    assert not blocked.granted and blocked.reason == "minute"
    daily = apply_zoho_throttle(state, T0, 45, LIMITS)
    assert daily.day_remaining == 0
    assert apply_zoho_throttle(state, T0, 1070, LIMITS) == state


def test_retry_after_is_whole_seconds_and_at_least_one() -> None:
    assert retry_after(0.2, 0.02) == 1
    assert retry_after(1.6, 0.02) == 2
    assert retry_after(None, 0.02) == 1


def test_budget_state_is_immutable() -> None:
    state = BudgetState((), 1, 1, T0)
    with pytest.raises(AttributeError):
        state.day_remaining = 0  # type: ignore[misc]


def test_the_log_keeps_only_what_can_still_decide() -> None:
    state = replace(initial_state(T0, LIMITS), recent_calls=tuple(at(i * 0.01) for i in range(50)))
    rolled = decide(state, at(0.6), "webhook", LIMITS)
    assert not rolled.granted
    assert len(rolled.state.recent_calls) == LIMITS.per_window
    assert rolled.state.recent_calls[-1] == at(0.49)
    assert rolled.wait_seconds == pytest.approx(0.45 + 2.1 - 0.6)


def test_lower_lanes_are_held_back_while_a_higher_lane_waits() -> None:
    from zoho_proxy.budget_rules import lane_priority, outranked

    waiting = {"webhook": 100.0}
    assert outranked("bulk", waiting, 99.0)
    assert outranked("incremental", waiting, 99.0)
    assert not outranked("webhook", waiting, 99.0)
    assert not outranked("bulk", waiting, 100.5)  # the advert lapsed
    assert outranked("bulk", {"incremental": 100.0}, 99.0)
    assert outranked("incremental", {"write": 100.0}, 99.0)
    assert not outranked("write", {"incremental": 100.0}, 99.0)
    later_writes = lane_priority(["webhook", "incremental", "write", "bulk"])
    assert outranked("write", {"incremental": 100.0}, 99.0, later_writes)
    state = initial_state(T0, LIMITS)
    held = decide(state, T0, "bulk", LIMITS, outranked=True)
    assert not held.granted and held.reason == "priority" and held.wait_seconds is None
    # The daily reserve still speaks first: waiting would not help.
    spent = decide(replace(state, day_remaining=1), T0, "bulk", LIMITS, outranked=True)
    assert spent.reason == "daily_reserve"
