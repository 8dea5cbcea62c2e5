"""Inbox statistics: webhooks received, accepted and rejected over sliding windows.

In memory, per replica: each process counts only what it answered itself, since it started
(ingest is stateless by design; Prometheus' ``tds_ingest_webhooks_total`` is the cluster-wide
view). Counts are kept in one bucket per minute for the longest window, so memory is bounded
(1,440 small counters for 24 h) whatever the traffic.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

BUCKET_SECONDS: Final = 60
WINDOWS: Final = {"5m": 5 * 60, "1h": 3600, "24h": 24 * 3600}

Clock = Callable[[], float]


@dataclass
class _Bucket:
    start: int
    counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    """(entity, outcome, reason) → count; outcome is received / accepted / rejected."""


class InboxStats:
    """Windowed counters of one replica; cheap to update on every request."""

    def __init__(self, *, max_window_seconds: int = WINDOWS["24h"], clock: Clock = time.time):
        self._clock = clock
        self._max_buckets = max(1, max_window_seconds // BUCKET_SECONDS)
        self._windows = {n: s for n, s in WINDOWS.items() if s <= max_window_seconds}
        self._buckets: deque[_Bucket] = deque()
        self._started = clock()

    def _current(self) -> _Bucket:
        start = int(self._clock()) // BUCKET_SECONDS * BUCKET_SECONDS
        if not self._buckets or self._buckets[-1].start != start:
            self._buckets.append(_Bucket(start))
            while len(self._buckets) > self._max_buckets:
                self._buckets.popleft()
        return self._buckets[-1]

    def received(self, entity: str) -> None:
        self._current().counts[(entity, "received", "")] += 1

    def accepted(self, entity: str) -> None:
        self._current().counts[(entity, "accepted", "")] += 1

    def rejected(self, entity: str, reason: str) -> None:
        self._current().counts[(entity, "rejected", reason)] += 1

    def _window(self, seconds: int, now: float) -> dict[str, Any]:
        # A bucket counts when any part of it lies inside the window (minute resolution).
        oldest = now - seconds
        totals: Counter[str] = Counter()
        reasons: Counter[str] = Counter()
        by_entity: dict[str, Counter[str]] = {}
        for bucket in self._buckets:
            if bucket.start + BUCKET_SECONDS <= oldest:
                continue
            for (entity, outcome, reason), count in bucket.counts.items():
                totals[outcome] += count
                by_entity.setdefault(entity, Counter())[outcome] += count
                if outcome == "rejected":
                    reasons[reason] += count
        return {
            "received": totals["received"],
            "accepted": totals["accepted"],
            "rejected": totals["rejected"],
            "rejected_by_reason": dict(sorted(reasons.items())),
            "by_entity": {
                entity: {k: counts[k] for k in ("received", "accepted", "rejected")}
                for entity, counts in sorted(by_entity.items())
            },
        }

    def snapshot(self) -> dict[str, Any]:
        """The JSON body of ``GET /api/zoho/webhooks/inbox/stats``."""
        now = self._clock()
        return {
            "scope": "replica",
            "since_seconds": round(now - self._started, 3),
            "windows": {
                name: self._window(seconds, now) for name, seconds in self._windows.items()
            },
        }
