"""The five dashboards, one per concern, with the metric names of docs/architecture.md.

Rates use a 5-minute window, counts of rare things a 1-hour increase. A panel that only shows
data once something went wrong is marked ``event_only`` with the event that fills it.
"""

from __future__ import annotations

from typing import Final

from devstack.dashboards.model import Dashboard, Panel, Query, series

REJECTED: Final = 'reason!="accepted"'
DEAD_LETTER: Final = 'outcome="dead_letter"'


def _rate(metric: str, *matchers: str, window: str = "5m") -> str:
    return f"rate({series(metric, *matchers)}[{window}])"


def _increase(metric: str, *matchers: str, window: str = "1h") -> str:
    return f"increase({series(metric, *matchers)}[{window}])"


def _quantile(q: float, histogram: str, by: str = "", *matchers: str) -> str:
    labels = ", ".join(("le", by)) if by else "le"
    return f"histogram_quantile({q}, sum by ({labels}) ({_rate(f'{histogram}_bucket', *matchers)}))"


WEBHOOKS_BY_STATUS: Final = Panel(
    "Webhooks by status",
    (Query(f"sum by (status_code) ({_rate('tds_ingest_webhooks_total')})", "{{status_code}}"),),
    unit="reqps",
)
SYNC_AGE: Final = Panel(
    "Time since last successful sync",
    (
        Query(
            f"time() - max by (sync) ({series('tds_bulk_sync_last_success_timestamp_seconds')})",
            "{{sync}}",
        ),
    ),
    unit="s",
    description="Per sync (<mode>-<entity>); TdsSyncStale fires past the configured age.",
)
EVENTS_BY_OUTCOME: Final = Panel(
    "Events by outcome (dead_letter: to the DLQ)",
    (Query(f"sum by (outcome) ({_rate('tds_processor_events_total')})", "{{outcome}}"),),
    unit="ops",
)
CONSUMER_LAG: Final = Panel(
    "Consumer lag",
    (Query(f"sum by (topic) ({series('tds_processor_consumer_lag_messages')})", "{{topic}}"),),
    description="Refreshed while the consumer backs off, so a growing backlog shows.",
)
ZOHO_CALLS_BY_PRODUCT: Final = Panel(
    "Zoho calls by product and status",
    (
        Query(
            f"sum by (api, status) ({_rate('tds_zoho_proxy_upstream_calls_total')})",
            "{{api}} {{status}}",
        ),
    ),
    unit="reqps",
    description="Books and Inventory separately: each has its own limits.",
)
ZOHO_THROTTLED: Final = Panel(
    "429s answered by Zoho itself",
    (
        Query(
            f"sum by (api, code) ({_increase('tds_zoho_proxy_zoho_throttled_total')})",
            "{{api}} {{code}}",
        ),
    ),
    description="Should stay empty: zoho-proxy's budget exists to prevent them.",
    event_only="Zoho answers 429",
)
DETAILS_PENDING: Final = Panel(
    "Documents without their line items (details pending)",
    (Query(f"max by (org, entity) ({series('tds_bulk_sync_details_pending')})", "{{entity}}"),),
)

OVERVIEW: Final = Dashboard(
    "overview",
    "TDS overview",
    "Traffic, freshness and errors of the whole pipeline.",
    (
        Panel(
            "Scrape targets up",
            (Query(f"sum by (job) ({series('up')})", "{{job}}"),),
            description="Replicas Prometheus scrapes successfully, per service.",
        ),
        WEBHOOKS_BY_STATUS,
        Panel(
            "Mirror freshness p95 (event received to row committed)",
            (
                Query(
                    _quantile(0.95, "tds_processor_event_freshness_seconds", "entity"), "{{entity}}"
                ),
            ),
            unit="s",
        ),
        SYNC_AGE,
        EVENTS_BY_OUTCOME,
        Panel(
            "Processing failures by error class",
            (
                Query(
                    f"sum by (error) ({_rate('tds_processor_messages_failed_total')})", "{{error}}"
                ),
            ),
            unit="ops",
            description="Transient errors are retried; permanent ones end in the DLQ.",
        ),
        Panel(
            "Webhook rejections by reason",
            (
                Query(
                    f"sum by (reason) ({_rate('tds_ingest_webhooks_total', REJECTED)})",
                    "{{reason}}",
                ),
            ),
            unit="reqps",
        ),
        ZOHO_CALLS_BY_PRODUCT,
    ),
)

