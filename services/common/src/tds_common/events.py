"""The event envelope on ``tds.zoho.events`` (contract: docs/architecture.md#kafka).

One message per change, key ``org_id:entity:zoho_id`` so every record's versions stay in order on
one partition. Ingest (webhooks), bulk-sync (pages) and the DLQ replay all produce this shape;
the processor consumes it. Zoho timestamps (``2026-06-09T09:45:21-0400``) are parsed here once.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

from tds_common.identifiers import OrgId
from tds_common.json_limits import check_json

Operation = Literal["upsert", "delete"]
Source = Literal["webhook", "books", "inventory", "replay"]

_ZOHO_OFFSET: Final = re.compile(r"([+-]\d{2})(\d{2})$")


def parse_zoho_timestamp(value: str | None) -> datetime | None:
    """Parse Zoho's ``YYYY-MM-DDTHH:MM:SS±HHMM`` (or ISO with a colon); ``""``/None → None.

    The one timestamp parser of TDS: Zoho's texts, our own ISO checkpoints and Kubernetes'
    ``...Z`` times all go through it, so every instant read carries a zone. A timestamp without
    an offset is taken as UTC. Raises ``ValueError`` on anything else.
    """
    if value is None or value == "":
        return None
    text = _ZOHO_OFFSET.sub(r"\1:\2", value.strip().replace("Z", "+00:00"))
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def record_time(record: Mapping[str, Any], field: str = "last_modified_time") -> datetime | None:
    """A timestamp ``field`` of a Zoho record as read back from Zoho (a list, a detail); None
    when absent or not a timestamp: one odd field must not fail a whole page."""
    value = record.get(field)
    if not isinstance(value, str):
        return None
    try:
        return parse_zoho_timestamp(value)
    except ValueError:
        return None


def format_zoho_timestamp(value: datetime) -> str:
    """The inverse: ``2026-06-09T09:45:21-0400``."""
    return value.strftime("%Y-%m-%dT%H:%M:%S%z")


PAYLOAD_CHECKED: Final = "payload_checked"
"""Validation context key (``EventEnvelope.model_validate(..., context={PAYLOAD_CHECKED: True})``)
of a producer whose payload :func:`tds_common.json_limits.parse_json` already checked, as ingest's
are: walking a webhook's record twice was a few percent of its CPU."""


def _carriable(payload: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
    # Every producer and the processor hold payloads to the same limits.
    if not (info.context and info.context.get(PAYLOAD_CHECKED)):
        check_json(payload)
    return payload


def _storable(text: str) -> str:
    check_json(text)  # no U+0000 or lone surrogate: these fields become PostgreSQL text
    return text


StorableText = Annotated[str, Field(min_length=1), AfterValidator(_storable)]


def event_key(org_id: str, entity: str, zoho_id: str) -> bytes:
    """Kafka key: per-record ordering."""
    return f"{org_id}:{entity}:{zoho_id}".encode()


class EventEnvelope(BaseModel):
    """One change to one Zoho record."""

    model_config = ConfigDict(extra="forbid")

    event_id: StorableText = Field(default_factory=lambda: str(uuid.uuid4()))
    org_id: OrgId
    entity: StorableText
    zoho_id: StorableText
    op: Operation = "upsert"
    source: Source
    received_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    last_modified_time: datetime | None = None
    """The record's ``last_modified_time`` (timezone-aware); drives the monotonic upsert."""
    payload: Annotated[dict[str, Any], AfterValidator(_carriable)] = Field(default_factory=dict)
    """The record as Zoho sent it (unwrapped from its module key)."""

    @property
    def key(self) -> bytes:
        return event_key(self.org_id, self.entity, self.zoho_id)

    @property
    def dedup_key(self) -> str:
        """org:entity:id:last_modified_time — a repeated delivery has the same key.

        The time is the instant in UTC: Zoho's offset follows the organization's daylight saving
        time, so one version can arrive as text in two offsets."""
        moment = self.last_modified_time
        stamp = moment.astimezone(UTC).isoformat() if moment is not None else "none"
        return f"{self.org_id}:{self.entity}:{self.zoho_id}:{stamp}:{self.op}"

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> EventEnvelope:
        """Parse a Kafka value; pydantic's ``ValidationError`` for a malformed one."""
        return cls.model_validate_json(data)
