"""Settings of the processor service (env prefix ``PROCESSOR_``; shared names unprefixed)."""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, Field

from tds_common.auth import AcceptedTokens
from tds_common.retention import RetentionSettings
from tds_common.settings import (
    BackoffSettings,
    ConsumerGroupSettings,
    ProxyClientSettings,
    ServiceSettings,
    service_config,
)
from tds_common.versions import max_version_skew_field


class ConsumerSettings(ConsumerGroupSettings, BackoffSettings):
    """How the processor reads ``tds.zoho.events`` (``PROCESSOR_CONSUMER__*``)."""

    group_id: str = "tds-processor"
    """Consumer group; every replica joins it, partitions are shared among them."""
    batch_max_records: int = Field(500, ge=1, le=10_000)
    """Records written per transaction at most."""
    batch_timeout_ms: int = Field(200, ge=1)
    """How long a poll waits while no record is there: it returns as soon as some are (aiokafka's
    getmany), so this bounds an idle wait and never delays a record."""
    retry_initial_seconds: float = Field(0.5, gt=0)
    """First backoff after an infrastructure failure (PostgreSQL, proxy, Kafka)."""
    retry_max_seconds: float = Field(30.0, gt=0)
    """Backoff ceiling; stays far below the consumer's max poll interval (300 s)."""
    lag_refresh_seconds: float = Field(5.0, gt=0)
    """How often the consumer-lag gauge is refreshed (also while backing off)."""
    max_attempts: int = Field(5, ge=1, le=100)
    """Attempts a record gets when a failure is its own (a proxy 5xx or 401/403 for one id, a
    record that cannot be rendered...); then it is parked: a dead letter with reason
    ``retries_exhausted``, replayable. Infrastructure outages never count."""


class ProxySettings(ProxyClientSettings):
    """zoho-proxy, for completing thin events (``PROCESSOR_PROXY__*``)."""

    timeout_seconds: float = Field(20.0, gt=0)
    """One read. Sent to zoho-proxy as ``X-TDS-Timeout-Seconds`` (minus 0.5 s): the proxy stops
    waiting for budget and retrying within it, so it never calls Zoho for a read we gave up.
    Longer than the proxy's webhook-lane wait (15 s), so a burst waits for budget instead of
    coming back as 429s; a running read holds back only its own partition."""
    max_concurrency: int = Field(4, ge=1, le=64)
    """Proxy reads in flight at once; the proxy enforces Zoho's budget on top."""
    read_wait_seconds: float = Field(0.5, ge=0)
    """How long a batch waits for its thin events' reads; the records whose read is still
    running are deferred (their partitions resume when it finishes), the rest is written."""


class ReplaySettings(BaseModel):
    """Dead-letter replay (``PROCESSOR_REPLAY__*``; ``processor.replay``)."""

    seek_margin_seconds: float = Field(600.0, gt=0)
    """A letter without a stored DLQ offset is looked for among the messages published this
    long before and after its queue row says it failed (clocks differ; a publish may retry)."""
    interrupted_after_seconds: float = Field(300.0, gt=0)
    """A replay that claimed a letter and never recorded its republished message is taken to
    have died after this long; another replay may then take the letter again."""
    fetch_bytes: int = Field(1024 * 1024, ge=64 * 1024)
    """Bytes fetched per DLQ partition and request: with the page of letters, what a replay
    holds in memory whatever the topic's size."""


class CollectorSettings(BaseModel):
    """Python's garbage collector in the service (``PROCESSOR_GC__*``; ``processor.collector``)."""

    gen0_threshold: int = Field(50_000, ge=0, le=1_000_000)
    """Net container allocations between young-generation collections (Python's default is 700;
    0 keeps it). Above what a batch and the one prepared beside it hold (about 40 containers per
    event, 500 events each), most batches come and go without a collection: the collector's share
    of the service's CPU fell from about 9 % to 2.5 % draining a backlog, peak RSS unchanged."""


class Settings(ServiceSettings):
    model_config = service_config("PROCESSOR_")

    port: int = Field(8002, ge=1, le=65535)
    zoho_proxy_url: str = Field(
        "http://127.0.0.1:8004",
        validation_alias=AliasChoices("ZOHO_PROXY_URL", "zoho_proxy_url"),
    )
    """Base URL of zoho-proxy; thin events are completed with ``GET /v1/{entity}/{id}``."""
    consumer: ConsumerSettings = Field(default_factory=ConsumerSettings)
    proxy: ProxySettings = Field(default_factory=ProxySettings)
    api_tokens: AcceptedTokens = Field(default_factory=list)
    """``PROCESSOR_API_TOKENS``: bearer tokens accepted by the stats and replay API (the tds
    command's, comma-separated; several during a rotation). None: the API answers 401 to all."""
    db_pool_max_size: int = Field(5, ge=1, le=100)
    stats_window_hours: float = Field(24.0, gt=0)
    """``/api/zoho/sync/stats`` averages delays over this window."""
    replay: ReplaySettings = Field(default_factory=ReplaySettings)
    gc: CollectorSettings = Field(default_factory=CollectorSettings)
    """``PROCESSOR_GC__*``: applied, with the start-up heap frozen, once the service has started."""
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    """``PROCESSOR_RETENTION__*``: how long the control tables keep finished rows; the processor
    prunes them in small batches every ``interval_seconds`` (``tds_common.retention``)."""
    max_version_skew_seconds: float = max_version_skew_field()
    """``MAX_VERSION_SKEW_SECONDS`` (shared): an event whose ``last_modified_time`` is further
    ahead of our clock is dead-lettered (``future_version``); it would freeze the row."""
