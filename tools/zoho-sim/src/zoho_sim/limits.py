"""Zoho's API call limits for one organization and product (docs/zoho-api.md#rate-limits).

Three limits, each answered with HTTP 429 and no Retry-After: the daily quota by plan (code 45),
calls per minute (code 44) and calls in flight (code 1070). Besides enforcing them, a budget
records what the caller did: the most calls that arrived in any window of the minute-window's
length (including rejected ones, so a test can prove a client never overran), the in-flight
peak and 429s by code, and when each admitted call arrived (the last ``ADMISSION_LOG``), so a
client's use of the window can be measured call by call.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from typing import Final

from zoho_sim.clock import Clock
from zoho_sim.settings import LimitSettings

ADMISSION_LOG: Final = 10_000
"""Admission times kept per budget: enough for several windows of any limit Zoho has."""


class Budget:
    """Limits and counters of one (org, product) pool."""

    def __init__(self, limits: LimitSettings, clock: Clock, daily_quota: int, in_flight: int):
        self._limits = limits
        self._clock = clock
        self.daily_quota = daily_quota
        self.in_flight_limit = in_flight
        now = clock.monotonic()
        self._started = now
        self.admissions: deque[float] = deque(maxlen=ADMISSION_LOG)
        """Seconds from the budget's start to each admitted call's arrival, oldest first."""
        self._admitted: deque[float] = deque()
        self._fixed_start = now
        self._fixed_count = 0
        self._arrivals: deque[float] = deque()
        self._admitted_window: deque[float] = deque()
        self.peak_window_calls = 0
        self.peak_window_admitted = 0
        self._daily_start = now
        self.daily_used = 0
        self.in_flight = 0
        self.in_flight_peak = 0
        self.throttled: Counter[int] = Counter()
        self.calls = 0

    def configure(self, limits: LimitSettings, daily_quota: int, in_flight: int) -> None:
        self._limits = limits
        self.daily_quota = daily_quota
        self.in_flight_limit = in_flight

    def _roll_daily(self, now: float) -> None:
        window = self._limits.daily_window_seconds
        if now >= self._daily_start + window:
            self._daily_start += window * math.floor((now - self._daily_start) / window)
            self.daily_used = 0

    def _minute_full(self, now: float) -> bool:
        window = self._limits.minute_window_seconds
        if self._limits.minute_window_mode == "fixed":
            if now >= self._fixed_start + window:
                self._fixed_start = now
                self._fixed_count = 0
            return self._fixed_count >= self._limits.per_minute
        while self._admitted and self._admitted[0] <= now - window:
            self._admitted.popleft()
        return len(self._admitted) >= self._limits.per_minute

    def _count_minute(self, now: float) -> None:
        self._fixed_count += 1
        self._admitted.append(now)

    @staticmethod
    def _peak(window: deque[float], now: float, length: float) -> int:
        window.append(now)
        while window and window[0] <= now - length:
            window.popleft()
        return len(window)

    def admit(self) -> int | None:
        """Take one call; returns the 429 code that rejects it, or None when admitted."""
        now = self._clock.monotonic()
        self.calls += 1
        length = self._limits.minute_window_seconds
        self.peak_window_calls = max(
            self.peak_window_calls, self._peak(self._arrivals, now, length)
        )
        self._roll_daily(now)
        code: int | None = None
        if self.daily_used >= self.daily_quota:
            code = 45
        elif self._minute_full(now):
            code = 44
        elif self.in_flight >= self.in_flight_limit:
            code = 1070
        if code is not None:
            self.throttled[code] += 1
            if self._limits.count_rejected:
                self._count_minute(now)
            return code
        self._count_minute(now)
        self.peak_window_admitted = max(
            self.peak_window_admitted, self._peak(self._admitted_window, now, length)
        )
        self.admissions.append(now - self._started)
        self.daily_used += 1
        self.in_flight += 1
        self.in_flight_peak = max(self.in_flight_peak, self.in_flight)
        return None

    def release(self) -> None:
        self.in_flight -= 1

    def record_throttle(self, code: int) -> None:
        """A 429 injected by a fault: counted like a real one."""
        self.throttled[code] += 1

    def headers(self) -> dict[str, str]:
        """``X-Rate-Limit-*``: the daily quota, what is left of it, seconds until it resets."""
        now = self._clock.monotonic()
        self._roll_daily(now)
        reset = self._daily_start + self._limits.daily_window_seconds - now
        return {
            "X-Rate-Limit-Limit": str(self.daily_quota),
            "X-Rate-Limit-Remaining": str(max(self.daily_quota - self.daily_used, 0)),
            "X-Rate-Limit-Reset": str(max(math.ceil(reset), 0)),
        }

    def snapshot(self) -> dict[str, object]:
        return {
            "calls": self.calls,
            "window_seconds": self._limits.minute_window_seconds,
            "peak_window_calls": self.peak_window_calls,
            "peak_window_admitted": self.peak_window_admitted,
            "in_flight": self.in_flight,
            "in_flight_peak": self.in_flight_peak,
            "in_flight_limit": self.in_flight_limit,
            "daily_used": self.daily_used,
            "daily_quota": self.daily_quota,
            "throttled": {str(code): n for code, n in sorted(self.throttled.items())},
        }
