"""Jaeger v2, the local stack's trace backend: OTLP in, the query API and UI out, all in memory.

The binary is built from the Go module proxy by ``make jaeger`` into ``.local/bin/jaeger``
(mk/jaeger.mk, pinned, cached). ``make up`` starts it when it is there, before the services,
and points them at it (``OTEL_EXPORTER_OTLP_ENDPOINT``); without it the stack runs with trace
export off and says so. Everything listens on loopback only; the ports are settings
(``TDS_JAEGER_*_PORT``) so a test can run a Jaeger of its own beside the stack's.

The Go module carries no web UI (Jaeger's releases embed jaeger-ui, built with npm): the query
API (``/api/traces/<id>``) answers, and ``/`` shows Jaeger's placeholder page unless
``TDS_JAEGER_UI_ASSETS`` names a folder holding a built jaeger-ui.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
import yaml

from devstack import processes
from devstack.paths import repo_root, state_dir

NAME: Final = "jaeger"
START_TIMEOUT_SECONDS: Final = 30.0
MAX_TRACES: Final = 50_000
"""Traces kept in memory; the oldest go first (a local stack, not an archive)."""


def _port(variable: str, default: int) -> int:
    return int(os.environ.get(variable, str(default)))


@dataclass(frozen=True)
class JaegerConfig:
    otlp_http_port: int = field(default_factory=lambda: _port("TDS_JAEGER_OTLP_HTTP_PORT", 4318))
    otlp_grpc_port: int = field(default_factory=lambda: _port("TDS_JAEGER_OTLP_GRPC_PORT", 4317))
    ui_port: int = field(default_factory=lambda: _port("TDS_JAEGER_UI_PORT", 16686))
    """The UI and the query API (``/api/traces/<id>``)."""
    query_grpc_port: int = field(default_factory=lambda: _port("TDS_JAEGER_QUERY_GRPC_PORT", 16685))
    ui_assets: str = field(default_factory=lambda: os.environ.get("TDS_JAEGER_UI_ASSETS", ""))
    """A built jaeger-ui (its ``index.html`` and assets); empty: Jaeger's placeholder page."""
    name: str = NAME
    """Pid and state-folder name; tests run their own under another name."""

    @property
    def home(self) -> Path:
        return state_dir() / self.name

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.ui_port}"

    @property
    def otlp_endpoint(self) -> str:
        """For ``OTEL_EXPORTER_OTLP_ENDPOINT`` (OTLP over HTTP)."""
        return f"http://127.0.0.1:{self.otlp_http_port}"


def binary() -> Path | None:
    """The project's Jaeger (``make jaeger``), if built."""
    jaeger = repo_root() / ".local" / "bin" / "jaeger"
    return jaeger if os.access(jaeger, os.X_OK) else None


def collector_config(config: JaegerConfig) -> dict[str, Any]:
    """Jaeger's configuration (an OpenTelemetry Collector's): OTLP receivers, memory storage,
    the query extension; no self-tracing, no metrics endpoint of its own, loopback only."""
    query: dict[str, Any] = {
        "storage": {"traces": "memstore"},
        "enable_tracing": False,
        "http": {"endpoint": f"127.0.0.1:{config.ui_port}"},
        "grpc": {"endpoint": f"127.0.0.1:{config.query_grpc_port}"},
    }
    if config.ui_assets:
        query["ui"] = {"assets_path": config.ui_assets}
    return {
        "service": {
            "extensions": ["jaeger_storage", "jaeger_query"],
            "pipelines": {
                "traces": {
                    "receivers": ["otlp"],
                    "processors": ["batch"],
                    "exporters": ["jaeger_storage_exporter"],
                }
            },
            "telemetry": {"metrics": {"level": "none"}, "logs": {"level": "info"}},
        },
        "extensions": {
            "jaeger_storage": {"backends": {"memstore": {"memory": {"max_traces": MAX_TRACES}}}},
            "jaeger_query": query,
        },
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": f"127.0.0.1:{config.otlp_grpc_port}"},
                    "http": {"endpoint": f"127.0.0.1:{config.otlp_http_port}"},
                }
            }
        },
        # Short batches: a trace shows up in the UI within a second of its spans arriving.
        "processors": {"batch": {"timeout": "200ms"}},
        "exporters": {"jaeger_storage_exporter": {"trace_storage": "memstore"}},
    }


def write_config(config: JaegerConfig) -> Path:
    config.home.mkdir(parents=True, exist_ok=True)
    path = config.home / "config.yaml"
    path.write_text(yaml.safe_dump(collector_config(config), sort_keys=False), "utf-8")
    return path


def command(jaeger: Path, config_file: Path) -> list[str]:
    return [str(jaeger), "--config", str(config_file)]


def running(config: JaegerConfig) -> bool:
    """Whether a Jaeger answers on the configured query and OTLP ports."""
    return processes.port_open(config.ui_port) and processes.port_open(config.otlp_http_port)


def start(config: JaegerConfig) -> str:
    """Start Jaeger unless it runs; a state for ``up`` ("started: …", "already up: …", or why
    not, in which case the services run with trace export off)."""
    jaeger = binary()
    if jaeger is None:
        return "not built (make jaeger); tracing export is off"
    if processes.read_pid(config.name) is not None:
        return f"already up: {config.ui_url}"
    for port in (config.ui_port, config.otlp_http_port, config.otlp_grpc_port):
        if processes.port_open(port):
            return f"FAILED: port {port} is taken by another program (TDS_JAEGER_*_PORT)"
    pid = processes.start_background(config.name, command(jaeger, write_config(config)))
    try:
        for port in (config.otlp_http_port, config.ui_port):
            processes.wait_for_port(port, timeout=START_TIMEOUT_SECONDS, name=config.name, pid=pid)
    except RuntimeError as exc:
        processes.stop(config.name)
        return f"FAILED: {exc}; tracing export is off"
    return f"started: {config.ui_url}"


def stop(config: JaegerConfig) -> bool:
    """Stop the Jaeger ``start`` started; True if it ran."""
    return processes.stop(config.name)


def fetch_trace(ui_url: str, trace_id: str, timeout: float = 5.0) -> dict[str, Any] | None:
    """One trace from Jaeger's query API (``/api/traces/<id>``), or None while it has none."""
    response = httpx.get(f"{ui_url}/api/traces/{trace_id}", timeout=timeout)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    traces = response.json().get("data") or []
    return traces[0] if traces else None


def trace_url(ui_url: str, trace_id: str) -> str:
    """Where the UI shows one trace (with ``TDS_JAEGER_UI_ASSETS``)."""
    return f"{ui_url}/trace/{trace_id}"


def trace_api_url(ui_url: str, trace_id: str) -> str:
    """Where the query API answers one trace, as JSON."""
    return f"{ui_url}/api/traces/{trace_id}"
