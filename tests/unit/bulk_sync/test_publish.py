"""Every route publishes a sync command the same way: keyed by organization, with the request's
trace context, and Kafka's refusal as a 503 the caller may retry."""

from __future__ import annotations

from typing import Any, cast

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError

from bulk_sync.api.publish import CommandNotPublishedError, publish_command
from bulk_sync.models import SyncCommand
from tds_common.tracing import get_tracer
from tests.utils.tracing import recorded_spans

COMMAND = SyncCommand(
    run_id="7d0c8a3e-5d7f-4a59-9d43-0f7d8f3f1c11",
    org_id="60012345678",
    entities=["customers"],
    mode="full",
)


class Producer:
    def __init__(self, error: Exception | None = None) -> None:
        self.sent: list[tuple[str, bytes, dict[str, Any]]] = []
        self._error = error

    async def send_and_wait(self, topic: str, value: bytes, **kwargs: Any) -> None:
        if self._error is not None:
            raise self._error
        self.sent.append((topic, value, kwargs))


async def test_a_command_is_keyed_by_organization_and_carries_the_trace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorded_spans(monkeypatch)
    producer = Producer()
    with get_tracer("test").start_as_current_span("POST confirm-sweep") as span:
        await publish_command(cast(AIOKafkaProducer, producer), "tds.sync.requests", COMMAND)
    ((topic, value, kwargs),) = producer.sent
    assert topic == "tds.sync.requests" and value == COMMAND.to_bytes()
    assert kwargs["key"] == b"60012345678"
    trace_id = format(span.get_span_context().trace_id, "032x")
    assert any(k == "traceparent" and trace_id in v.decode() for k, v in kwargs["headers"])


async def test_kafka_refusing_is_a_503_to_retry_after_a_while() -> None:
    producer = Producer(KafkaConnectionError("broker gone"))
    with pytest.raises(CommandNotPublishedError) as caught:
        await publish_command(cast(AIOKafkaProducer, producer), "tds.sync.requests", COMMAND)
    assert caught.value.http_status == 503 and caught.value.retriable
    assert caught.value.retry_after_seconds == 5
    assert "KafkaConnectionError" in str(caught.value)
