"""Publishing envelopes to ``tds.zoho.events``: answered only once the broker acknowledged.

The producer is ``acks=all`` and idempotent (``tds_common.kafka.create_producer``). A request
waits at most ``publish_timeout_seconds`` for the acknowledgement; past that, or on a Kafka
error, it gets :class:`PublishUnavailableError` (503 + Retry-After) so Zoho delivers it again.
The send itself is never cancelled on timeout (``asyncio.shield``): the producer may still
deliver it later, and a duplicate is harmless downstream (monotonic upsert, inbox dedup key),
whereas a 2xx for an event that is not durable would lose data.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, KafkaTimeoutError, MessageSizeTooLargeError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay

from ingest import metrics
from ingest.errors import PayloadTooLargeError, PublishUnavailableError
from tds_common.backoff import tenacity_wait
from tds_common.events import EventEnvelope
from tds_common.kafka import abort_pending, create_producer
from tds_common.settings import KafkaSettings
from tds_common.tracing import kafka_headers

logger = logging.getLogger(__name__)


def _retrieve_outcome(delivery: asyncio.Future[object]) -> None:
    if not delivery.cancelled():
        delivery.exception()


class Publisher(Protocol):
    """What the app needs from a publisher (the Kafka one, or a fake in unit tests)."""

    async def start(self, *, within_seconds: float) -> None: ...
    async def stop(self) -> None: ...
    async def check(self) -> None: ...
    async def publish(self, envelope: EventEnvelope) -> None: ...


class EventPublisher:
    """Owns the Kafka producer of one ingest process."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        *,
        kafka: KafkaSettings | None = None,
        timeout_seconds: float,
        retry_after_seconds: int,
        flush_timeout_seconds: float = 10.0,
    ) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._topic = topic
        self._kafka = kafka
        self._timeout_seconds = timeout_seconds
        self._retry_after_seconds = retry_after_seconds
        self._flush_timeout_seconds = flush_timeout_seconds
        self._producer: AIOKafkaProducer | None = None

    async def start(self, *, within_seconds: float) -> None:
        """Connect, retrying with backoff for ``within_seconds`` (then the error propagates)."""
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_delay(within_seconds),
                wait=tenacity_wait(0.5, 5.0),
                retry=retry_if_exception_type(KafkaError),
                reraise=True,
            ):
                with attempt:
                    producer = create_producer(self._bootstrap_servers, self._kafka)
                    try:
                        await producer.start()
                    except BaseException:
                        await producer.stop()
                        raise
                    self._producer = producer
        except KafkaError as exc:
            raise PublishUnavailableError(
                f"Kafka unreachable for {within_seconds:g} s at startup: {type(exc).__name__}"
            ) from exc
        logger.info("producer connected", extra={"topic": self._topic})

    async def stop(self) -> None:
        """Flush what is buffered (bounded), then close the producer.

        Everything answered 202 was acknowledged already, so whatever is still buffered when
        the flush bound passes belongs to requests that got 503 (Zoho retries them); those
        batches are failed so the producer can close instead of waiting for a dead broker.
        """
        if self._producer is None:
            return
        producer, self._producer = self._producer, None
        try:
            await asyncio.wait_for(producer.flush(), self._flush_timeout_seconds)
        except (TimeoutError, KafkaError):
            logger.warning("Kafka unreachable at shutdown; dropping unacknowledged (503) events")
            await abort_pending(producer, KafkaTimeoutError("ingest shutting down"))
        try:
            await asyncio.wait_for(producer.stop(), self._flush_timeout_seconds)
        except TimeoutError:
            logger.warning("Kafka producer did not close in time")

    async def check(self) -> None:
        """Readiness: a broker answers and knows our topic (no auto-creation in production)."""
        if self._producer is None:
            raise PublishUnavailableError("Kafka producer not started")
        try:
            cluster = await self._producer.client.fetch_all_metadata()
        except KafkaError as exc:
            raise PublishUnavailableError(f"Kafka unreachable: {type(exc).__name__}") from exc
        if self._topic not in cluster.topics():
            raise PublishUnavailableError(f"topic {self._topic} does not exist")

    def _unavailable(self, message: str) -> PublishUnavailableError:
        return PublishUnavailableError(message, retry_after_seconds=self._retry_after_seconds)

    async def publish(self, envelope: EventEnvelope) -> None:
        """Return once the broker acknowledged the event; raise 503/413 otherwise."""
        if self._producer is None:
            raise self._unavailable("Kafka producer not started")
        started = time.perf_counter()
        outcome = "error"
        try:
            async with asyncio.timeout(self._timeout_seconds):
                delivery = await self._producer.send(
                    self._topic, envelope.to_bytes(), key=envelope.key, headers=kafka_headers()
                )
                # Retrieve the outcome even if we stop waiting (no "exception never retrieved").
                delivery.add_done_callback(_retrieve_outcome)
                await asyncio.shield(delivery)
            outcome = "acknowledged"
        except TimeoutError as exc:
            outcome = "timeout"
            raise self._unavailable("Kafka did not acknowledge the event in time") from exc
        except MessageSizeTooLargeError as exc:
            raise PayloadTooLargeError("event is larger than Kafka accepts") from exc
        except KafkaError as exc:
            raise self._unavailable(
                f"Kafka could not take the event: {type(exc).__name__}"
            ) from exc
        finally:
            metrics.PUBLISH_DURATION.labels(envelope.entity, outcome).observe(
                time.perf_counter() - started
            )
