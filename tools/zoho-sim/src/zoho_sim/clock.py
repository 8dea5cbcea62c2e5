"""The simulator's clock: real time plus an offset that tests can advance.

Every window, expiry and lockout reads this clock, so ``POST /_sim/clock`` can jump over a
10-minute mint window or a day's quota without a test sleeping.
"""

from __future__ import annotations

import time


class Clock:
    """Monotonic seconds (for windows) and wall-clock epoch seconds (for timestamps)."""

    def __init__(self) -> None:
        self._offset = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self._offset

    def wall(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds

    @property
    def offset(self) -> float:
        return self._offset
