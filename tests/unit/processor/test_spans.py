"""The processor's spans: each event continues the trace its record's ``traceparent`` carries."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from processor import spans as spans_module
from processor.pipeline import BatchProcessor, decode
from processor.settings import Settings
from processor.spans import batch_spans, within
from tds_common import tracing
from tds_common.errors import InvalidMessageError
from tests.unit.mirror import factories as f
from tests.utils.tracing import by_name, hex_trace_id, recorded_spans

WEBHOOK_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
INGEST_SPAN = "00f067aa0ba902b7"


@dataclass
class Record:
    value: bytes | None
    offset: int
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    topic: str = "tds.zoho.events"
    partition: int = 2
    key: bytes | None = None


async def test_each_event_continues_its_webhooks_trace_and_links_the_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spans = recorded_spans(monkeypatch)
    traced = Record(
        f.envelope("stock", "7", {"item_id": "7"}).to_bytes(),
        offset=10,
        headers=[("traceparent", f"00-{WEBHOOK_TRACE}-{INGEST_SPAN}-01".encode())],
    )
    untraced = Record(b"{nope", offset=11)
    items = [decode(traced), decode(untraced)]
    seen_in_read: list[str] = []

    async def read() -> None:
        seen_in_read.append(format(trace.get_current_span().get_span_context().trace_id, "032x"))

    with batch_spans(items):
        with within(items[0]):
            task = asyncio.create_task(read())  # as ThinReads starts a thin event's read
        await task
        items[0].outcome = "applied"
        items[1].outcome = "dead_letter"
        items[1].error = InvalidMessageError("not an event envelope")
    assert seen_in_read == [WEBHOOK_TRACE]
    found = by_name(spans)
    batch, event, poison = (
        found["tds.zoho.events process"],
        found["process stock"],
        found["process unknown"],
    )
    assert batch.kind == event.kind == SpanKind.CONSUMER
    assert batch.parent is None and hex_trace_id(batch) != WEBHOOK_TRACE
    # The batch links to the span that published each traced record.
    assert [format(link.context.span_id, "016x") for link in batch.links] == [INGEST_SPAN]
    assert hex_trace_id(event) == WEBHOOK_TRACE
    assert event.parent is not None and format(event.parent.span_id, "016x") == INGEST_SPAN
    assert [link.context.span_id for link in event.links] == [batch.context.span_id]
    assert event.attributes is not None
    assert event.attributes["tds.outcome"] == "applied"
    assert event.attributes["tds.zoho_id"] == "7"
    assert event.attributes["messaging.kafka.offset"] == 10
    # An event without a traceparent starts a trace of its own; poison is marked as an error.
    assert hex_trace_id(poison) not in (WEBHOOK_TRACE, hex_trace_id(batch))
    assert poison.status.status_code == StatusCode.ERROR
    assert all(item.span is None for item in items)


async def test_event_spans_end_when_the_batch_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    spans = recorded_spans(monkeypatch)
    items = [decode(Record(f.envelope("products", "1", f.product("1")).to_bytes(), offset=1))]
    with pytest.raises(ConnectionError), batch_spans(items):
        raise ConnectionError("PostgreSQL gone")
    found = by_name(spans)
    attributes = found["process products"].attributes
    assert attributes is not None and attributes["tds.outcome"] == "pending"
    assert found["tds.zoho.events process"].status.status_code == StatusCode.ERROR


async def test_a_batch_opens_its_spans_while_prepared_and_ends_them_written_or_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spans = recorded_spans(monkeypatch)
    processor = BatchProcessor(None, None, None, Settings())  # type: ignore[arg-type]
    records = [
        Record(f.envelope("products", str(n), f.product(str(n))).to_bytes(), offset=n)
        for n in range(3)
    ]
    batch = await processor.prepare(records)
    assert batch.span is not None and all(item.span is not None for item in batch.items)
    assert spans.get_finished_spans() == ()  # opened while preparing, ended by what follows
    # The last record is dropped (polled again later): its span ends, not done in this batch.
    rest = batch.without(batch.items[2:])
    assert rest is not None and rest.span is batch.span and len(rest.items) == 2
    with batch_spans(rest.items, rest.span):
        assert trace.get_current_span() is batch.span  # current while the batch writes
        for item in rest.items:
            item.outcome = "applied"
    ended = spans.get_finished_spans()
    by_offset = {
        (s.attributes or {})["messaging.kafka.offset"]: (s.attributes or {})["tds.outcome"]
        for s in ended
        if s.name == "process products"
    }
    assert by_offset == {0: "applied", 1: "applied", 2: "held"}
    assert [s.name for s in ended].count("tds.zoho.events process") == 1


async def test_a_batch_dropped_whole_ends_its_own_span_too(monkeypatch: pytest.MonkeyPatch) -> None:
    spans = recorded_spans(monkeypatch)
    processor = BatchProcessor(None, None, None, Settings())  # type: ignore[arg-type]
    batch = await processor.prepare(
        [Record(f.envelope("stock", "7", {"item_id": "7"}).to_bytes(), 4)]
    )
    batch.discard()
    found = by_name(spans)
    assert (found["process stock"].attributes or {})["tds.outcome"] == "held"
    assert "tds.zoho.events process" in found


def test_each_records_trace_headers_are_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 18: the batch's links and the event's parent come from one reading."""
    recorded_spans(monkeypatch)
    read: list[object] = []
    original = tracing.context_from_headers

    def counting(headers: Any) -> Context:
        read.append(headers)
        return original(headers)

    monkeypatch.setattr(spans_module, "context_from_headers", counting)
    header = [("traceparent", f"00-{WEBHOOK_TRACE}-{INGEST_SPAN}-01".encode())]
    records = [
        Record(f.envelope("stock", str(n), {"item_id": str(n)}).to_bytes(), n, header)
        for n in range(3)
    ]
    items = [decode(r) for r in records]
    batch = spans_module.open_spans(items)
    assert len(read) == 3
    for item in items:
        assert isinstance(item.span, ReadableSpan)
        assert hex_trace_id(item.span) == WEBHOOK_TRACE
    assert isinstance(batch, ReadableSpan) and len(batch.links) == 3
