"""Prometheus metrics of the processor service, created once per process.

Labels are bounded: topics, entity names from the catalogue, error class names, partitions.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Gauge, Histogram

from tds_common.metrics import create_build_info, create_http_metrics

PREFIX: Final = "tds_processor"

HTTP = create_http_metrics(PREFIX)
BUILD_INFO = create_build_info(PREFIX)

_LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

MESSAGES_CONSUMED = Counter(
    f"{PREFIX}_messages_consumed_total", "Records consumed and handled (committed)", ["topic"]
)
MESSAGES_FAILED = Counter(
    f"{PREFIX}_messages_failed_total",
    "Failures by error class: transient ones are retried, permanent ones dead-lettered",
    ["topic", "error"],
)
PROCESSING_DURATION = Histogram(
    f"{PREFIX}_message_processing_duration_seconds",
    "Time from a batch's fetch to its database commit, observed per record",
    ["topic"],
    buckets=_LATENCY_BUCKETS,
)
BATCH_SIZE = Histogram(
    f"{PREFIX}_batch_size_records",
    "Records per batch",
    buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500),
)
FRESHNESS = Histogram(
    f"{PREFIX}_event_freshness_seconds",
    "Event received (webhook or sync) to mirror row committed, per entity",
    ["entity"],
    # Up to 6 hours: a p95 never reads above the largest finite bucket, so the freshness
    # alert's threshold (5 minutes by default, at most an hour) must lie well inside it.
    buckets=(*_LATENCY_BUCKETS, 600, 1800, 3600, 21600),
)
EVENTS_OUTCOME = Counter(
    f"{PREFIX}_events_total",
    "Events by outcome: applied, stale (a newer version is stored), duplicate, dead_letter",
    ["entity", "outcome"],
)
CONSUMER_LAG = Gauge(
    f"{PREFIX}_consumer_lag_messages",
    "High watermark minus the consumer's position, per assigned partition",
    ["topic", "partition"],
)
PROXY_FETCHES = Counter(
    f"{PREFIX}_proxy_fetches_total",
    "Reads through zoho-proxy for thin events, by result: record, gone, an error class, or "
    "shared (an event served by a read already made for its record)",
    ["entity", "result"],
)
BACKOFF_SECONDS = Gauge(
    f"{PREFIX}_backoff_seconds",
    "Longest current wait after a failure: the whole consumer (PostgreSQL or Kafka away) or a "
    "partition (a record's own failure, zoho-proxy away or out of budget); 0 when healthy",
)
DEFERRED_PARTITIONS = Gauge(
    f"{PREFIX}_deferred_partitions",
    "Partitions held at a deferred record: backoff (a failure, or zoho-proxy away or out of "
    "budget) or read (a thin event's read still running)",
    ["reason"],
)
OLDEST_DEFERRED_AGE = Gauge(
    f"{PREFIX}_oldest_deferred_age_seconds",
    "Age (since received) of the oldest event a partition waits at; 0 when none waits. Event "
    "freshness moves only when events are applied: this shows a stall while nothing is",
)
