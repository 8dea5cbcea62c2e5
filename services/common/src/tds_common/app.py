"""The app factory pieces every TDS HTTP surface shares.

``create_service_app`` gives a FastAPI app with the service's lifespan, ``/health``, ``/ready``,
``/metrics``, request metrics, a server span per request (:mod:`tds_common.tracing`), a bound on
request bodies, and exception handlers that give every error the one envelope
``{"error_code", "message"}`` (422 adds ``errors``: one ``{"field", "problem"}`` per invalid
field): :class:`ServiceError` with the class's HTTP status (plus ``Retry-After`` when known), and
the framework's own refusals (unknown path, wrong method, invalid or oversized body).
Services add their own routers on top.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from tds_common import __version__
from tds_common.body_limit import BodyLimitMiddleware
from tds_common.error_bodies import error_response, http_error_response, invalid_request_response
from tds_common.errors import ServiceError
from tds_common.health import HealthRegistry, health_router
from tds_common.metrics import HttpMetrics, instrument
from tds_common.tracing import TracingMiddleware

logger = logging.getLogger(__name__)

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_service_app(
    *,
    title: str,
    lifespan: Lifespan,
    health: HealthRegistry,
    http_metrics: HttpMetrics,
    max_body_bytes: int | None,
) -> FastAPI:
    """``max_body_bytes``: a larger request body is refused with 413 before any endpoint reads
    it, whether it declares its length or streams; None for a service that bounds its bodies
    itself (ingest, which counts and logs its refusals)."""
    # FastAPI's own telemetry stays off: it would record query strings (ingest's ?token= secret),
    # add a second server span beside TracingMiddleware's and spans for every dependency.
    app = FastAPI(
        title=title,
        version=__version__,
        lifespan=lifespan,
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.health = health

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        if exc.http_status >= 500:
            logger.warning("request failed: %s", exc, extra={"path": request.url.path})
        return error_response(exc)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return http_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return invalid_request_response(exc.errors())

    app.include_router(health_router(health))
    if max_body_bytes is not None:
        app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    instrument(app, http_metrics)
    app.add_middleware(TracingMiddleware)  # outermost: the span covers the metrics' work too
    return app
