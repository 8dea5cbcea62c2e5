"""Windowed inbox stats with a controlled clock."""

from __future__ import annotations

from ingest.stats import InboxStats


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_counts_fall_out_of_windows_as_time_passes() -> None:
    clock = Clock()
    stats = InboxStats(clock=clock)
    stats.received("products")
    stats.accepted("products")
    stats.received("invoices")
    stats.rejected("invoices", "unauthorized")

    clock.now += 10 * 60  # 10 minutes later
    stats.received("bills")
    stats.rejected("bills", "invalid_record")

    snap = stats.snapshot()
    five = snap["windows"]["5m"]
    hour = snap["windows"]["1h"]
    assert snap["scope"] == "replica"
    assert (five["received"], five["accepted"], five["rejected"]) == (1, 0, 1)
    assert five["rejected_by_reason"] == {"invalid_record": 1}
    assert (hour["received"], hour["accepted"], hour["rejected"]) == (3, 1, 2)
    assert hour["rejected_by_reason"] == {"invalid_record": 1, "unauthorized": 1}
    assert hour["by_entity"]["products"] == {"received": 1, "accepted": 1, "rejected": 0}

    clock.now += 25 * 3600
    later = stats.snapshot()["windows"]
    assert later["24h"]["received"] == 0


def test_memory_is_bounded_by_the_longest_window() -> None:
    clock = Clock()
    stats = InboxStats(max_window_seconds=3600, clock=clock)
    for _ in range(500):
        stats.received("products")
        clock.now += 60
    assert len(stats._buckets) == 60
    assert set(stats.snapshot()["windows"]) == {"5m", "1h"}
