"""Settings of the bulk-sync service (env prefix ``BULK_SYNC_``; shared names unprefixed).

Nested groups: ``BULK_SYNC_CONSUMER__GROUP_ID``, ``BULK_SYNC_SYNC__PER_PAGE``,
``BULK_SYNC_PROXY__TIMEOUT_SECONDS`` … The Zoho budget itself is zoho-proxy's business; these
settings only say how much of it one run may spend on detail reads and how patiently to wait.
"""

from __future__ import annotations

from typing import Self

from pydantic import AliasChoices, BaseModel, Field, SecretStr, model_validator

from bulk_sync.writeback.settings import WritebackSettings
from tds_common.auth import AcceptedTokens
from tds_common.catalogue import ENTITIES
from tds_common.settings import (
    BackoffSettings,
    ConsumerGroupSettings,
    ProxyClientSettings,
    ServiceSettings,
    service_config,
)
from tds_common.versions import DEFAULT_MAX_VERSION_SKEW_SECONDS, max_version_skew_field


class ConsumerSettings(ConsumerGroupSettings):
    """How the worker reads ``tds.sync.requests`` (``BULK_SYNC_CONSUMER__*``)."""

    group_id: str = "tds-bulk-sync"
    """Consumer group; replicas share the partitions (commands are keyed by organization)."""
    poll_timeout_ms: int = Field(500, ge=10)
    """How long one poll waits for a command (and how often a running run's partition is
    polled, so the group keeps us while a long run is in progress)."""


class ProxySettings(ProxyClientSettings, BackoffSettings):
    """zoho-proxy, the only way to Zoho (``BULK_SYNC_PROXY__*``)."""

    timeout_seconds: float = Field(60.0, gt=0)
    """One call to the proxy; it may wait for budget up to its own lane bound (30 s)."""
    retry_initial_seconds: float = Field(1.0, gt=0)
    """First backoff after a transient proxy failure (5xx, refused, timeout)."""
    retry_max_seconds: float = Field(30.0, gt=0)
    """Backoff ceiling; 429s wait what the proxy's Retry-After says instead."""
    max_consecutive_failures: int = Field(30, ge=1)
    """Transient failures of one call in a row before the run is given up as failed."""


class SyncSettings(BaseModel):
    """How a run pages, reads details and checkpoints (``BULK_SYNC_SYNC__*``)."""

    per_page: int = Field(200, ge=1, le=200)
    """Records per list call; Zoho's maximum is 200."""
    cursor_overlap_seconds: int = Field(1, ge=0)
    """The keyset cursor asks for ``last_modified_time`` this much before the last one seen, so
    records sharing the boundary second are listed again whether Zoho's filter is ``>=`` or
    ``>`` (UNCONFIRMED, docs/zoho-api.md#incremental-sync); ids already written at the boundary
    are skipped."""
    max_detail_calls_per_run: int | None = Field(100, ge=0)
    """Detail reads (one call per invoice, bill, credit note or price list still without its
    line items) one run may spend, newest first, after its list. The rest stays pending for the
    next run (``GET /api/zoho/sync/completeness``). None: no cap (the day's budget still bounds
    it)."""
    detail_headroom_calls: int = Field(50, ge=0)
    """Of the bulk lane's share of today's Zoho budget, the calls detail reads leave for the
    list calls of the organization's other runs."""
    details_batch: int = Field(50, ge=1, le=500)
    """Pending details read and committed per transaction (the budget is re-read between)."""
    list_filter_by: dict[str, str] = Field(
        default_factory=lambda: {
            name: spec.list_filter
            for name, spec in ENTITIES.items()
            if spec.paginated and spec.list_filter is not None
        }
    )
    """``filter_by`` sent with each entity's list calls (default: the catalogue's ``list_filter``).
    Zoho's default when it is absent may be active records only (UNCONFIRMED): every inactive
    item or contact would then look deleted.
    ``Status.All`` is documented for items, contacts and invoices (docs/zoho-api.md, "Key
    fields"); for bills, credit notes, sales and purchase orders and price lists it is a guess.
    Customer payments are filtered by mode, not status, so they are listed without it, like
    any entity left out."""
    max_sweep_share: float = Field(0.05, ge=0, le=1)
    """A full run that would mark more than this share of an entity's live rows deleted stops
    short: the run ends ``needs_confirmation`` until ``POST /api/zoho/sync/runs/{id}/confirm-sweep``
    (a wrong deletion of many rows costs far more than a late one)."""
    stock_refresh_max_calls: int | None = Field(20, ge=0)
    """``itemdetails`` calls an incremental stock run may spend re-reading the stock of items
    its list did not bring (a stock movement may not bump the item, UNCONFIRMED), stalest
    first, within the bulk lane's share of the day. 20 calls = 2,000 items per run; 0: off;
    None: as far as the day's budget goes."""
    verify_max_calls: int | None = Field(2, ge=0)
    """List pages (``per_page`` records each, sorted by ``created_time``) an incremental run
    compares with the mirror, continuing where the last run stopped; rows that differ are
    repaired (``tds_mirror_drift_rows``). Always within the bulk lane's share of the day; None:
    the whole list when the budget allows; 0: off."""
    detail_concurrency: int = Field(4, ge=1, le=10)
    """Detail reads in flight; the proxy enforces Zoho's in-flight cap on top."""
    itemdetails_chunk: int = Field(100, ge=1, le=200)
    """Item ids per ``itemdetails`` call when reading stock per warehouse."""
    selective_chunk: int = Field(50, ge=1, le=500)
    """Ids of a selective run written per transaction (and checkpoint)."""
    max_version_skew_seconds: float = Field(DEFAULT_MAX_VERSION_SKEW_SECONDS, gt=0)
    """A listed or read record whose ``last_modified_time`` is further ahead of our clock is
    skipped, counted as failed and named in the run's error log. Set it with the shared
    ``MAX_VERSION_SKEW_SECONDS`` (see :class:`Settings`)."""


