"""tds_common.tracing: settings, export, and the trace context across Kafka headers and HTTP."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.util.types import Attributes
from pydantic import ValidationError

from tds_common import tracing
from tds_common.logging import JsonFormatter
from tds_common.tracing import (
    TracingMiddleware,
    TracingSettings,
    TracingTransport,
    build_provider,
    context_from_headers,
    get_tracer,
    kafka_headers,
    linked_root_span,
)
from tests.utils.tracing import by_name, hex_trace_id, recorded_spans

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"


@pytest.fixture(autouse=True)
def _no_otel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_SERVICE_NAME",
        "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_TRACES_EXPORTER",
        "OTEL_SDK_DISABLED",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ):
        monkeypatch.delenv(name, raising=False)


def test_export_is_off_unless_an_endpoint_is_configured() -> None:
    assert TracingSettings().traces_endpoint() is None
    base = TracingSettings(exporter_otlp_endpoint="http://jaeger:4318/")
    assert base.traces_endpoint() == "http://jaeger:4318/v1/traces"
    full = TracingSettings(
        exporter_otlp_endpoint="http://a:4318", exporter_otlp_traces_endpoint="http://b:4318/traces"
    )
    assert full.traces_endpoint() == "http://b:4318/traces"
    assert (
        TracingSettings(
            exporter_otlp_endpoint="http://a:4318", traces_exporter="none"
        ).traces_endpoint()
        is None
    )
    assert (
        TracingSettings(exporter_otlp_endpoint="http://a:4318", sdk_disabled=True).traces_endpoint()
        is None
    )


def test_settings_come_from_the_standard_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "tds-processor")
    settings = TracingSettings()
    assert settings.traces_endpoint() == "http://collector:4318/v1/traces"
    assert settings.service_name == "tds-processor"


@pytest.mark.parametrize(
    ("name", "value"),
    [("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"), ("OTEL_TRACES_EXPORTER", "zipkin")],
)
def test_unsupported_exporters_are_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        TracingSettings()


def test_service_name_defaults_to_the_component(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (
        build_provider("processor", TracingSettings()).resource.attributes["service.name"]
        == "processor"
    )
    monkeypatch.setenv("OTEL_SERVICE_NAME", "tds-processor-eu")
    named = build_provider("processor", TracingSettings())
    assert named.resource.attributes["service.name"] == "tds-processor-eu"


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture(name="collector")
def fixture_collector() -> Iterator[str]:
    _Collector.received = []
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_spans_are_exported_over_otlp_http_when_configured(collector: str) -> None:
    provider = build_provider("ingest", TracingSettings(exporter_otlp_endpoint=collector))
    with provider.get_tracer("t").start_as_current_span("POST /api/zoho/webhooks/{entity}"):
        pass
    assert provider.force_flush(10_000)
    provider.shutdown()
    ((path, content_type, body),) = _Collector.received
    assert path == "/v1/traces" and content_type == "application/x-protobuf"
    assert b"POST /api/zoho/webhooks/{entity}" in body and b"ingest" in body


def test_nothing_is_exported_without_an_endpoint(collector: str) -> None:
    provider = build_provider("ingest", TracingSettings())
    with provider.get_tracer("t").start_as_current_span("quiet") as span:
        assert span.get_span_context().is_valid  # ids are still minted for the logs
    assert provider.force_flush(10_000)
    provider.shutdown()
    assert _Collector.received == []


def test_kafka_headers_round_trip_the_current_span() -> None:
    with get_tracer("t").start_as_current_span("publish") as span:
        headers = kafka_headers()
    assert [key for key, _ in headers] == ["traceparent"]
    restored = trace.get_current_span(context_from_headers(headers)).get_span_context()
    sent = span.get_span_context()
    assert (restored.trace_id, restored.span_id) == (sent.trace_id, sent.span_id)
    assert restored.is_remote


@pytest.mark.parametrize(
    "headers",
    [None, [], [("traceparent", None)], [("traceparent", b"garbage")], [("other", b"x")]],
)
def test_records_without_a_usable_traceparent_start_no_trace(
    headers: list[tuple[str, bytes | None]] | None,
) -> None:
    context = context_from_headers(headers)
    assert not trace.get_current_span(context).get_span_context().is_valid


async def test_http_calls_are_client_spans_passing_their_context_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spans = recorded_spans(monkeypatch)
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503 if request.url.path == "/down" else 200)

    transport = TracingTransport(httpx.MockTransport(answer), "zoho-proxy")
    async with httpx.AsyncClient(transport=transport, base_url="http://proxy") as client:
        with get_tracer("t").start_as_current_span("caller"):
            await client.get("/v1/invoices/1")
            await client.get("/down")
    finished = spans.get_finished_spans()
    caller = by_name(spans)["caller"]
    calls = [s for s in finished if s.kind == SpanKind.CLIENT]
    assert [s.name for s in calls] == ["GET zoho-proxy", "GET zoho-proxy"]
    assert all(s.parent is not None and s.parent.span_id == caller.context.span_id for s in calls)
    assert calls[0].attributes is not None and calls[0].attributes["url.path"] == "/v1/invoices/1"
    assert calls[0].attributes["http.response.status_code"] == 200
    assert calls[1].status.status_code == StatusCode.ERROR
    # Each request carried its own client span as the parent for the server.
    for request, call in zip(seen, calls, strict=True):
        _, trace_id, span_id, _ = request.headers["traceparent"].split("-")
        assert trace_id == hex_trace_id(caller)
        assert span_id == format(call.context.span_id, "016x")


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/v1/{entity}/{zoho_id}")
    async def read(entity: str, zoho_id: str) -> dict[str, str]:
        return {"trace_id": format(trace.get_current_span().get_span_context().trace_id, "032x")}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "healthy"}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    app.add_middleware(TracingMiddleware)
    return app


async def test_requests_are_server_spans_continuing_the_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spans = recorded_spans(monkeypatch)
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://proxy") as client:
        answer = await client.get("/v1/invoices/42", headers={"traceparent": TRACEPARENT})
        fresh = await client.get("/v1/items/7")
        assert (await client.get("/health")).status_code == 200
        assert (await client.get("/boom")).status_code == 500
    assert answer.json() == {"trace_id": CALLER_TRACE}
    assert fresh.json()["trace_id"] != CALLER_TRACE
    servers = spans.get_finished_spans()
    assert [s.name for s in servers] == [
        "GET /v1/{entity}/{zoho_id}",
        "GET /v1/{entity}/{zoho_id}",
        "GET /boom",
    ]
    first = servers[0]
    assert first.kind == SpanKind.SERVER
    assert first.parent is not None and format(first.parent.span_id, "016x") == CALLER_SPAN
    assert (
        first.attributes is not None and first.attributes["http.route"] == "/v1/{entity}/{zoho_id}"
    )
    assert first.attributes["http.response.status_code"] == 200
    assert servers[2].status.status_code == StatusCode.ERROR


def test_a_linked_root_span_starts_its_own_trace_linked_to_the_current_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spans = recorded_spans(monkeypatch)
    tracer = get_tracer("t")
    with tracer.start_as_current_span("run"), linked_root_span(tracer, "page", {"n": 1}):
        pass
    found = by_name(spans)
    run, page = found["run"], found["page"]
    assert page.parent is None and hex_trace_id(page) != hex_trace_id(run)
    assert [link.context.span_id for link in page.links] == [run.context.span_id]


class _CountingProvider(TracerProvider):
    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes = None,
    ) -> trace.Tracer:
        self.asked.append(instrumenting_module_name)
        return super().get_tracer(
            instrumenting_module_name, instrumenting_library_version, schema_url, attributes
        )


def test_a_tracer_is_asked_of_its_provider_once_per_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server span per request used to ask the SDK for its tracer each time (a warnings filter
    and scope comparisons per call)."""
    provider = _CountingProvider()
    monkeypatch.setattr(tracing, "_FALLBACK_PROVIDER", provider)
    first = get_tracer("t")
    assert get_tracer("t") is first
    get_tracer("u")
    assert provider.asked == ["t", "u"]
    other = _CountingProvider()  # the provider swapped (as tests do) gets tracers of its own
    monkeypatch.setattr(tracing, "_FALLBACK_PROVIDER", other)
    assert get_tracer("t") is not first and other.asked == ["t"]


