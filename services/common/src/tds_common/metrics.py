"""Prometheus plumbing shared by the services: build info, HTTP request metrics, ``/metrics``.

Each service creates its metric objects once, at import of its own ``metrics`` module, on the
default registry (one uvicorn worker per pod; no multiprocess mode). Labels are route templates
(``/api/zoho/webhooks/{entity}``), never ids, so cardinality stays bounded.

Request metrics come from a plain ASGI middleware rather than ``@app.middleware("http")``:
Starlette's ``BaseHTTPMiddleware`` runs the app in an extra task and pipes the response through
memory streams, a cost every request of every service paid (``bench/bench_http_metrics.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tds_common import __version__

METRICS_PATH = "/metrics"
UNMATCHED = "unmatched"
# The method label is client-controlled; anything non-standard is folded into one value so a
# client cannot grow the label set.
OTHER_METHOD = "other"
_KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)


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


class BuildSettings(BaseSettings):
    """What the running code was built from: the Dockerfile sets ``TDS_GIT_SHA`` from its
    ``REVISION`` build arg (``make images`` and skaffold pass the commit)."""

    model_config = SettingsConfigDict(env_prefix="TDS_")

    git_sha: str = "unknown"


def create_build_info(prefix: str) -> Gauge:
    """``<prefix>_build_info`` = 1 with version and git_sha labels."""
    gauge = Gauge(f"{prefix}_build_info", "Build metadata", ["version", "git_sha"])
    gauge.labels(version=__version__, git_sha=BuildSettings().git_sha).set(1)
    return gauge


def route_template(router: Router, scope: Scope) -> str:
    """The path template of the route of ``router`` fully matching ``scope``, or ``unmatched``.

    The fallback for requests the router never assigned a route (404s, slash redirects, an
    error before routing): never the raw path.
    """
    for route in router.routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return str(getattr(route, "path", UNMATCHED))
    return UNMATCHED


class HttpMetricsMiddleware:
    """Counts and times every HTTP request except ``/metrics``; pure ASGI, no extra task.

    The status is taken from ``http.response.start`` as it is sent; if the app raises, the
    request counts as 500 (even when headers already went out: the client got a broken
    response). The route label is the template of the route Starlette's router matched
    (``scope["route"]``, set during routing), so templates need no second matching pass.
    Duration runs until the app returns, i.e. includes streaming the body.
    """

    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics, router: Router) -> None:
        self.app = app
        self.metrics = metrics
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == METRICS_PATH:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # also the answer when the app returns without responding

        async def send_capturing_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_capturing_status)
        except Exception:
            status = 500
            raise
        finally:
            self._observe(scope, status, time.perf_counter() - started)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"]
        if method not in _KNOWN_METHODS:
            method = OTHER_METHOD
        path = getattr(scope.get("route"), "path", None)
        route = path if isinstance(path, str) else route_template(self.router, scope)
        self.metrics.duration.labels(method, route).observe(seconds)
        self.metrics.requests.labels(method, route, str(status)).inc()


def instrument(app: FastAPI, metrics: HttpMetrics) -> None:
    """Count and time every request, and serve ``/metrics``."""
    app.add_middleware(HttpMetricsMiddleware, metrics=metrics, router=app.router)

    @app.get(METRICS_PATH, include_in_schema=False)
    async def _metrics() -> Response:
        # A plain route rather than a mount: no /metrics -> /metrics/ redirect for scrapers.
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
