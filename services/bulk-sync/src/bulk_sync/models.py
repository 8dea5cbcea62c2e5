"""Request, command and response shapes of bulk-sync.

- :class:`SyncRequest`: the body of ``POST /api/zoho/bulk-sync``.
- :class:`SyncCommand`: one message on ``tds.sync.requests`` (contract: ``{run_id, org_id,
  entities, mode, ids?, since?}``). bulk-sync publishes one command per run, and a run covers
  one entity, so ``entities`` has one element; other producers may follow the same shape.
- :class:`RunView`: one ``tds_sync_runs`` row as the API shows it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from tds_common.events import parse_zoho_timestamp
from tds_common.identifiers import OrgId, is_record_id

Mode = Literal["full", "incremental", "selective"]
RunStatus = Literal["pending", "running", "completed", "failed", "cancelled", "needs_confirmation"]
"""``needs_confirmation``: a full run's sweep would delete too much; it waits for a person."""

MAX_SELECTIVE_IDS = 1000
"""The CRD's bound on ``spec.ids``."""


def _check_since(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        parse_zoho_timestamp(value)
    except ValueError:
        raise ValueError("since must be a Zoho timestamp like 2026-06-09T09:45:21-0400") from None
    return value


def _check_ids(ids: list[str] | None) -> list[str] | None:
    if ids is None:
        return None
    for zoho_id in ids:
        if not is_record_id(zoho_id):
            raise ValueError("ids must be Zoho's numeric ids (as strings)")
    return list(dict.fromkeys(ids))  # keep order, drop repeats


IdempotencyKey = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:-]+$")]
"""A caller's name for one sync request (the ZohoSync operator: resource uid and schedule slot)."""

# The same checks on the request and on the command, declared once as types.
ZohoIds = Annotated[list[str] | None, AfterValidator(_check_ids)]
ZohoSince = Annotated[str | None, AfterValidator(_check_since)]


class SyncRequest(BaseModel):
    """``POST /api/zoho/bulk-sync``. Entities default to every entity TDS mirrors."""

    model_config = ConfigDict(extra="forbid")

    org_id: OrgId | None = None
    """Zoho organization id; default ``ZOHO_ORGANIZATION_ID``."""
    entities: list[str] | None = Field(None, min_length=1)
    mode: Mode = "full"
    ids: ZohoIds = Field(None, min_length=1, max_length=MAX_SELECTIVE_IDS)
    """Zoho ids for ``selective`` (exactly one entity)."""
    since: ZohoSince = None
    """``incremental`` only: Zoho timestamp; default the last completed run's high-water mark."""
    idempotency_key: IdempotencyKey | None = None
    """A repeat of the same key (per organization) answers the runs it created, starts none."""

    @model_validator(mode="after")
    def _mode_fields(self) -> SyncRequest:
        if self.mode == "selective":
            if not self.ids:
                raise ValueError("mode selective needs ids")
            if self.entities is None or len(self.entities) != 1:
                raise ValueError("mode selective needs exactly one entity (ids belong to one)")
        elif self.ids is not None:
            raise ValueError("ids are only for mode selective")
        if self.since is not None and self.mode != "incremental":
            raise ValueError("since is only for mode incremental")
        if self.entities is not None and len(set(self.entities)) != len(self.entities):
            raise ValueError("entities must not repeat")
        return self


class SyncCommand(BaseModel):
    """One message on ``tds.sync.requests``."""

    model_config = ConfigDict(extra="ignore")

    run_id: str = Field(min_length=1)
    org_id: OrgId
    entities: list[str] = Field(min_length=1)
    mode: Mode
    ids: ZohoIds = None
    since: ZohoSince = None

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()


class RunView(BaseModel):
    """A sync run as ``GET /api/zoho/sync/runs`` shows it (one entity per run)."""

    id: str
    org_id: str
    run_type: str
    entity_type: str
    source_type: str
    status: RunStatus
    total_items: int
    processed_items: int
    failed_items: int
    api_calls: int
    checkpoint: dict[str, Any]
    request: dict[str, Any] | None
    requested_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    updated_at: datetime
    error_log: str | None
    idempotency_key: str | None = None
    """The key of the request that created the run, if it sent one."""
    details_pending: int | None = None
    """Documents the run left without their line items (runs of invoices, bills, credit
    notes, price lists); the next runs read them, newest first, as the budget allows."""
    drift_rows: int | None = None
    """Mirror rows the run's verification found different from Zoho and repaired."""


class RunsAccepted(BaseModel):
    """The 202 answer: one run per entity, in the order they will run."""

    request_id: str
    runs: list[RunView]
