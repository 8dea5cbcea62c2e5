"""Runs a service's ASGI app under uvicorn: one worker, our logging and tracing, graceful SIGTERM.

uvicorn stops accepting connections on SIGTERM, lets in-flight requests finish within
``timeout_graceful_shutdown`` and then runs the app's lifespan shutdown (flush producers, commit
offsets, close pools).

With ``<PREFIX>METRICS_PORT`` set, ``/metrics`` is served on that port too, by prometheus_client's
own server in a thread: the monitoring namespace can then be let in to the metrics port alone,
never to the API (the chart's NetworkPolicies). ``/health`` and ``/ready`` stay on ``port``.
"""

from __future__ import annotations

import gc
from wsgiref.simple_server import WSGIServer

import uvicorn
from fastapi import FastAPI
from prometheus_client import start_http_server

from tds_common.logging import configure_logging
from tds_common.settings import ServiceSettings
from tds_common.tracing import configure_tracing


def serve(app: FastAPI, settings: ServiceSettings, *, component: str) -> None:
    """Serve ``app``; ``component`` names the process in traces (unless OTEL_SERVICE_NAME does)."""
    configure_logging(settings.log_level, json_format=settings.log_json)
    configure_tracing(component)
    start_metrics_server(settings)
    freeze_startup_objects()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        workers=1,
        # Named, not "auto": auto falls back to asyncio's loop and the pure-Python h11 parser
        # without a word when these are missing, at ~10% more CPU per webhook in ingest (measured).
        loop="uvloop",
        http="httptools",
        # Nothing reads the client's address, and uvicorn trusts X-Forwarded-* only from
        # 127.0.0.1 by default, which no proxy in front of a pod is: its middleware (~2% of a
        # webhook's CPU) would only ever pass requests through.
        proxy_headers=False,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_timeout_seconds),
        lifespan="on",
    )


def freeze_startup_objects() -> None:
    """Keep what exists once the app is built (modules, the app, its routes and schemas:
    tens of thousands of objects that live as long as the process) out of the garbage
    collector's full passes. Each pass walked all of them: 60-140 ms with the event loop
    stopped, a few times a minute under load, which was most of the webhook -> row p99."""
    gc.collect()
    gc.freeze()


def start_metrics_server(settings: ServiceSettings) -> WSGIServer | None:
    """The metrics port's server (a daemon thread; it ends with the process), if one is set."""
    if settings.metrics_port is None:
        return None
    server, _ = start_http_server(settings.metrics_port, addr=settings.host)
    return server
