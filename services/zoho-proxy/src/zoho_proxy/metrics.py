"""Prometheus metrics of the zoho-proxy service, created once per process.

Labels stay bounded: ``api`` is books/inventory, ``path`` a path template with ids replaced by
``{id}``, ``lane`` one of four, ``org`` the few configured organizations. Never tokens. (Not
``endpoint``: Prometheus sets that label on every scraped series, from the ServiceMonitor.)
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from tds_common.metrics import create_build_info, create_http_metrics

PREFIX = "tds_zoho_proxy"

HTTP = create_http_metrics(PREFIX)
BUILD_INFO = create_build_info(PREFIX)

UPSTREAM_CALLS = Counter(
    f"{PREFIX}_upstream_calls_total",
    "Zoho API calls by api, path template, HTTP status (or error kind) and lane",
    ["api", "path", "status", "lane"],
)
UPSTREAM_DURATION = Histogram(
    f"{PREFIX}_upstream_request_duration_seconds",
    "Zoho API call latency by operation (api + method) and status class",
    ["operation", "status_class"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
UPSTREAM_RETRIES = Counter(
    f"{PREFIX}_upstream_retries_total",
    "Zoho calls retried, by api and reason (5xx, timeout, connect, throttled, unauthorized)",
    ["api", "reason"],
)
UPSTREAM_FAILURES = Counter(
    f"{PREFIX}_upstream_failures_total",
    "Zoho calls that failed for good after retries, by api and kind",
    ["api", "kind"],
)
ZOHO_THROTTLED = Counter(
    f"{PREFIX}_zoho_throttled_total",
    "429s Zoho itself answered (should stay 0: the budget exists to prevent them), by code",
    ["api", "code"],
)
TOKEN_REFRESHES = Counter(
    f"{PREFIX}_token_refreshes_total",
    "Access-token mints attempted by this replica, by outcome",
    ["outcome"],
)
TOKEN_STATE = Gauge(
    f"{PREFIX}_token_state",
    "1 for the current state of the Zoho credential as this replica last saw it",
    ["state"],
)
TOKEN_EXPIRY = Gauge(
    f"{PREFIX}_token_expiry_timestamp_seconds",
    "When the current access token expires (Unix time)",
)
TOKEN_UNREADABLE = Counter(
    f"{PREFIX}_token_unreadable_total",
    "Stored access tokens no configured key could decrypt (treated as absent, so re-minted)",
)
SCOPE_DENIALS = Counter(
    f"{PREFIX}_scope_denials_total",
    "Calls answered with our 403 because the refresh token's OAuth scopes lack them",
    ["api"],
)
BUDGET_REMAINING = Gauge(
    f"{PREFIX}_budget_remaining",
    "Calls left per organization, product and window (minute, day, in_flight)",
    ["org", "product", "window"],
)
BUDGET_WAIT = Histogram(
    f"{PREFIX}_budget_wait_seconds",
    "Time callers waited for budget, by lane",
    ["lane"],
    buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
BUDGET_DB = Histogram(
    f"{PREFIX}_budget_db_seconds",
    "Statements on the shared budget row in PostgreSQL, by operation (read, write, release, "
    "insert_row), including the wait for a pooled connection",
    ["operation"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
"""A decision is a ``read`` then a ``write`` (a commit), every answered call a ``release`` (a
commit). A commit stall holds up every grant of every replica, yet BUDGET_WAIT cannot tell it
from waiting for the window to free a call: this can (slow ``write``/``release``, fast ``read``
is the disk; all slow is the pool, the server or the replica's event loop)."""
BUDGET_WRITE_CONFLICTS = Counter(
    f"{PREFIX}_budget_write_conflicts_total",
    "Budget decisions whose version-checked write lost the race to another one (decided again)",
)
BUDGET_REJECTIONS = Counter(
    f"{PREFIX}_budget_rejections_total",
    "Calls answered with our own 429, by lane and the limit that blocked them",
    ["lane", "reason"],
)
LANE_WAITING = Gauge(
    f"{PREFIX}_lane_waiting",
    "Callers of this replica waiting for budget, by lane",
    ["lane"],
)