def test_log_lines_carry_the_current_trace_id(monkeypatch: pytest.MonkeyPatch) -> None:
    recorded_spans(monkeypatch)
    record = logging.LogRecord("tds.test", logging.INFO, __file__, 1, "page synced", (), None)
    record.run_id = "r-1"
    with get_tracer("t").start_as_current_span("page") as span:
        entry = json.loads(JsonFormatter().format(record))
    assert entry["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert entry["run_id"] == "r-1" and entry["message"] == "page synced"
    outside = json.loads(JsonFormatter().format(record))
    assert "trace_id" not in outside


def test_a_configured_process_exports_and_logs_no_credentials(collector: str) -> None:
    """configure_tracing installs the process's provider (so in a process of its own)."""
    endpoint = collector.replace("http://", "http://user:s3cret-pw@")
    script = (
        "from tds_common.logging import configure_logging\n"
        "from tds_common.tracing import configure_tracing, get_tracer\n"
        "configure_logging('INFO')\n"
        "provider = configure_tracing('processor')\n"
        "with get_tracer('t').start_as_current_span('batch'):\n"
        "    pass\n"
        "provider.force_flush(10_000)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    (line,) = [json.loads(x) for x in result.stdout.splitlines() if "tracing configured" in x]
    assert line["tracing_export"] is True and line["service_name"] == "processor"
    assert "s3cret-pw" not in result.stdout + result.stderr
    ((path, _, body),) = _Collector.received
    assert path == "/v1/traces" and b"batch" in body and b"processor" in body
