"""Prometheus plumbing shared by the services: build info, HTTP request metrics, ``/metrics``.

Each service creates its metric objects once, at import of its own ``metrics`` module, on the
default registry (one uvicorn worker per pod; no multiprocess mode). Labels are route templates
(``/api/zoho/webhooks/{entity}``), never ids, so cardinality stays bounded.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.routing import Match

from tds_common import __version__


@dataclass(frozen=True)
class HttpMetrics:
    """Request counter and latency histogram for one service's HTTP surface."""

    requests: Counter
    duration: Histogram


def create_http_metrics(prefix: str) -> HttpMetrics:
    """``<prefix>_http_requests_total`` and ``<prefix>_http_request_duration_seconds``."""
    return HttpMetrics(
        requests=Counter(
            f"{prefix}_http_requests_total",
            "HTTP requests by method, route template and status code",
            ["method", "route", "status_code"],
        ),
        duration=Histogram(
            f"{prefix}_http_request_duration_seconds",
            "HTTP request latency by method and route template",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        ),
    )


def create_build_info(prefix: str, git_sha: str = "unknown") -> Gauge:
    """``<prefix>_build_info`` = 1 with version and git_sha labels."""
    gauge = Gauge(f"{prefix}_build_info", "Build metadata", ["version", "git_sha"])
    gauge.labels(version=__version__, git_sha=git_sha).set(1)
    return gauge


def route_template(request: Request) -> str:
    """The matched route's path template, or ``unmatched`` (never the raw path)."""
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match == Match.FULL:
            return str(getattr(route, "path", "unmatched"))
    return "unmatched"


def instrument(app: FastAPI, metrics: HttpMetrics) -> None:
    """Count and time every request, and serve ``/metrics``."""

    @app.middleware("http")
    async def _observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if request.url.path == "/metrics":
            return await call_next(request)
        started = time.perf_counter()
        route = route_template(request)
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            metrics.duration.labels(request.method, route).observe(time.perf_counter() - started)
            metrics.requests.labels(request.method, route, str(status)).inc()

    @app.get("/metrics", include_in_schema=False)
    async def _metrics() -> Response:
        # A plain route rather than a mount: no /metrics -> /metrics/ redirect for scrapers.
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
