"""The budget arithmetic, pure: may a call start now, and if not, how long until it may?

Kept free of I/O so it is unit-tested exhaustively; :mod:`zoho_proxy.budget` runs it inside a
PostgreSQL row lock, which makes each decision atomic across replicas.

Per organization and product there are three limits (docs/zoho-api.md#rate-limits):

- the rate window: a sliding log of calls. Sliding rather than fixed, because a fixed window
  lets 2x the limit through around a boundary, and Zoho's own windowing is unknown. A call
  enters the log when granted; when its answer arrives the entry moves to the answer's time
  (Zoho counted it somewhere in between) and stays for ``window + margin``.
- the daily quota: our own countdown, corrected from Zoho's ``X-Rate-Limit-*`` headers. The bulk
  lane stops at ``daily_reserve`` so live traffic always has calls left.
- calls in flight: leases counted by the caller and passed in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Final, Literal

from tds_common.proxy_client import LANES as LANES
from tds_common.proxy_client import Lane as Lane

LANE_PRIORITY: Final[dict[str, int]] = {"webhook": 0, "write": 1, "incremental": 2, "bulk": 3}
"""Lower runs first. The default of ``ZOHO_PROXY_LANE_ORDER``, which may move ``write`` (the
ERP's write-back) below ``incremental``; webhooks stay first and bulk last."""


def lane_priority(order: Sequence[str]) -> dict[str, int]:
    """Ranks from a lane order (first runs first)."""
    return {lane: rank for rank, lane in enumerate(order)}


Reason = Literal["minute", "in_flight", "daily", "daily_reserve", "priority"]

NEW_DAY_SLACK_SECONDS: Final = 2.0
"""A reported reset this much later than ours means Zoho's daily window rolled over
(``X-Rate-Limit-Reset`` is whole seconds, so smaller moves are rounding)."""


@dataclass(frozen=True)
class Limits:
    """The configured limits of one organization and product."""

    per_window: int
    window_seconds: float
    margin_seconds: float
    max_in_flight: int
    daily_limit: int
    daily_reserve: int
    daily_window_seconds: float

    @property
    def window(self) -> timedelta:
        """How long a call counts against the rate window."""
        return timedelta(seconds=self.window_seconds + self.margin_seconds)


@dataclass(frozen=True)
class BudgetState:
    """One organization's and product's budget as stored (``zoho_proxy_budgets`` row)."""

    recent_calls: tuple[datetime, ...]
    day_limit: int
    day_remaining: int
    day_reset_at: datetime
    in_flight: int = 0


@dataclass(frozen=True)
class Decision:
    """Whether the call may start; if not, why and how long until it might."""

    granted: bool
    state: BudgetState
    reason: Reason | None = None
    wait_seconds: float | None = None
    """Seconds until the blocking limit frees up; ``None`` when only a release can free it."""
    notes: dict[str, float] = field(default_factory=dict)


def initial_state(now: datetime, limits: Limits) -> BudgetState:
    return BudgetState(
        recent_calls=(),
        day_limit=limits.daily_limit,
        day_remaining=limits.daily_limit,
        day_reset_at=now + timedelta(seconds=limits.daily_window_seconds),
    )


def roll(state: BudgetState, now: datetime, limits: Limits) -> BudgetState:
    """Drop calls that left the rate window (and all but the newest ``per_window``: older ones
    cannot decide anything); start a new day when the daily window passed."""
    cutoff = now - limits.window
    recent = tuple(sorted(t for t in state.recent_calls if t > cutoff)[-limits.per_window :])
    if now >= state.day_reset_at:
        return replace(
            state,
            recent_calls=recent,
            day_remaining=state.day_limit,
            day_reset_at=now + timedelta(seconds=limits.daily_window_seconds),
        )
    return replace(state, recent_calls=recent)


def decide(
    state: BudgetState,
    now: datetime,
    lane: Lane,
    limits: Limits,
    *,
    outranked: bool = False,
) -> Decision:
    """Grant the call (and charge it) or say which limit blocks it and for how long.

    ``outranked``: callers of a higher lane are waiting (on any replica); they go first.
    """
    state = roll(state, now, limits)
    floor = limits.daily_reserve if lane == "bulk" else 0
    if state.day_remaining <= floor:
        reason: Reason = "daily_reserve" if state.day_remaining > 0 else "daily"
        wait = max(0.0, (state.day_reset_at - now).total_seconds())
        return Decision(False, state, reason, wait)
    if outranked:
        return Decision(False, state, "priority", None)
    if len(state.recent_calls) >= limits.per_window:
        frees_at = sorted(state.recent_calls)[len(state.recent_calls) - limits.per_window]
        wait = max(0.0, (frees_at + limits.window - now).total_seconds())
        return Decision(False, state, "minute", wait)
    if state.in_flight >= limits.max_in_flight:
        return Decision(False, state, "in_flight", None)
    granted = replace(
        state,
        recent_calls=(*state.recent_calls, now),
        day_remaining=state.day_remaining - 1,
        in_flight=state.in_flight + 1,
    )
    return Decision(True, granted)


def apply_rate_headers(
    state: BudgetState,
    now: datetime,
    *,
    limit: int | None,
    remaining: int | None,
    reset_seconds: float | None,
    others_in_flight: int,
) -> BudgetState:
    """Correct the daily countdown from Zoho's ``X-Rate-Limit-Limit/Remaining/Reset``.

    Zoho's quota is shared with every other app on the organization, so its ``remaining`` can
    only lower ours, except when its window rolled over (the reset moved later), when it is the
    new truth. Calls of ours still in flight may not have reached Zoho yet: they are subtracted,
    which errs on the safe side.
    """
    day_limit = limit if limit is not None and limit > 0 else state.day_limit
    if remaining is None:
        return replace(state, day_limit=day_limit)
    reported = max(0, remaining - others_in_flight)
    if reset_seconds is None:
        return replace(state, day_limit=day_limit, day_remaining=min(state.day_remaining, reported))
    reported_reset = now + timedelta(seconds=reset_seconds)
    new_day = now >= state.day_reset_at or reported_reset > state.day_reset_at + timedelta(
        seconds=NEW_DAY_SLACK_SECONDS
    )
    day_remaining = reported if new_day else min(state.day_remaining, reported)
    return replace(
        state, day_limit=day_limit, day_remaining=day_remaining, day_reset_at=reported_reset
    )


def apply_zoho_throttle(
    state: BudgetState, now: datetime, code: int, limits: Limits
) -> BudgetState:
    """Zoho answered 429 anyway (another app on the org spent the budget): believe it.

    Code 44 (per minute) fills our window for a full window from now; 45 (daily) empties the
    day. 1070 (in flight) needs nothing: the call is retried after a short wait.
    """
    if code == 44:
        return replace(state, recent_calls=(*state.recent_calls, *([now] * limits.per_window)))
    if code == 45:
        return replace(state, day_remaining=0)
    return state


def outranked(
    lane: Lane,
    lane_waiting: dict[str, float],
    now_epoch: float,
    priority: Mapping[str, int] = LANE_PRIORITY,
) -> bool:
    """Whether a lane above ``lane`` has callers waiting (advertised until a Unix time)."""
    rank = priority[lane]
    return any(
        until > now_epoch and priority.get(other, rank) < rank
        for other, until in lane_waiting.items()
    )


def retry_after(wait_seconds: float | None, poll_seconds: float) -> float:
    """The Retry-After we send: at least one second, whole seconds."""
    return float(max(1, math.ceil(wait_seconds if wait_seconds is not None else poll_seconds)))
