"""The dead-letter topic ``tds.zoho.events.dlq``: what failed, why, and where it came from.

A dead letter keeps the original key and value byte for byte (so a replay republishes exactly
what was received) and says the rest in headers:

``tds-error`` (message, cut to 1000 chars), ``tds-error-class``, ``tds-original-topic``,
``tds-original-partition``, ``tds-original-offset``, ``tds-queue-id`` (the ``tds_sync_queue``
row), ``tds-entity``, ``tds-org``, ``tds-failed-at`` (ISO time).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Final

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from processor.records import Item
from tds_common.errors import UpstreamUnavailableError, truncate

logger = logging.getLogger(__name__)

HEADER_PREFIX: Final = "tds-"
ERROR_MAX_CHARS: Final = 1000


def dead_letter_headers(item: Item, queue_id: int | None) -> list[tuple[str, bytes]]:
    record = item.record
    envelope = item.envelope
    values = {
        "tds-error": truncate(str(item.error), ERROR_MAX_CHARS),
        "tds-error-class": type(item.error).__name__,
        "tds-original-topic": record.topic,
        "tds-original-partition": str(record.partition),
        "tds-original-offset": str(record.offset),
        "tds-queue-id": "" if queue_id is None else str(queue_id),
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

    async def publish(self, item: Item, queue_id: int | None) -> None:
        try:
            await self._producer.send_and_wait(
                self._topic,
                item.record.value or b"",
                key=item.record.key,
                headers=dead_letter_headers(item, queue_id),
            )
        except KafkaError as exc:
            raise UpstreamUnavailableError(f"DLQ publish failed: {type(exc).__name__}") from exc
