"""What one drive of a load generator measured, whichever generator drove it."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Body = Callable[[int], dict[str, Any]]
"""The JSON body of request number n (a module-level function: the Python generator's processes
pickle it)."""

LATE_SECONDS = 0.01
"""A send that left more than this behind its schedule counts as late: the generator itself
could not keep up."""


@dataclass
class Outcome:
    offered_rate: float
    sent: int = 0
    accepted: int = 0
    """Answered 2xx."""
    seconds: float = 0.0
    """From the first scheduled send to the last answer."""
    latencies: list[float] = field(default_factory=list)
    """Per answered request, from its scheduled send (not from when it actually left) to the
    answer: a generator that fell behind cannot hide the wait (coordinated omission)."""
    errors: dict[str, int] = field(default_factory=dict)
    """Requests not answered 2xx, by status code or by the client's error."""
    late_sends: int = 0
    """Sends more than LATE_SECONDS behind their schedule."""
    generator_cpu: float = float("nan")
    """CPU seconds (user + system) the generator's own processes spent on this drive: what it
    took from the cores it shares with the servers it measures."""

    @property
    def accepted_rate(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0

    def percentile(self, q: int) -> float:
        if len(self.latencies) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[q - 1]
