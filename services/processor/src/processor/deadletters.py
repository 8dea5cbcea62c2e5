"""The dead-letter topic ``tds.zoho.events.dlq``: what failed, why, and where it came from.

A dead letter keeps the original key and value byte for byte (so a replay republishes exactly
what was received) and says the rest in headers:

``tds-error`` (message, cut to 1000 chars), ``tds-error-class``, ``tds-reason`` (the error's
stable code: ``invalid_message``, ``upstream_rejected``, ``retries_exhausted``…),
``tds-original-topic``, ``tds-original-partition``, ``tds-original-offset``, ``tds-queue-id``
(the ``tds_sync_queue`` row), ``tds-entity``, ``tds-org``, ``tds-failed-at`` (ISO time).

Where the letter sits on the DLQ topic is stored on its queue row (``dlq_partition``,
``dlq_offset``) once the broker has it, so a replay seeks straight to it (:mod:`processor.replay`).

A letter the broker refuses as too large is still parked: its value is cut to
:data:`CUT_VALUE_BYTES` and ``tds-value-truncated`` says the original length; the original key and
value are kept in ``tds_dead_letter_values`` (by queue id), where the replay reads them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Final

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, MessageSizeTooLargeError, RecordTooLargeError
from aiokafka.structs import RecordMetadata

from processor.records import Item
from tds_common.db import CONNECTION_ERRORS
from tds_common.errors import PermanentError, UpstreamUnavailableError, truncate

logger = logging.getLogger(__name__)

ERROR_MAX_CHARS: Final = 1000
CUT_VALUE_BYTES: Final = 64 * 1024
"""A dead letter too large for the broker carries this much of its value (the rest is in
PostgreSQL); far below any broker's message size limit."""
TRUNCATED_HEADER: Final = "tds-value-truncated"
QUEUE_ID_HEADER: Final = "tds-queue-id"

_LOCATION: Final = "UPDATE tds_sync_queue SET dlq_partition = $2, dlq_offset = $3 WHERE id = $1"


class DeadLetterTooLargeError(PermanentError):
    """The broker (or the producer's request size) refuses the dead letter as too large."""

    def __init__(self, size: int) -> None:
        super().__init__(f"dead letter of {size} bytes is too large for the broker")
        self.size = size


def dead_letter_headers(item: Item, queue_id: int | None) -> list[tuple[str, bytes]]:
    record = item.record
    envelope = item.envelope
    error = item.error
    values = {
        "tds-error": truncate(str(error), ERROR_MAX_CHARS),
        "tds-error-class": type(error).__name__,
        "tds-reason": error.error_code if error is not None else "unknown",
        "tds-original-topic": record.topic,
        "tds-original-partition": str(record.partition),
        "tds-original-offset": str(record.offset),
        QUEUE_ID_HEADER: "" if queue_id is None else str(queue_id),
        "tds-entity": envelope.entity if envelope else "unknown",
        "tds-org": envelope.org_id if envelope else "",
        "tds-failed-at": datetime.now(UTC).isoformat(),
    }
    return [(name, value.encode()) for name, value in values.items()]


def header_map(headers: Iterable[tuple[str, bytes | None]] | None) -> dict[str, str]:
    """A consumer record's headers as a dict of strings (the last value of a name wins)."""
    result: dict[str, str] = {}
    for name, value in headers or ():
        result[str(name)] = bytes(value or b"").decode(errors="replace")
    return result


class DeadLetterPublisher:
    """Publishes poison records; a broker failure is transient (the batch is retried)."""

    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self._producer = producer
        self._topic = topic

    async def publish(
        self, item: Item, queue_id: int | None, *, cut: bool = False
    ) -> RecordMetadata:
        """Publish ``item``'s original bytes; ``cut``: only the first :data:`CUT_VALUE_BYTES`.

        Returns where the broker put it."""
        value = item.record.value or b""
        headers = dead_letter_headers(item, queue_id)
        if cut:
            headers.append((TRUNCATED_HEADER, str(len(value)).encode()))
            value = value[:CUT_VALUE_BYTES]
        try:
            return await self._producer.send_and_wait(
                self._topic, value, key=item.record.key, headers=headers
            )
        except (MessageSizeTooLargeError, RecordTooLargeError) as exc:
            raise DeadLetterTooLargeError(len(value)) from exc
        except KafkaError as exc:
            raise UpstreamUnavailableError(f"DLQ publish failed: {type(exc).__name__}") from exc


async def remember_location(pool: asyncpg.Pool, queue_id: int, where: RecordMetadata) -> None:
    """Store the letter's DLQ partition and offset on its queue row, for the replay's seek.

    Best effort: without it the replay finds the letter by its time of failure instead, and
    failing the batch here would publish the letter a second time."""
    try:
        await pool.execute(_LOCATION, queue_id, where.partition, where.offset)
    except (asyncpg.PostgresError, *CONNECTION_ERRORS) as exc:
        logger.warning(
            "could not store the dead letter's DLQ offset; replay will seek by time",
            extra={"queue_id": queue_id, "error": type(exc).__name__},
        )
