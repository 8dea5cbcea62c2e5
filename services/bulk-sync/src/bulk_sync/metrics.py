"""Prometheus metrics of the bulk-sync service, created once per process.

Labels are bounded: entity names from the catalogue, modes, call kinds, run statuses. ``sync`` of
the last-success gauge is ``<mode>-<entity>`` (e.g. ``full-invoices``); it is not called ``job``,
which Prometheus sets on every scraped series (the metric's own would become ``exported_job``).
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Gauge, Histogram

from tds_common.metrics import create_build_info, create_http_metrics

PREFIX: Final = "tds_bulk_sync"

HTTP = create_http_metrics(PREFIX)
BUILD_INFO = create_build_info(PREFIX)

PAGES = Counter(f"{PREFIX}_pages_total", "List pages handled and checkpointed", ["entity"])
RECORDS = Counter(
    f"{PREFIX}_records_total",
    "Records handled by outcome: written, unchanged (already current), failed, deleted",
    ["entity", "outcome"],
)
API_CALLS = Counter(
    f"{PREFIX}_api_calls_total",
    "Calls through zoho-proxy that reached Zoho, by kind (list, detail, itemdetails)",
    ["entity", "kind"],
)
PROXY_REFUSALS = Counter(
    f"{PREFIX}_proxy_refusals_total",
    "Runs failed at once because zoho-proxy refused bulk-sync itself (401: its token; 403: "
    "what it may do, or a Zoho scope missing): an operator must fix the configuration",
    ["status"],
)
RUNS = Counter(f"{PREFIX}_runs_total", "Runs ended, by status", ["entity", "mode", "status"])
RUN_DURATION = Histogram(
    f"{PREFIX}_run_duration_seconds",
    "Wall time of a run from its first start to its end (resumes included)",
    ["entity", "mode"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600),
)
RUNS_IN_PROGRESS = Gauge(f"{PREFIX}_runs_in_progress", "Runs this worker is executing")
LAST_SUCCESS = Gauge(
    f"{PREFIX}_last_success_timestamp_seconds",
    "Unix time of the last completed run, per sync (<mode>-<entity>)",
    ["sync"],
)
DETAILS_PENDING = Gauge(
    f"{PREFIX}_details_pending",
    "Live documents whose line items were not read yet (refreshed by runs and by "
    "GET /api/zoho/sync/completeness)",
    ["org", "entity"],
)
DRIFT_ROWS = Gauge(
    "tds_mirror_drift_rows",
    "Mirror rows the entity's last verification found different from Zoho (and repaired)",
    ["entity"],
)
SWEEPS_HELD = Gauge(
    f"{PREFIX}_sweeps_held",
    "1 while a full run's deletion sweep is held, awaiting POST /api/zoho/sync/runs/{id}/"
    "confirm-sweep (it would delete more than BULK_SYNC_SYNC__MAX_SWEEP_SHARE of the live rows)",
    ["org", "entity"],
)
