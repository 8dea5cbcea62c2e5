"""Settings of the write-back relay (``BULK_SYNC_WRITEBACK__*``)."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from tds_common.settings import BackoffSettings

DEFAULT_KEY_FIELDS = {
    "invoices": "reference_number",
    "bills": "reference_number",
    "credit-notes": "reference_number",
    "customers": "cf_tds_key",
    "products": "cf_tds_key",
}


class WritebackSettings(BackoffSettings):
    """How the outbox is relayed to Zoho."""

    enabled: bool = True
    """Run the relay in this process (off: the API still accepts writes, nothing sends them)."""
    poll_seconds: float = Field(0.5, gt=0)
    """How long the relay sleeps when no write is due."""
    lease_seconds: float = Field(120.0, gt=0)
    """An in_flight write belongs to its relay this long. A relay that dies mid-write leaves the
    row in_flight; once the lease runs out another relay re-checks it in Zoho (never resends
    blindly). Must exceed one proxy call (``BULK_SYNC_PROXY__TIMEOUT_SECONDS``)."""
    max_attempts: int = Field(10, ge=1)
    """Attempts (transient failures: proxy 429/5xx, timeouts) before a write ends ``failed``."""
    retry_initial_seconds: float = Field(1.0, gt=0)
    """First backoff after a transient failure; doubles per attempt, with jitter."""
    retry_max_seconds: float = Field(60.0, gt=0)
    """Backoff ceiling."""
    key_fields: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_KEY_FIELDS))
    """Per entity, the Zoho field that carries the write's idempotency key, so a create whose
    answer was lost is found again before any retry: ``reference_number`` (searchable on
    invoices, bills, credit notes) or a custom field ``cf_<api_name>`` (sent in
    ``custom_fields``; searching contacts and items by it is UNCONFIRMED,
    docs/zoho-api.md "Record conventions"). The custom field must exist in the organization."""

    @model_validator(mode="after")
    def _every_entity_has_a_key_field(self) -> Self:
        missing = set(DEFAULT_KEY_FIELDS) - set(self.key_fields)
        if missing:
            raise ValueError(f"key_fields lacks {sorted(missing)}")
        return self
