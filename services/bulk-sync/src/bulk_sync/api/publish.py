"""Publishing a sync command to ``tds.sync.requests``: the one way every route does it.

Keyed by organization, so one organization's runs execute in order (they share its Zoho
budget), and carrying the request's trace context, so the run's span links to the request that
asked for it. Kafka refusing is :class:`CommandNotPublishedError` (503 + ``Retry-After``); the
route undoes what it prepared (failed runs, a hold restored) before re-raising it.
"""

from __future__ import annotations

from typing import Final

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from bulk_sync.models import SyncCommand
from tds_common.errors import UpstreamUnavailableError
from tds_common.tracing import kafka_headers

RETRY_AFTER_SECONDS: Final = 5
"""What a caller is told to wait after Kafka refused a command."""


class CommandNotPublishedError(UpstreamUnavailableError):
    """Kafka did not take the command; nothing of it reaches a worker."""


async def publish_command(producer: AIOKafkaProducer, topic: str, command: SyncCommand) -> None:
    try:
        await producer.send_and_wait(
            topic, command.to_bytes(), key=command.org_id.encode(), headers=kafka_headers()
        )
    except KafkaError as exc:
        raise CommandNotPublishedError(
            f"Kafka refused the sync command: {type(exc).__name__}",
            retry_after_seconds=RETRY_AFTER_SECONDS,
        ) from exc
