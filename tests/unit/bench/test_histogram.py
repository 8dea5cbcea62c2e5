"""bench.histogram: a round's observations from two /metrics scrapes, and their bucket bounds."""

from __future__ import annotations

import math

from prometheus_client import CollectorRegistry, Histogram, generate_latest

from bench.histogram import count, max_bound, parse_buckets, quantile_bound, since

NAME = "bench_test_db_seconds"


def _histogram() -> tuple[CollectorRegistry, Histogram]:
    registry = CollectorRegistry()
    metric = Histogram(
        NAME, "test", ["operation"], buckets=(0.001, 0.01, 0.1, 1), registry=registry
    )
    return registry, metric


def _scrape(registry: CollectorRegistry) -> dict[str, dict[float, float]]:
    return parse_buckets(generate_latest(registry).decode(), NAME, "operation")


def test_the_round_between_two_scrapes_is_counted_alone() -> None:
    registry, metric = _histogram()
    for _ in range(50):
        metric.labels("write").observe(0.5)  # an earlier round: a stall
    before = _scrape(registry)
    for _ in range(99):
        metric.labels("write").observe(0.005)
    metric.labels("write").observe(0.05)
    metric.labels("release").observe(0.0005)  # an operation first seen in this round
    round_buckets = since(before, _scrape(registry))
    write = round_buckets["write"]
    assert count(write) == 100
    assert quantile_bound(write, 0.99) == 0.01  # 99 of 100 at or below 10 ms
    assert max_bound(write) == 0.1  # the stall before the round does not count
    assert count(round_buckets["release"]) == 1
    assert max_bound(round_buckets["release"]) == 0.001


def test_a_statement_beyond_the_last_bucket_and_an_empty_round() -> None:
    registry, metric = _histogram()
    metric.labels("write").observe(0.002)
    before = _scrape(registry)
    assert math.isnan(quantile_bound(since(before, _scrape(registry))["write"], 0.99))
    metric.labels("write").observe(3.0)
    assert max_bound(since(before, _scrape(registry))["write"]) == math.inf


def test_the_rank_is_not_lost_to_floating_point() -> None:
    # 0.07 * 100 is 7.000000000000001: still, 7 of 100 at or below a bound make it the p7.
    buckets = {0.01: 7.0, 0.1: 100.0, math.inf: 100.0}
    assert quantile_bound(buckets, 0.07) == 0.01