class Settings(ServiceSettings):
    model_config = service_config("BULK_SYNC_")

    port: int = Field(8003, ge=1, le=65535)
    zoho_proxy_url: str = Field(
        "http://127.0.0.1:8004",
        validation_alias=AliasChoices("ZOHO_PROXY_URL", "zoho_proxy_url"),
    )
    """Base URL of zoho-proxy."""
    consumer: ConsumerSettings = Field(default_factory=ConsumerSettings)
    proxy: ProxySettings = Field(default_factory=ProxySettings)
    """``BULK_SYNC_PROXY__TOKEN`` must be one of zoho-proxy's writer tokens (the write-back)."""
    sync: SyncSettings = Field(default_factory=SyncSettings)
    api_tokens: AcceptedTokens = Field(default_factory=list)
    """``BULK_SYNC_API_TOKENS``: bearer tokens accepted by the sync and write-back API (the
    operator's, the tds command's, the ERP's; comma-separated). None: the API answers 401."""
    worker_enabled: bool = True
    """Run the worker in this process; false serves only the HTTP API (e.g. a second API pod)."""
    db_pool_max_size: int = Field(5, ge=2, le=100)
    """The worker holds one connection per running run for its lock, plus one for writes."""
    runs_list_max: int = Field(500, ge=1)
    """Upper bound of ``GET /api/zoho/sync/runs?limit=``."""
    writeback: WritebackSettings = Field(default_factory=WritebackSettings)
    """The ERP's write-back (``BULK_SYNC_WRITEBACK__*``; ``__ENABLED=false`` turns it off)."""
    max_version_skew_seconds: float = max_version_skew_field()
    """``MAX_VERSION_SKEW_SECONDS``, shared with ingest and processor; when set, runs use it
    (as ``sync.max_version_skew_seconds``)."""

    @model_validator(mode="after")
    def _one_skew_rule(self) -> Self:
        if "max_version_skew_seconds" in self.model_fields_set:
            self.sync.max_version_skew_seconds = self.max_version_skew_seconds
        return self


class OperatorSettings(ServiceSettings):
    """The ZohoSync operator (``kopf run -m bulk_sync.handlers``); prefix ``BULK_SYNC_``."""

    model_config = service_config("BULK_SYNC_")

    api_url: str = "http://127.0.0.1:8003"
    """bulk-sync's API (``BULK_SYNC_API_URL``): the operator only POSTs requests and reads runs."""
    api_timeout_seconds: float = Field(10.0, gt=0)
    api_token: SecretStr | None = None
    """``BULK_SYNC_API_TOKEN``: the operator's bearer token, one of ``BULK_SYNC_API_TOKENS``."""
    status_refresh_seconds: float = Field(30.0, ge=1)
    """How often each ZohoSync's status is refreshed from its runs and its schedule checked
    (``BULK_SYNC_STATUS_REFRESH_SECONDS``)."""