PIPELINE: Final = Dashboard(
    "pipeline",
    "TDS pipeline",
    "From webhook to mirror: publishing, lag, backoff, processing and dead letters.",
    (
        CONSUMER_LAG,
        Panel(
            "Backoff (longest current wait)",
            (
                Query(
                    f"max by (instance) ({series('tds_processor_backoff_seconds')})", "{{instance}}"
                ),
            ),
            unit="s",
            description="0 when healthy; TdsProcessorBackingOff fires when it stays above 0.",
        ),
        Panel(
            "Deferred partitions, and the oldest event they wait at",
            (
                Query(
                    f"sum by (reason) ({series('tds_processor_deferred_partitions')})",
                    "{{reason}}",
                ),
                Query(
                    f"max({series('tds_processor_oldest_deferred_age_seconds')})",
                    "oldest waiting event (s)",
                ),
            ),
        ),
        Panel(
            "Records consumed",
            (
                Query(
                    f"sum by (topic) ({_rate('tds_processor_messages_consumed_total')})",
                    "{{topic}}",
                ),
            ),
            unit="ops",
        ),
        Panel(
            "Dead letters by entity (1h)",
            (
                Query(
                    f"sum by (entity) ({_increase('tds_processor_events_total', DEAD_LETTER)})",
                    "{{entity}}",
                ),
            ),
            description="Events sent to the DLQ; `tds dead-letters` lists them with reasons.",
        ),
        Panel(
            "Processing time p50 / p99 (fetch to commit)",
            (
                Query(_quantile(0.5, "tds_processor_message_processing_duration_seconds"), "p50"),
                Query(_quantile(0.99, "tds_processor_message_processing_duration_seconds"), "p99"),
            ),
            unit="s",
        ),
        Panel(
            "Publish latency p50 / p99 (ingest, acks=all)",
            (
                Query(_quantile(0.5, "tds_ingest_publish_duration_seconds"), "p50"),
                Query(_quantile(0.99, "tds_ingest_publish_duration_seconds"), "p99"),
            ),
            unit="s",
        ),
        Panel(
            "Thin-event reads through zoho-proxy by result",
            (
                Query(
                    f"sum by (result) ({_rate('tds_processor_proxy_fetches_total')})",
                    "{{result}}",
                ),
            ),
            unit="ops",
        ),
    ),
)

ZOHO: Final = Dashboard(
    "zoho",
    "TDS Zoho budget and tokens",
    "Calls to Zoho Books and Inventory by lane and status, the shared budget and the OAuth token.",
    (
        ZOHO_CALLS_BY_PRODUCT,
        Panel(
            "Zoho calls by lane",
            (
                Query(
                    f"sum by (api, lane) ({_rate('tds_zoho_proxy_upstream_calls_total')})",
                    "{{api}} {{lane}}",
                ),
            ),
            unit="reqps",
        ),
        Panel(
            "Budget remaining",
            (
                Query(
                    f"min by (org, product, window) ({series('tds_zoho_proxy_budget_remaining')})",
                    "{{product}} {{window}}",
                ),
            ),
        ),
        Panel(
            "Budget wait p95 by lane",
            (Query(_quantile(0.95, "tds_zoho_proxy_budget_wait_seconds", "lane"), "{{lane}}"),),
            unit="s",
        ),
        Panel(
            "Budget database statements p50 / p99",
            (
                Query(
                    _quantile(0.5, "tds_zoho_proxy_budget_db_seconds", "operation"),
                    "p50 {{operation}}",
                ),
                Query(
                    _quantile(0.99, "tds_zoho_proxy_budget_db_seconds", "operation"),
                    "p99 {{operation}}",
                ),
            ),
            unit="s",
            description="zoho-proxy's statements on the shared budget row: every grant waits "
            "for a read and a write, every release for a write. Slow writes with fast reads are "
            "PostgreSQL's commits. TdsZohoBudgetDatabaseSlow: a p99 above 0.5 s (default) for "
            "10 min.",
        ),
        Panel(
            "Zoho call latency p95",
            (
                Query(
                    _quantile(
                        0.95, "tds_zoho_proxy_upstream_request_duration_seconds", "operation"
                    ),
                    "{{operation}}",
                ),
            ),
            unit="s",
        ),
        Panel(
            "Token state and time to expiry",
            (
                Query(f"max by (state) ({series('tds_zoho_proxy_token_state')}) == 1", "{{state}}"),
                Query(
                    f"min({series('tds_zoho_proxy_token_expiry_timestamp_seconds')}) - time()",
                    "expires in (s)",
                ),
            ),
        ),
        Panel(
            "Token mints by outcome (1h)",
            (
                Query(
                    f"sum by (outcome) ({_increase('tds_zoho_proxy_token_refreshes_total')})",
                    "{{outcome}}",
                ),
            ),
        ),
        ZOHO_THROTTLED,
        Panel(
            "Calls refused by our own budget (proxy 429s, 1h)",
            (
                Query(
                    "sum by (lane, reason) "
                    f"({_increase('tds_zoho_proxy_budget_rejections_total')})",
                    "{{lane}} {{reason}}",
                ),
            ),
            event_only="a lane's caller gives up waiting for budget",
        ),
        Panel(
            "Zoho calls retried and failed for good (1h)",
            (
                Query(
                    f"sum by (api, reason) ({_increase('tds_zoho_proxy_upstream_retries_total')})",
                    "retried {{api}} {{reason}}",
                ),
                Query(
                    f"sum by (api, kind) ({_increase('tds_zoho_proxy_upstream_failures_total')})",
                    "failed {{api}} {{kind}}",
                ),
            ),
            event_only="Zoho times out or answers 5xx, 401 or 429",
        ),
    ),
)

