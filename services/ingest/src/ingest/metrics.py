"""Prometheus metrics of the ingest service, created once per process.

Labels are bounded: ``entity`` is one of the webhook entities or ``unknown``, ``reason`` one of
the rejection reasons in :mod:`ingest.errors` (or ``accepted``), never ids, orgs or tokens.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from tds_common.catalogue import WEBHOOK_ENTITIES
from tds_common.metrics import create_build_info, create_http_metrics

PREFIX = "tds_ingest"

HTTP = create_http_metrics(PREFIX)
BUILD_INFO = create_build_info(PREFIX)

WEBHOOKS = Counter(
    f"{PREFIX}_webhooks_total",
    "Webhook requests by entity, answered status code and reason (accepted or why rejected)",
    ["entity", "status_code", "reason"],
)
# Every entity's "accepted" series exists from the start at 0: a counter whose series appears
# only at its first increment loses that increment to rate()/increase() after every restart, and
# "no webhook accepted" alerts could not tell silence from a fresh process.
for _entity in WEBHOOK_ENTITIES:
    WEBHOOKS.labels(_entity, "202", "accepted")

PUBLISH_DURATION = Histogram(
    f"{PREFIX}_publish_duration_seconds",
    "Time from send to the broker's acknowledgement (acks=all), by entity and outcome",
    ["entity", "outcome"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
PAYLOAD_BYTES = Histogram(
    f"{PREFIX}_webhook_payload_bytes",
    "Size of webhook bodies read (accepted or not), by entity",
    ["entity"],
    buckets=(256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304),
)
