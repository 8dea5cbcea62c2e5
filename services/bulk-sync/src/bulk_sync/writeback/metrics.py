"""Prometheus metrics of the write-back (bulk-sync's process), created once per process.

Labels are bounded: the five write entities and the outcomes below. Alert on
``tds_writeback_oldest_pending_seconds`` (writes stuck) and on ``outcome="rejected"|"failed"``.
Echoes (``tds_writeback_echoes_total``) are counted where webhooks arrive: the processor, through
:mod:`tds_common.echo`.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Gauge

from bulk_sync.writeback.shapes import WRITE_ENTITIES

PREFIX: Final = "tds_writeback"

OUTCOMES: Final = ("applied", "conflict", "rejected", "failed", "retried", "found")
"""Terminal statuses, plus ``retried`` (a transient failure, sent again later) and ``found``
(a create whose answer was lost, found applied in Zoho instead of being sent again)."""

WRITES = Counter(
    f"{PREFIX}_writes_total",
    "Outbox writes handled by the relay, by entity and outcome "
    "(applied, conflict, rejected, failed; retried and found are steps on the way)",
    ["entity", "outcome"],
)
OLDEST_PENDING = Gauge(
    f"{PREFIX}_oldest_pending_seconds",
    "Age of the oldest outbox write not yet applied, conflicted, rejected or failed (0: none)",
)

for _entity in WRITE_ENTITIES:  # every series exists from the start, so rate() and alerts see 0
    for _outcome in OUTCOMES:
        WRITES.labels(_entity, _outcome)
