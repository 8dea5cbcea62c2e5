"""The processor's trace spans: one per batch, and one per event in the trace its webhook began.

A batch mixes events of many traces, so the batch span starts a trace of its own and links to
the span each record's ``traceparent`` header names; each event's span continues that trace
(its parent is the publisher's span, e.g. ingest's request) and links back to the batch. A thin
event's read through zoho-proxy starts while its event span is current, so the read, the
proxy's server span and its Zoho call all join the webhook's trace (docs/architecture.md,
"Tracing").
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Final

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from processor.records import Item, KafkaRecord
from tds_common.tracing import context_from_headers, get_tracer, link_to

TRACER: Final = "processor"


def _record_context(record: KafkaRecord) -> Context:
    # aiokafka's records carry their headers; records built by hand (tools) may have none.
    return context_from_headers(getattr(record, "headers", None))


def open_spans(items: Sequence[Item]) -> trace.Span:
    """Start a batch's span (not current yet) and each of its events' spans (``item.span``).

    The processor opens them while it prepares the batch, before the batch before it has
    finished writing: creating 500 spans is a good share of a batch's CPU, better spent while
    PostgreSQL works than while it waits for the next statement."""
    tracer = get_tracer(TRACER)
    topic = items[0].record.topic if items else ""
    # Each record's headers are read once: for the batch's links and for its event's parent.
    contexts = [_record_context(item.record) for item in items]
    links = [link for context in contexts for link in link_to(context)]
    batch = tracer.start_span(
        f"{topic} process",
        context=Context(),  # a root: the batch belongs to no single event's trace
        kind=SpanKind.CONSUMER,
        links=links,
        attributes={
            "messaging.system": "kafka",
            "messaging.destination.name": topic,
            "messaging.batch.message_count": len(items),
        },
    )
    to_batch = Link(batch.get_span_context())  # immutable: every event span shares it
    for item, context in zip(items, contexts, strict=True):
        item.span = _event_span(tracer, item, context, to_batch)
    return batch


@contextlib.contextmanager
def batch_spans(items: Sequence[Item], batch: trace.Span | None = None) -> Iterator[None]:
    """The batch's span, current while the batch is written (started here unless
    :func:`open_spans` did), and its events' spans, ended with their outcomes."""
    if batch is None:
        batch = open_spans(items)
    with trace.use_span(batch, end_on_exit=True):
        try:
            yield
        finally:
            end_spans(items)


def end_spans(items: Sequence[Item]) -> None:
    """End the events' spans, each with its outcome (an item left unwritten: ``pending``)."""
    for item in items:
        _end(item)


def _event_span(tracer: trace.Tracer, item: Item, parent: Context, batch: Link) -> trace.Span:
    record = item.record
    attributes: dict[str, str | int] = {
        "messaging.system": "kafka",
        "messaging.destination.name": record.topic,
        "messaging.destination.partition.id": str(record.partition),
        "messaging.kafka.offset": record.offset,
        "tds.entity": item.entity,
    }
    if item.envelope is not None:
        attributes |= {
            "tds.org_id": item.envelope.org_id,
            "tds.zoho_id": item.envelope.zoho_id,
            "tds.event_id": item.envelope.event_id,
            "tds.op": item.envelope.op,
        }
    return tracer.start_span(
        f"process {item.entity}",
        context=parent,
        kind=SpanKind.CONSUMER,
        links=[batch],
        attributes=attributes,
    )


def _end(item: Item) -> None:
    span = item.span
    if span is None:
        return
    span.set_attribute("tds.outcome", item.outcome)
    if item.outcome == "dead_letter":
        span.set_status(Status(StatusCode.ERROR, type(item.error).__name__))
    span.end()
    item.span = None


@contextlib.contextmanager
def within(item: Item) -> Iterator[None]:
    """Make ``item``'s span current: work started here (a read's task) joins its trace."""
    if item.span is None:
        yield
        return
    with trace.use_span(item.span, end_on_exit=False):
        yield
