"""OpenTelemetry traces for every TDS process: setup, and W3C trace context across Kafka and HTTP.

Setup (:func:`configure_tracing`, called once by each process's entry point) follows the
standard ``OTEL_*`` variables: spans are exported over OTLP/HTTP only when
``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set, and never
with ``OTEL_TRACES_EXPORTER=none`` or ``OTEL_SDK_DISABLED=true``. ``OTEL_SERVICE_NAME`` (else
the component's name) and ``OTEL_RESOURCE_ATTRIBUTES`` name the process; the SDK itself reads
``OTEL_TRACES_SAMPLER`` / ``OTEL_TRACES_SAMPLER_ARG``, ``OTEL_EXPORTER_OTLP_HEADERS``,
``..._TIMEOUT``, ``..._COMPRESSION`` and ``OTEL_BSP_*``. With export off, spans are still made
by an SDK provider without exporter, so trace ids exist for the logs, the Kafka headers and
the calls between services (docs/architecture.md, "Tracing").

Propagation: the context rides in ``traceparent`` (and ``tracestate``) Kafka headers
(:func:`kafka_headers`, :func:`context_from_headers`) and HTTP headers (:class:`TracingTransport`
on the client side, :class:`TracingMiddleware` on the server side).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Final, Literal
from urllib.parse import urlsplit

import httpx
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

UNTRACED_PATHS: Final = frozenset({"/health", "/ready", "/metrics"})
"""Probes and scrapes: a span each would bury the requests that matter."""
HTTP_TRACER: Final = "tds_common.http"
TRACES_PATH: Final = "/v1/traces"
"""Appended to ``OTEL_EXPORTER_OTLP_ENDPOINT``, as the OTLP/HTTP specification says."""

_FALLBACK_PROVIDER = TracerProvider()
"""Used while no SDK provider is installed (tests, tools): real ids, no export."""


class TracingSettings(BaseSettings):
    """The standard ``OTEL_*`` variables that decide whether and where spans are exported."""

    model_config = SettingsConfigDict(
        env_prefix="OTEL_", env_file=".env", env_ignore_empty=True, extra="ignore"
    )

    exporter_otlp_endpoint: str | None = None
    """OTLP/HTTP base URL (``http://jaeger:4318``); ``/v1/traces`` is appended."""
    exporter_otlp_traces_endpoint: str | None = None
    """Full OTLP/HTTP URL for traces; wins over ``OTEL_EXPORTER_OTLP_ENDPOINT``."""
    exporter_otlp_protocol: Literal["http/protobuf"] = Field(
        "http/protobuf",
        validation_alias=AliasChoices(
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"
        ),
    )
    """Only OTLP over HTTP is built in; anything else is refused at start."""
    traces_exporter: Literal["otlp", "none"] = "otlp"
    sdk_disabled: bool = False
    service_name: str | None = None

    def traces_endpoint(self) -> str | None:
        """Where spans go, or ``None`` when export is off."""
        if self.sdk_disabled or self.traces_exporter == "none":
            return None
        if self.exporter_otlp_traces_endpoint:
            return self.exporter_otlp_traces_endpoint
        if self.exporter_otlp_endpoint:
            return self.exporter_otlp_endpoint.rstrip("/") + TRACES_PATH
        return None


def build_provider(component: str, settings: TracingSettings) -> TracerProvider:
    """A provider exporting over OTLP/HTTP when ``settings`` say so, else keeping spans local."""
    provider = TracerProvider(resource=_resource(component, settings))
    endpoint = settings.traces_endpoint()
    if endpoint is not None:
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def configure_tracing(component: str) -> TracerProvider:
    """Install this process's tracer provider (once, at start); see the module docstring.

    The SDK flushes and shuts it down at interpreter exit, after uvicorn's graceful stop.
    """
    settings = TracingSettings()
    provider = build_provider(component, settings)
    trace.set_tracer_provider(provider)
    endpoint = settings.traces_endpoint()
    # Only scheme, host and port: an endpoint URL may carry credentials in its user part.
    where = urlsplit(endpoint) if endpoint else None
    logger.info(
        "tracing configured",
        extra={
            "tracing_export": endpoint is not None,
            "tracing_endpoint": f"{where.scheme}://{where.hostname}:{where.port}"
            if where
            else None,
            "service_name": provider.resource.attributes.get(SERVICE_NAME),
        },
    )
    return provider


def _resource(component: str, settings: TracingSettings) -> Resource:
    detected = Resource.create()  # OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME
    name = settings.service_name or str(detected.attributes.get(SERVICE_NAME, ""))
    if not name or name.startswith("unknown_service"):
        name = component
    return detected.merge(Resource({SERVICE_NAME: name}))


def get_tracer(name: str) -> trace.Tracer:
    """A tracer of the installed SDK provider, else of a private one that mints real ids."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        provider = _FALLBACK_PROVIDER
    return _tracer_of(provider, name)


@functools.lru_cache(maxsize=64)
def _tracer_of(provider: trace.TracerProvider, name: str) -> trace.Tracer:
    # The SDK's get_tracer registers a warnings filter and compares instrumentation scopes on
    # every call: a good share of a webhook's CPU when a span is opened per request.
    return provider.get_tracer(name)


def current_trace_id() -> str | None:
    """The current span's trace id as 32 hex digits, or ``None`` outside a span."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def kafka_headers() -> list[tuple[str, bytes]]:
    """The current trace context as Kafka headers (``traceparent``, ``tracestate`` if any)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return [(key, value.encode()) for key, value in carrier.items()]


def context_from_headers(headers: Iterable[tuple[str, bytes | None]] | None) -> Context:
    """The trace context a Kafka record's headers carry (an empty context when none)."""
    carrier: dict[str, str] = {}
    for key, value in headers or ():
        if value is not None:
            carrier[key.lower()] = value.decode("latin-1")
    return propagate.extract(carrier)


def link_to(context: Context) -> list[Link]:
    """A link to the span ``context`` holds, if it holds a valid one."""
    span_context = trace.get_current_span(context).get_span_context()
    return [Link(span_context)] if span_context.is_valid else []


@contextmanager
def linked_root_span(
    tracer: trace.Tracer, name: str, attributes: Mapping[str, str | int] | None = None
) -> Iterator[trace.Span]:
    """A span starting a trace of its own, linked to the current span, made current.

    For the many steps of a long job (a sync run's pages): one trace each, instead of one
    trace of thousands of spans that no viewer shows whole.
    """
    links = link_to(otel_context.get_current())
    with tracer.start_as_current_span(
        name, context=Context(), links=links, attributes=attributes
    ) as span:
        yield span


class TracingTransport(httpx.AsyncBaseTransport):
    """A client span per HTTP request, whose context goes out in the ``traceparent`` header."""

    def __init__(self, inner: httpx.AsyncBaseTransport, peer: str) -> None:
        self._inner = inner
        self._peer = peer

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        with get_tracer(HTTP_TRACER).start_as_current_span(
            f"{request.method} {self._peer}",
            kind=SpanKind.CLIENT,
            attributes={
                "http.request.method": request.method,
                "server.address": request.url.host,
                "url.path": request.url.path,
            },
        ) as span:
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            request.headers.update(carrier)
            response = await self._inner.handle_async_request(request)
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 500:
                span.set_status(Status(StatusCode.ERROR, f"HTTP {response.status_code}"))
            return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class TracingMiddleware:
    """A server span per HTTP request (probes and ``/metrics`` aside), continuing the caller's
    ``traceparent``; named after the route template once routing has matched it.

    Pure ASGI, like :class:`tds_common.metrics.HttpMetricsMiddleware`: no extra task per request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNTRACED_PATHS:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        carrier = {
            key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]
        }
        with get_tracer(HTTP_TRACER).start_as_current_span(
            method,
            context=propagate.extract(carrier),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": scope["path"]},
        ) as span:

            async def send_recording_status(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))
                await send(message)

            try:
                await self.app(scope, receive, send_recording_status)
            finally:
                route = getattr(scope.get("route"), "path", None)
                if isinstance(route, str):
                    span.set_attribute("http.route", route)
                    span.update_name(f"{method} {route}")
