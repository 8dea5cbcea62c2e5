"""A Prometheus histogram read from a service's ``/metrics``, and what it says about an interval.

Two scrapes, before and after a round, give the round's own observations (the process may have
served earlier rounds). The quantiles are bucket bounds: "p99 at most 25 ms" is what the
buckets can tell, with no interpolation inside a bucket.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import httpx
from prometheus_client.parser import text_string_to_metric_families

Buckets = dict[float, float]
"""Upper bound (``le``; ``inf`` for +Inf) -> observations at or below it (cumulative)."""


def parse_buckets(text: str, histogram: str, label: str) -> dict[str, Buckets]:
    """Per value of ``label``: the cumulative buckets of ``histogram`` in the exposition
    ``text`` (the name without ``_bucket``)."""
    found: dict[str, Buckets] = {}
    for family in text_string_to_metric_families(text):
        if family.name != histogram:
            continue
        for sample in family.samples:
            if sample.name == f"{histogram}_bucket":
                key = sample.labels[label]
                found.setdefault(key, {})[float(sample.labels["le"])] = sample.value
    return found


async def scrape_buckets(url: str, histogram: str, label: str) -> dict[str, Buckets]:
    """:func:`parse_buckets` of the service's ``/metrics`` at ``url``."""
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(f"{url}/metrics")
        response.raise_for_status()
        return parse_buckets(response.text, histogram, label)


def since(before: Mapping[str, Buckets], after: Mapping[str, Buckets]) -> dict[str, Buckets]:
    """The observations between two scrapes, per label value (absent before: all of them)."""
    return {
        key: {le: count - before.get(key, {}).get(le, 0.0) for le, count in buckets.items()}
        for key, buckets in after.items()
    }


def count(buckets: Buckets) -> int:
    return int(buckets.get(math.inf, 0.0))


def quantile_bound(buckets: Buckets, q: float) -> float:
    """The smallest bucket bound with at least a ``q`` share of the observations at or below it
    (``inf`` past the last finite bucket; ``nan`` without observations)."""
    total = buckets.get(math.inf, 0.0)
    if total <= 0:
        return math.nan
    rank = math.ceil(q * total - 1e-9)  # 0.07 * 100 is 7.000000000000001 in floating point
    return min(le for le, at_most in buckets.items() if at_most >= rank)


def max_bound(buckets: Buckets) -> float:
    """The bound of the highest bucket that holds an observation: the largest one is below it."""
    return quantile_bound(buckets, 1.0)
