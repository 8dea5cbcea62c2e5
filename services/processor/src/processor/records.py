"""What the processor knows about one Kafka record on its way through a batch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from opentelemetry.trace import Span

from tds_common.errors import ServiceError
from tds_common.events import EventEnvelope
from tds_common.mirror import MappedChange, content_digest


class KafkaRecord(Protocol):
    """The parts of aiokafka's ``ConsumerRecord`` we use (tests pass plain objects)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


def db_text(text: str) -> str:
    """``text`` as PostgreSQL can store it: text and jsonb refuse NUL, so it is spelled out."""
    return text.replace("\x00", "\\u0000")


def dedup_key(envelope: EventEnvelope) -> str:
    """The inbox's uniqueness key: a redelivery of the same event is a no-op.

    Versioned events use the contract's key (org:entity:id:last_modified_time:op) plus a digest
    of the payload: Zoho stamps versions to the second, so two edits in one second share a
    version, and the second must not pass for a redelivery of the first. An event without a
    version (a thin webhook naming only an id) is keyed by its event id instead, so two
    different thin webhooks for one record are both handled, while a redelivery of one is not.
    """
    if envelope.last_modified_time is not None:
        return f"{envelope.dedup_key}:{content_digest(envelope.payload)}"
    return f"{envelope.org_id}:{envelope.entity}:{envelope.zoho_id}:event:{envelope.event_id}"


@dataclass
class Item:
    """One record: decoded, completed, mapped, or marked as poison along the way."""

    record: KafkaRecord
    envelope: EventEnvelope | None = None
    mapped: MappedChange | None = None
    error: ServiceError | None = None
    """Why this record can never succeed (set once; the item then goes to the DLQ)."""
    completed: dict[str, Any] | None = None
    """The record read through zoho-proxy, when the event was thin."""
    gone: bool = False
    """zoho-proxy said 404: the record no longer exists in Zoho."""
    read_at: datetime | None = None
    """When the read behind ``completed`` / ``gone`` was asked for (it saw Zoho no earlier)."""
    conflict: bool = False
    """The mirror holds another content at this event's version (two edits in one second): the
    record is read through zoho-proxy and what Zoho holds now is written."""
    conflict_seen_at: datetime | None = None
    """When the content it disagrees with was seen: only a read asked for since settles it."""
    outcome: str = "pending"
    """applied | stale | duplicate | dead_letter, or not done in this batch: deferred (failed
    or waiting, tried again later) | held (behind a deferred record of its partition)."""
    retry_after_seconds: float | None = None
    """Deferred: how long its partition waits before the record is tried again."""
    resume_when: Callable[[], bool] | None = None
    """Deferred while its read runs: the partition may resume as soon as this is true."""
    counted: bool = False
    """Deferred after a failure of its own (an attempt was counted), not merely waiting."""
    span: Span | None = None
    """This event's trace span while its batch runs (:mod:`processor.spans`)."""
    inbox_json: str | None = field(default=None, repr=False)
    """Its inbox row, rendered ahead of the write (:func:`processor.store.inbox_json`)."""
    _dedup: tuple[EventEnvelope | None, str] | None = field(default=None, repr=False)
    """The dedup key with the envelope it was computed from: a batch asks for it several times
    and its content digest (canonical JSON of the whole payload, hashed) is the costly part."""

    @property
    def done(self) -> bool:
        """Finished in this batch (its offset may be committed)."""
        return self.outcome not in ("pending", "deferred", "held")

    @property
    def entity(self) -> str:
        return self.envelope.entity if self.envelope else "unknown"

    @property
    def dedup_key(self) -> str:
        if self._dedup is not None and self._dedup[0] is self.envelope:
            return self._dedup[1]
        if self.envelope is None:
            r = self.record
            key = f"invalid:{r.topic}:{r.partition}:{r.offset}"
        else:
            key = dedup_key(self.envelope)
        self._dedup = (self.envelope, key)
        return key