BULK_SYNC: Final = Dashboard(
    "bulk-sync",
    "TDS bulk sync",
    "Full, incremental and selective runs: progress, completeness, drift and held sweeps.",
    (
        Panel(
            "Runs ended by mode and status (1h)",
            (
                Query(
                    f"sum by (mode, status) ({_increase('tds_bulk_sync_runs_total')})",
                    "{{mode}} {{status}}",
                ),
            ),
        ),
        Panel(
            "Runs in progress",
            (Query(f"sum({series('tds_bulk_sync_runs_in_progress')})", "running"),),
        ),
        Panel(
            "Pages checkpointed by entity",
            (Query(f"sum by (entity) ({_rate('tds_bulk_sync_pages_total')})", "{{entity}}"),),
            unit="ops",
        ),
        Panel(
            "Records by outcome",
            (Query(f"sum by (outcome) ({_rate('tds_bulk_sync_records_total')})", "{{outcome}}"),),
            unit="ops",
        ),
        Panel(
            "Zoho calls by kind (list, detail, itemdetails)",
            (Query(f"sum by (kind) ({_rate('tds_bulk_sync_api_calls_total')})", "{{kind}}"),),
            unit="reqps",
        ),
        Panel(
            "Run duration p95 by mode",
            (Query(_quantile(0.95, "tds_bulk_sync_run_duration_seconds", "mode"), "{{mode}}"),),
            unit="s",
        ),
        SYNC_AGE,
        DETAILS_PENDING,
        Panel(
            "Drift found by verification",
            (Query(f"max by (entity) ({series('tds_mirror_drift_rows')})", "{{entity}}"),),
            description="Rows the last verification found different from Zoho, and repaired.",
            event_only="a run with verification",
        ),
        Panel(
            "Sweeps held for confirmation",
            (Query(f"max by (org, entity) ({series('tds_bulk_sync_sweeps_held')})", "{{entity}}"),),
            description="1 while a full run's deletion sweep waits for confirm-sweep.",
            event_only="a full run's sweep would delete too many rows",
        ),
    ),
)

WRITEBACK: Final = Dashboard(
    "writeback",
    "TDS write-back",
    "The ERP's writes to Zoho through the outbox relay.",
    (
        Panel(
            "Writes by outcome",
            (
                Query(
                    f"sum by (entity, outcome) ({_rate('tds_writeback_writes_total')})",
                    "{{entity}} {{outcome}}",
                ),
            ),
            unit="ops",
        ),
        Panel(
            "Age of the oldest write waiting for Zoho",
            (Query(f"max({series('tds_writeback_oldest_pending_seconds')})", "oldest"),),
            unit="s",
        ),
        Panel(
            "Zoho's echoes of our own writes (skipped by the processor, 1h)",
            (Query(f"sum by (entity) ({_increase('tds_writeback_echoes_total')})", "{{entity}}"),),
            description="Webhooks Zoho sends for a change TDS itself wrote; they change nothing.",
            event_only="a written record's webhook comes back",
        ),
    ),
)

DASHBOARDS: Final = (OVERVIEW, PIPELINE, ZOHO, BULK_SYNC, WRITEBACK)
