"""Trace context for webhooks: continue the caller's W3C trace or start one, and pass it on.

Each webhook request runs in a server span; its context goes into the Kafka message as a
``traceparent`` header so the processor's work joins the same trace, and the JSON log formatter
picks the trace id up from the current span. When the process has an OpenTelemetry SDK provider
configured (an exporter), that one is used; otherwise a private SDK provider without exporter
still mints real trace ids, so the header and the logs carry them even with tracing export off.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Final

from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import TracerProvider

TRACER_NAME: Final = "ingest"
_FALLBACK_PROVIDER: Final = TracerProvider()


def get_tracer() -> trace.Tracer:
    provider = trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        provider = _FALLBACK_PROVIDER
    return provider.get_tracer(TRACER_NAME)


@contextmanager
def server_span(name: str, headers: Mapping[str, str]) -> Iterator[trace.Span]:
    """A server span continuing the ``traceparent`` in ``headers`` (if any), made current."""
    parent = propagate.extract(dict(headers))
    with get_tracer().start_as_current_span(
        name, context=parent, kind=trace.SpanKind.SERVER
    ) as span:
        yield span


def kafka_headers() -> list[tuple[str, bytes]]:
    """The current trace context as Kafka headers (``traceparent``, ``tracestate`` if any)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return [(key, value.encode()) for key, value in carrier.items()]


def current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
